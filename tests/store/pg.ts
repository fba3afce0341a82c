/**
 * PostgreSQL for tests: 127.0.0.1:5432, database `test` (BRIEFCAST_TEST_DATABASE_URL overrides).
 * Each store gets a fresh schema (t_<random>), dropped when the run ends, so runs never collide.
 * Without a reachable server the suites are skipped with a printed reason, except under CI=true, where that fails the run.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll } from 'vitest'

export const PG_URL = process.env.BRIEFCAST_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** undefined when reachable; otherwise why not. Throws under CI=true. */
export async function postgresUnavailable(suite: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return undefined
  } catch (err) {
    const reason = `PostgreSQL not reachable at ${PG_URL} (${(err as Error).message || (err as { code?: string }).code})`
    if (process.env.CI === 'true') throw new Error(`${suite}: ${reason}; CI=true requires it.`)
    console.warn(`SKIPPED ${suite}: ${reason}. Start PostgreSQL or set BRIEFCAST_TEST_DATABASE_URL to run it.`)
    return reason
  } finally {
    await client.end().catch(() => {})
  }
}

/** One query on a connection of its own (checks from outside the service under test). */
export async function pgQuery<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return (await client.query(text, params)).rows as T[]
  } finally {
    await client.end()
  }
}

const schemas: string[] = []

/** A new schema name; dropped (with everything in it) after the file's tests. */
export function freshSchema(): string {
  const name = `t_${randomBytes(6).toString('hex')}`
  schemas.push(name)
  return name
}

/** The URL that makes the service work in `schema` (pg's `options` parameter sets search_path). */
export function urlWithSchema(schema: string): string {
  const u = new URL(PG_URL)
  u.searchParams.set('options', `-c search_path=${schema}`)
  return u.toString()
}

afterAll(async () => {
  if (schemas.length === 0) return
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    for (const s of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`)
  } catch {
    // unreachable now: nothing was created either
  } finally {
    await client.end().catch(() => {})
  }
})
