import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { migrations, openStore, type Store } from '../../src/store/index.ts'
import { storeContract } from './contract.ts'
import { freshSchema, PG_URL, postgresUnavailable } from './pg.ts'

const unavailable = await postgresUnavailable('store contract on PostgreSQL (tests/store/postgres.test.ts)')

if (!unavailable) {
  const schemaOf = new WeakMap<Store, string>()
  storeContract('postgres', async (same) => {
    const schema = same ? schemaOf.get(same)! : freshSchema()
    const store = await openStore({ url: PG_URL, schema, poolMax: 4 })
    schemaOf.set(store, schema)
    return store
  })

  describe('PostgreSQL store', () => {
    it('migrates a schema once, also when several nodes start at the same time', async () => {
      const schema = freshSchema()
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => openStore({ url: PG_URL, schema })))
      try {
        expect((await a!.migrationStatus()).applied).toEqual(migrations.map((m) => m.id))
        const client = new pg.Client({ connectionString: PG_URL })
        await client.connect()
        const rows = (await client.query(`SELECT count(*)::int AS n FROM ${schema}.schema_migrations`)).rows as { n: number }[]
        await client.end()
        expect(rows[0]!.n).toBe(migrations.length)
      } finally {
        await Promise.all([a, b, c].map((s) => s!.close()))
      }
    })

    it('an unreachable server or a wrong database is one CONFIG_INVALID naming the setting and the host', async () => {
      const refused = await openStore({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 2000 }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(AppError)
      expect(refused).toMatchObject({ code: 'CONFIG_INVALID', details: { setting: 'BRIEFCAST_DATABASE_URL', host: '127.0.0.1:1/test' } })
      expect((refused as Error).message).toMatch(/^BRIEFCAST_DATABASE_URL: cannot reach PostgreSQL at 127\.0\.0\.1:1\/test: /)
      const u = new URL(PG_URL)
      u.pathname = '/no_such_database_here'
      u.password = 'secret-pw'
      const missing = await openStore({ url: u.toString() }).catch((e: unknown) => e)
      expect(missing).toMatchObject({ code: 'CONFIG_INVALID' })
      expect((missing as Error).message).toMatch(/no_such_database_here/)
      expect((missing as Error).message).not.toMatch(/secret-pw/)
    })
  })
} else {
  describe.skip(`PostgreSQL store (skipped: ${unavailable})`, () => {
    it('contract', () => {})
  })
}
