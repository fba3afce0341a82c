/**
 * Opening the store: SQLite (better-sqlite3, the embedded default) or
 * PostgreSQL (pg pool, BRIEFCAST_DATABASE_URL), one Kysely query layer over
 * either (repositories.ts, briefings.ts, sources.ts, stats.ts).
 *
 * better-sqlite3 is synchronous under Kysely's async API: every statement is a
 * short indexed lookup or write, so it does not hold the event loop for long.
 * Kysely serializes SQLite queries over its one connection; a transaction holds
 * that connection until it ends.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, PostgresDialect, sql, SqliteDialect, type Dialect, type Driver } from 'kysely'
import pg from 'pg'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import { urlKey } from '../sources/url-key.ts'
import { accountsRepository, adminState, downloadRepository, figuresRepository, lexiconRepository, settingsRepository, type AdminState } from './admin.ts'
import { briefingRepository } from './briefings.ts'
import { migrate, migratePostgres, migrations as defaultMigrations, type Migration } from './migrations.ts'
import { articleRepository, assetRepository, episodeRepository, jobRepository } from './repositories.ts'
import type { DB } from './schema.ts'
import { sourceRepository } from './sources.ts'
import { engineUsageRepository, listenStatsRepository } from './stats.ts'
import type { Repositories, Store } from './types.ts'

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. */
  file: string
  migrations?: readonly Migration[]
}

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string
  /** A schema to work in (created if missing; search_path). Default: the server's default (public). */
  schema?: string
  poolMax?: number
  /** Server-side statement timeout (ms); a stuck query is cancelled, never waits forever. */
  statementTimeoutMs?: number
  /** How long to wait for a connection (ms): both opening one and waiting for a free one in the pool. */
  connectTimeoutMs?: number
  migrations?: readonly Migration[]
}

export type OpenStoreOptions = SqliteStoreOptions | PostgresStoreOptions

/** The setting a database URL comes from, named in every error about it. */
export const DATABASE_URL_SETTING = 'BRIEFCAST_DATABASE_URL'

/** Where the store lives: PostgreSQL with database.url (BRIEFCAST_DATABASE_URL), else the SQLite file in the data dir. */
export function storeOptions(config: Pick<Config, 'database' | 'dataDir'>): OpenStoreOptions {
  const db = config.database
  if (db.url) return { url: db.url, poolMax: db.poolMax, statementTimeoutMs: db.statementTimeoutMs, connectTimeoutMs: db.connectTimeoutMs }
  return { file: path.join(config.dataDir, 'briefcast.db') }
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  return 'url' in options ? openPostgres(options) : openSqlite(options)
}

// --- transactions -------------------------------------------------------------------------------------------------

interface TxScope {
  owner: object
  active: boolean
  /** Resolves when the transaction's callback has returned. */
  ended: Promise<void>
}
const txScope = new AsyncLocalStorage<TxScope>()

/** How long a query on the outer store, made from inside one of its transactions, waits for that transaction to end. */
const OUTER_WAIT_MS = 3000

/**
 * A dialect whose driver makes code running inside one of this store's transactions wait for the transaction to
 * end before it gets a connection of its own. Work the transaction only scheduled (a timer) thus runs after the
 * commit and sees it; code that the transaction awaits (a mistake: inside, use `tx`) would wait forever on SQLite's
 * one connection, and read outside the transaction on PostgreSQL, so after OUTER_WAIT_MS it fails with a clear
 * message instead, on both.
 */
function guarded(dialect: Dialect, owner: object): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver(): Driver {
      const driver = dialect.createDriver()
      const acquire = driver.acquireConnection.bind(driver)
      driver.acquireConnection = async () => {
        const scope = txScope.getStore()
        if (scope?.active && scope.owner === owner) {
          let timer: NodeJS.Timeout | undefined
          const ended = await Promise.race([
            scope.ended.then(() => true),
            new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), OUTER_WAIT_MS))),
          ])
          clearTimeout(timer)
          if (!ended) throw new Error("The store was used inside store.transaction() and waited for it: use the transaction's repositories (tx) there.")
        }
        return acquire()
      }
      return driver
    },
  }
}

function repositories(db: Kysely<DB>, owner: object, inTx: boolean, state: AdminState, committed: (() => void)[] = []): Repositories {
  const run = <T>(fn: (db: Kysely<DB>) => Promise<T>): Promise<T> => (inTx ? fn(db) : db.transaction().execute(fn))
  const repos: Repositories = {
    articles: articleRepository(db),
    episodes: episodeRepository(db),
    jobs: jobRepository(db),
    assets: assetRepository(db),
    briefings: briefingRepository(db),
    listenStats: listenStatsRepository(db),
    usage: engineUsageRepository(db),
    sources: sourceRepository(db, run),
    accounts: accountsRepository(db, run, state),
    lexicons: lexiconRepository(db, run, state),
    downloads: downloadRepository(db, run, state),
    figures: figuresRepository(db),
    settings: settingsRepository(db, run),
    afterCommit(fn) {
      if (inTx) committed.push(fn)
      else fn()
    },
    transaction: async <T>(fn: (tx: Repositories) => Promise<T>): Promise<T> => {
      if (inTx) return fn(repos)
      const after: (() => void)[] = []
      const result = await db.transaction().execute((trx) => {
        let end = () => {}
        const scope: TxScope = { owner, active: true, ended: new Promise<void>((resolve) => (end = resolve)) }
        return txScope.run(scope, async () => {
          try {
            return await fn(repositories(trx, owner, true, state, after))
          } finally {
            // Work the transaction scheduled for later (timers) inherits this scope; from now on it runs as usual.
            scope.active = false
            end()
          }
        })
      })
      for (const fn of after) fn()
      return result
    },
  }
  return repos
}

