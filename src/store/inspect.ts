/**
 * A read-only look at the configured database for `briefcast doctor`: reachable, server version, migrations
 * applied and pending. Never migrates and never writes (the service migrates at start-up).
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import type { Config } from '../config.ts'
import { migrations } from './migrations.ts'
import { describeDatabaseUrl } from './open.ts'

export interface DatabaseInspection {
  dialect: 'sqlite' | 'postgres'
  location: string
  /** Absent when unreachable. */
  version?: string
  error?: string
  /** The database file does not exist yet (SQLite): made at first start. */
  fresh?: boolean
  applied: string[]
  pending: string[]
  /** Ids in the database this release does not know: a newer release migrated it. */
  unknown: string[]
}

function compare(ids: string[]): Pick<DatabaseInspection, 'applied' | 'pending' | 'unknown'> {
  const known = new Set(migrations.map((m) => m.id))
  const have = new Set(ids)
  return { applied: migrations.filter((m) => have.has(m.id)).map((m) => m.id), pending: migrations.filter((m) => !have.has(m.id)).map((m) => m.id), unknown: ids.filter((id) => !known.has(id)) }
}

export async function inspectDatabase(config: Config): Promise<DatabaseInspection> {
  const url = config.database.url
  if (!url) {
    const file = path.join(config.dataDir, 'briefcast.db')
    if (!existsSync(file)) return { dialect: 'sqlite', location: file, fresh: true, ...compare([]) }
    let db: Database.Database | undefined
    try {
      db = new Database(file, { readonly: true, fileMustExist: true })
      const version = `SQLite ${(db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v}`
      const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get()
      const ids = table ? (db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id) : []
      return { dialect: 'sqlite', location: file, version, ...compare(ids) }
    } catch (err) {
      return { dialect: 'sqlite', location: file, error: (err as Error).message, ...compare([]) }
    } finally {
      db?.close()
    }
  }
  const location = describeDatabaseUrl(url)
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: config.database.connectTimeoutMs, statement_timeout: config.database.statementTimeoutMs })
  // A connection that drops after connect must not crash the CLI.
  client.on('error', () => {})
  try {
    await client.connect()
    const version = `PostgreSQL ${((await client.query('SHOW server_version')).rows[0] as { server_version: string }).server_version}`
    const exists = ((await client.query("SELECT to_regclass('schema_migrations') AS t")).rows[0] as { t: string | null }).t
    const ids = exists ? ((await client.query('SELECT id FROM schema_migrations')).rows as { id: string }[]).map((r) => r.id) : []
    return { dialect: 'postgres', location, version, ...compare(ids) }
  } catch (err) {
    return { dialect: 'postgres', location, error: (err as Error).message || String((err as { code?: string }).code), ...compare([]) }
  } finally {
    await client.end().catch(() => {})
  }
}