// --- SQLite -------------------------------------------------------------------------------------------------------

function openSqlite(options: SqliteStoreOptions): Store {
  if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true })
  let raw: Database.Database
  try {
    raw = new Database(options.file)
  } catch (err) {
    throw new AppError('OUTPUT_NOT_WRITABLE', `Cannot open the database ${options.file}: ${(err as Error).message}`, { cause: err })
  }
  // WAL: readers (HTTP) never wait for the writer (jobs); NORMAL sync is durable across process crashes in WAL mode.
  raw.pragma('journal_mode = WAL')
  raw.pragma('synchronous = NORMAL')
  raw.pragma('foreign_keys = ON')
  raw.pragma('busy_timeout = 5000')
  // Needed by the old migration sources-001 (a generated column, replaced by a plain one in store-001).
  raw.function('briefcast_url_key', { deterministic: true }, (url: unknown) => urlKeyOf(url))
  const list = options.migrations ?? defaultMigrations
  try {
    migrate(raw, list)
  } catch (err) {
    raw.close()
    throw err
  }
  const owner = {}
  const db = new Kysely<DB>({ dialect: guarded(new SqliteDialect({ database: raw }), owner) })
  let open = true
  return {
    ...repositories(db, owner, false, adminState()),
    dialect: 'sqlite',
    location: options.file,
    async ping() {
      if (!open || !raw.open) throw new Error('The database is closed.')
      await sql`SELECT 1`.execute(db)
    },
    async version() {
      const r = await sql<{ v: string }>`SELECT sqlite_version() AS v`.execute(db)
      return `SQLite ${r.rows[0]!.v}`
    },
    migrationStatus: () => migrationStatus(db, list),
    isOpen: () => open && raw.open,
    async close() {
      if (!open) return
      open = false
      try {
        raw.pragma('wal_checkpoint(TRUNCATE)')
      } catch {}
      await db.destroy()
    },
  }
}

const urlKeyOf = (url: unknown) => urlKey(typeof url === 'string' ? url : null)

async function migrationStatus(db: Kysely<DB>, list: readonly Migration[]) {
  const rows = await db.selectFrom('schema_migrations').select('id').execute()
  const applied = new Set(rows.map((r) => r.id))
  return { applied: list.filter((m) => applied.has(m.id)).map((m) => m.id), pending: list.filter((m) => !applied.has(m.id)).map((m) => m.id) }
}

// --- PostgreSQL ---------------------------------------------------------------------------------------------------

const INT8 = 20
const NUMERIC = 1700

/** host:port/database of a URL, without credentials (for messages and logs). */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`
  } catch {
    return '(unparseable URL)'
  }
}

async function openPostgres(options: PostgresStoreOptions): Promise<Store> {
  const where = describeDatabaseUrl(options.url)
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new AppError('CONFIG_INVALID', `Invalid schema name "${options.schema}".`)
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    // A transaction left open by a crashed request cannot hold locks for long.
    idle_in_transaction_session_timeout: 60_000,
    // statement_timeout is the server's: a server that cannot be reached cannot cancel anything. The client gives up
    // a little later on its own, and TCP keepalive notices a peer that vanished without closing the connection.
    query_timeout: (options.statementTimeoutMs ?? 30_000) + 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'briefcast',
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    // Counts, sums and epoch-ms columns are bigint/numeric: numbers here (they stay far below 2^53).
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 || oid === NUMERIC ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  })
  // An idle connection that dies (server restart) must not crash the process: the pool replaces it on the next query.
  pool.on('error', () => {})
  // pg-pool listens for 'error' on idle clients only. A client checked out (Kysely holds one per query and for a whole
  // transaction; the migration client) whose connection drops emits 'error' with no listener: an uncaught
  // "Connection terminated unexpectedly" that kills the process. The query it was running rejects on its own, and the
  // pool discards the broken client on release, so the event itself needs nothing more.
  pool.on('connect', (client) => {
    client.on('error', () => {})
  })
  try {
    await pool.query('SELECT 1')
  } catch (err) {
    await pool.end().catch(() => {})
    throw new AppError('CONFIG_INVALID', `${DATABASE_URL_SETTING}: cannot reach PostgreSQL at ${where}: ${(err as Error).message || (err as { code?: string }).code || String(err)}`, {
      cause: err,
      details: { setting: DATABASE_URL_SETTING, host: where },
      help: `Check that PostgreSQL runs at ${where} and accepts this user, or unset ${DATABASE_URL_SETTING} to use the embedded SQLite file.`,
    })
  }
  const list = options.migrations ?? defaultMigrations
  try {
    if (options.schema)
      // Two nodes creating it at once: one wins, the other's unique violation means it exists now.
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`).catch((err: { code?: string }) => {
        if (err.code !== '23505' && err.code !== '42P06') throw err
      })
    await migratePostgres(pool, list)
  } catch (err) {
    await pool.end().catch(() => {})
    throw err
  }
  const owner = {}
  const db = new Kysely<DB>({ dialect: guarded(new PostgresDialect({ pool }), owner) })
  let open = true
  return {
    ...repositories(db, owner, false, adminState()),
    dialect: 'postgres',
    location: where,
    async ping() {
      if (!open) throw new Error('The database is closed.')
      await sql`SELECT 1`.execute(db)
    },
    async version() {
      const r = await sql<{ v: string }>`SHOW server_version`.execute(db)
      return `PostgreSQL ${(r.rows[0] as unknown as { server_version: string }).server_version}`
    },
    migrationStatus: () => migrationStatus(db, list),
    isOpen: () => open,
    async close() {
      if (!open) return
      open = false
      await db.destroy()
    },
  }
}
