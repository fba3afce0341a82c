/**
 * Copying a SQLite install's rows into PostgreSQL, for `briefcast move` (src/cli/move.ts), and checking the copy.
 *
 * - The source is opened read-only and read inside ONE read transaction: in WAL mode that is a snapshot, so the
 *   copy is consistent even if the service still runs (what it writes after the snapshot is not copied).
 * - The target gets the service's own migrations (migratePostgres), so its schema is exactly the service's.
 * - Tables go parents first (order from SQLite's foreign keys), in batches by primary key; each batch is one
 *   PostgreSQL transaction that upserts the rows (ON CONFLICT on the key) and records the last key copied in
 *   `briefcast_move`, so a run that is killed resumes after the last committed batch, and repeating a batch
 *   changes nothing.
 * - Afterwards identity columns are advanced (setval) past the largest id ever used (SQLite's sqlite_sequence
 *   too), so rows the service creates later never collide with copied ids.
 * - Type differences between the two migration forms (src/store/migrations.ts): BLOB -> bytea (a TEXT value in
 *   a BLOB column becomes its UTF-8 bytes), INTEGER -> integer/bigint (read as exact 64-bit integers),
 *   REAL -> double precision, TEXT (JSON, timestamps) unchanged, NULL stays NULL, COLLATE NOCASE -> a lower()
 *   unique index. Verification compares rows normalized the same way on both sides.
 */
import { createHash } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { AppError } from '../errors.ts'
import { migratePostgres, migrations } from './migrations.ts'
import { describeDatabaseUrl } from './open.ts'

/** The table the move command keeps its progress in, on the target (not part of the service's schema). */
export const PROGRESS_TABLE = 'briefcast_move'

export interface TablePlan {
  name: string
  columns: string[]
  key: string[]
  rows: number
}

export interface TableCheck {
  table: string
  source: number
  target: number
  /** Keys in the source, not the target. */
  missing: number
  /** Keys in the target, not the source. */
  extra: number
  /** Same key, different content. */
  different: number
  /** A few keys that differ, for the report. */
  examples: string[]
  /** SHA-256 over the rows (key order), each side. */
  sourceChecksum: string
  targetChecksum: string
}

export type Progress = (event: { phase: 'rows'; table: string; done: number; total: number }) => void

const q = (id: string) => `"${id.replace(/"/g, '""')}"`

// --- source -------------------------------------------------------------------------------------------------------

export interface SqliteSource {
  file: string
  db: Database.Database
  tables: TablePlan[]
  /** sqlite_sequence: the largest id each AUTOINCREMENT table ever used. */
  sequences: Map<string, bigint>
  /** A note when another process seems to have the database open (a non-empty WAL file). */
  inUse?: string
  close(): void
}

/**
 * Open the install's SQLite file read-only and start the read snapshot. Refuses a database whose migrations are
 * behind this version's (its columns would not match the target's).
 */
export function openSqliteSource(file: string): SqliteSource {
  if (!existsSync(file))
    throw new AppError('MOVE_SOURCE_NOT_READY', `There is no database at ${file}.`, {
      help: 'Run the command with the settings of the install to move (BRIEFCAST_DATA_DIR or --config), where briefcast.db lives.',
    })
  const wal = `${file}-wal`
  const walBytes = existsSync(wal) ? statSync(wal).size : 0
  let db: Database.Database
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
  } catch (err) {
    throw new AppError('MOVE_SOURCE_NOT_READY', `Cannot open ${file} read-only: ${(err as Error).message}.`, { cause: err })
  }
  try {
    db.defaultSafeIntegers(true)
    db.pragma('busy_timeout = 5000')
    const hasMigrations = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get()
    const applied = new Set(hasMigrations ? (db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id) : [])
    const pending = migrations.filter((m) => !applied.has(m.id)).map((m) => m.id)
    if (pending.length)
      throw new AppError('MOVE_SOURCE_NOT_READY', `The database ${file} has not been brought up to this version (pending migrations: ${pending.join(', ')}).`, {
        help: 'Start this version of the service on it once (it applies the migrations), stop it, then run the move again.',
      })
    // One read transaction for everything read from now on: a consistent snapshot (WAL mode).
    db.prepare('BEGIN').run()
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    )
    const info = new Map<string, TablePlan & { parents: string[] }>()
    for (const name of names) {
      const cols = db.prepare(`PRAGMA table_info(${q(name)})`).all() as { name: string; pk: bigint }[]
      const key = cols.filter((c) => c.pk > 0n).sort((a, b) => Number(a.pk - b.pk)).map((c) => c.name)
      if (key.length === 0) throw new AppError('MOVE_SOURCE_NOT_READY', `Table ${name} in ${file} has no primary key; it cannot be copied in batches.`)
      const parents = [...new Set((db.prepare(`PRAGMA foreign_key_list(${q(name)})`).all() as { table: string }[]).map((f) => f.table))].filter((t) => t !== name)
      const rows = Number((db.prepare(`SELECT count(*) AS n FROM ${q(name)}`).get() as { n: bigint }).n)
      info.set(name, { name, columns: cols.map((c) => c.name), key, rows, parents })
    }
    // Parents before children (alphabetical among equals, so the order is fixed).
    const tables: TablePlan[] = []
    const placed = new Set<string>()
    while (placed.size < info.size) {
      const next = [...info.values()].find((t) => !placed.has(t.name) && t.parents.every((p) => placed.has(p) || !info.has(p)))
      if (!next) throw new AppError('MOVE_SOURCE_NOT_READY', 'The tables reference each other in a cycle; they cannot be copied parents first.')
      placed.add(next.name)
      tables.push({ name: next.name, columns: next.columns, key: next.key, rows: next.rows })
    }
    const sequences = new Map<string, bigint>()
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get())
      for (const r of db.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: bigint }[]) sequences.set(r.name, BigInt(r.seq))
    return {
      file,
      db,
      tables,
      sequences,
      ...(walBytes > 0
        ? { inUse: `${path.basename(wal)} holds ${walBytes} bytes: the service (or another process) seems to have the database open. The copy is a snapshot taken now; what is written after it is not copied.` }
        : {}),
      close() {
        try {
          if (db.inTransaction) db.prepare('COMMIT').run()
        } finally {
          db.close()
        }
      },
    }
  } catch (err) {
    db.close()
    throw err
  }
}

// --- target -------------------------------------------------------------------------------------------------------

const INT8 = 20

export interface PostgresTarget {
  pool: pg.Pool
  where: string
  /** Column name -> PostgreSQL data type, per table. */
  types: Map<string, Map<string, string>>
  close(): Promise<void>
}

/** Connect (one clear error naming the flag and host, never the password); writes nothing (copyRows migrates). */
export async function openPostgresTarget(url: string, flagName = '--to-database'): Promise<PostgresTarget> {
  const where = describeDatabaseUrl(url)
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 10_000,
    statement_timeout: 300_000,
    idle_in_transaction_session_timeout: 60_000,
    application_name: 'briefcast-move',
    // 64-bit integers exactly, as the SQLite side reads them.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
    },
  })
  pool.on('error', () => {})
  try {
    await pool.query('SELECT 1')
  } catch (err) {
    await pool.end().catch(() => {})
    throw new AppError('MOVE_TARGET_UNREACHABLE', `${flagName}: cannot reach PostgreSQL at ${where}: ${(err as Error).message || (err as { code?: string }).code || String(err)}.`, {
      cause: err,
      details: { flag: flagName, host: where },
      help: `Check that PostgreSQL runs at ${where}, accepts this user (a password can come from PGPASSWORD or ~/.pgpass instead of the URL), and that the database exists.`,
    })
  }
  try {
    const schema = (await pool.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]!.s
    if (!schema)
      throw new AppError('MOVE_TARGET_UNREACHABLE', `${flagName}: the database at ${where} has no schema to work in (the search_path names none that exists).`, {
        details: { flag: flagName, host: where },
        help: 'Create the schema first (CREATE SCHEMA ...), or fix the search_path in the URL.',
      })
    const target: PostgresTarget = { pool, where, types: new Map(), close: () => pool.end() }
    await loadTypes(target)
    return target
  } catch (err) {
    await pool.end().catch(() => {})
    throw err
  }
}

async function loadTypes(target: PostgresTarget): Promise<void> {
  target.types.clear()
  const cols = await target.pool.query<{ table_name: string; column_name: string; data_type: string }>(
    'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()',
  )
  for (const c of cols.rows) {
    let t = target.types.get(c.table_name)
    if (!t) target.types.set(c.table_name, (t = new Map()))
    t.set(c.column_name, c.data_type)
  }
}

/** A SQLite value as PostgreSQL should receive it for a column of `type`. */
function toPg(value: unknown, type: string | undefined): unknown {
  if (value === null || value === undefined) return null
  if (type === 'bytea') return Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')
  if (typeof value === 'bigint') return value.toString()
  return value
}

/** One value, the same text on both sides whatever the driver returned. */
function norm(value: unknown, type: string | undefined): string | null {
  const v = type === 'bytea' && value !== null && value !== undefined && !Buffer.isBuffer(value) ? Buffer.from(String(value), 'utf8') : value
  if (v === null || v === undefined) return null
  if (Buffer.isBuffer(v)) return `b:${v.toString('hex')}`
  if (typeof v === 'bigint') return `n:${v}`
  if (typeof v === 'number') return Number.isInteger(v) ? `n:${v}` : `f:${v}`
  if (typeof v === 'boolean') return `n:${v ? 1 : 0}`
  return `s:${String(v)}`
}

// Keys are stored in briefcast_move as JSON: bigints and buffers tagged.
const encodeKey = (key: unknown[]) => JSON.stringify(key.map((v) => (typeof v === 'bigint' ? { i: v.toString() } : Buffer.isBuffer(v) ? { b: v.toString('hex') } : v)))
const decodeKey = (text: string): unknown[] =>
  (JSON.parse(text) as unknown[]).map((v) => (v && typeof v === 'object' && 'i' in v ? BigInt((v as { i: string }).i) : v && typeof v === 'object' && 'b' in v ? Buffer.from((v as { b: string }).b, 'hex') : v))

/** The source install, as recorded in the progress table: a resumed run must come from the same one. */
export const sourceIdentity = (file: string) => `${os.hostname()}:${path.resolve(file)}`

export interface CopyOptions {
  batchSize: number
  /** Drop whatever the target's briefcast tables hold before copying. */
  replace: boolean
  progress?: Progress
  /** Called after each committed batch (the test hook that kills the process mid-run). */
  afterBatch?: () => void
  signal?: AbortSignal
}

export interface CopySummary {
  tables: { table: string; rows: number; copied: number; resumedAfter: boolean }[]
  sequences: { table: string; column: string; value: string }[]
}

/** PostgreSQL's limit on parameters in one statement. */
const MAX_PARAMS = 65_535

export async function copyRows(source: SqliteSource, target: PostgresTarget, options: CopyOptions): Promise<CopySummary> {
  const { pool } = target
  const names = source.tables.map((t) => t.name)
  // First look, write nothing: a target holding rows this move did not write is refused before any change.
  const state = new Map<string, string>()
  if (target.types.has(PROGRESS_TABLE))
    for (const r of (await pool.query<{ name: string; value: string }>(`SELECT name, value FROM ${PROGRESS_TABLE}`)).rows) state.set(r.name, r.value)
  const identity = sourceIdentity(source.file)
  const ours = state.get('source') === identity
  const present = names.filter((n) => target.types.has(n))
  const filled = [...(await targetCounts(target, present))].filter(([, n]) => n > 0)
  if (!options.replace && !ours && filled.length > 0) {
    const from = state.get('source')
    throw new AppError(
      'MOVE_TARGET_NOT_EMPTY',
      `The target database at ${target.where} already holds rows that this move did not write (${filled.map(([t, n]) => `${t}: ${n}`).join(', ')})${from ? `; they came from another install (${from})` : ''}. Nothing was written.`,
      { details: { tables: Object.fromEntries(filled) }, help: 'Use an empty database (or schema), or add --replace-target to delete every briefcast row in the target first.' },
    )
  }
  // A run after a finished move upserts every row again: refused when the target has rows the source lacks (the
  // service already runs on the target, or rows were deleted from the source), or it would revert newer rows.
  if (!options.replace && ours && state.get('state') !== 'copying') {
    const extra = (await extraRows(source, target)).filter(([, n]) => n > 0)
    if (extra.length)
      throw new AppError(
        'MOVE_TARGET_NOT_EMPTY',
        `The target database at ${target.where} has rows the source does not have (${extra.map(([t, n]) => `${t}: ${n}`).join(', ')}): the service may already run on it, or rows were deleted from the source since the last move. Nothing was written.`,
        { details: { tables: Object.fromEntries(extra) }, help: 'Once the service runs on the target, do not move again. To start over from the source, add --replace-target.' },
      )
  }
  // The service's own migrations: the schema is exactly the one the service would create.
  await migratePostgres(pool)
  await loadTypes(target)
  for (const t of source.tables) {
    const types = target.types.get(t.name)
    const missing = t.columns.filter((c) => !types?.has(c))
    const extra = types ? [...types.keys()].filter((c) => !t.columns.includes(c)) : []
    if (missing.length || extra.length)
      throw new AppError('MOVE_SOURCE_NOT_READY', `Table ${t.name} differs between the source and the target's schema (${[...missing.map((c) => `only in the source: ${c}`), ...extra.map((c) => `only in the target: ${c}`)].join('; ')}).`, {
        help: 'Run the same briefcast version on both; the target gets its schema from the migrations of the version that runs `move`.',
      })
  }
  await pool.query(`CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (name text PRIMARY KEY, value text NOT NULL, updated_at text NOT NULL)`)
  if (options.replace) {
    await pool.query(`TRUNCATE ${names.map(q).join(', ')} RESTART IDENTITY CASCADE`)
    await pool.query(`DELETE FROM ${PROGRESS_TABLE}`)
    state.clear()
  } else if (!ours || state.get('state') !== 'copying') {
    // A new move, or a run after a finished one (e.g. the final pass once the service is stopped): every row
    // again (upserts bring changed rows up to date). Only an interrupted run resumes after its saved keys.
    await pool.query(`DELETE FROM ${PROGRESS_TABLE}`)
    state.clear()
  }
  await setState(pool, 'source', identity)
  await setState(pool, 'state', 'copying')

  const summary: CopySummary = { tables: [], sequences: [] }
  for (const t of source.tables) {
    const types = target.types.get(t.name)!
    const saved = state.get(`table:${t.name}`)
    let last = saved ? decodeKey(saved) : undefined
    const resumedAfter = last !== undefined
    // Rows already copied by an earlier run (up to the saved key), so the progress starts there.
    let done = last ? Number((source.db.prepare(`SELECT count(*) AS n FROM ${q(t.name)} WHERE (${t.key.map(q).join(', ')}) <= (${t.key.map(() => '?').join(', ')})`).get(...last) as { n: bigint }).n) : 0
    let copied = 0
    const batch = Math.max(1, Math.min(options.batchSize, Math.floor(MAX_PARAMS / t.columns.length)))
    const keyList = t.key.map(q).join(', ')
    const first = source.db.prepare(`SELECT ${t.columns.map(q).join(', ')} FROM ${q(t.name)} ORDER BY ${keyList} LIMIT ?`)
    const after = source.db.prepare(`SELECT ${t.columns.map(q).join(', ')} FROM ${q(t.name)} WHERE (${keyList}) > (${t.key.map(() => '?').join(', ')}) ORDER BY ${keyList} LIMIT ?`)
    const nonKey = t.columns.filter((c) => !t.key.includes(c))
    const conflict = nonKey.length ? `DO UPDATE SET ${nonKey.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}` : 'DO NOTHING'
    options.progress?.({ phase: 'rows', table: t.name, done, total: t.rows })
    for (;;) {
      if (options.signal?.aborted) throw new AppError('ABORTED', 'The move was interrupted; run the same command again to resume.')
      const rows = (last ? after.all(...last, batch) : first.all(batch)) as Record<string, unknown>[]
      if (rows.length === 0) break
      const params: unknown[] = []
      const tuples = rows.map((r) => `(${t.columns.map((c) => (params.push(toPg(r[c], types.get(c))), `$${params.length}`)).join(', ')})`)
      last = t.key.map((k) => rows[rows.length - 1]![k])
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await client.query(`INSERT INTO ${q(t.name)} (${t.columns.map(q).join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (${keyList}) ${conflict}`, params)
        await upsertState(client, `table:${t.name}`, encodeKey(last))
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw new AppError('UNEXPECTED_ERROR', `Copying ${t.name} into ${target.where} failed: ${(err as Error).message}`, { cause: err })
      } finally {
        client.release()
      }
      done += rows.length
      copied += rows.length
      options.progress?.({ phase: 'rows', table: t.name, done, total: t.rows })
      options.afterBatch?.()
    }
    summary.tables.push({ table: t.name, rows: t.rows, copied, resumedAfter })
  }
  summary.sequences = await advanceSequences(source, target)
  await setState(pool, 'state', 'copied')
  return summary
}

async function setState(pool: pg.Pool, name: string, value: string): Promise<void> {
  await upsertState(pool, name, value)
}

async function upsertState(client: pg.Pool | pg.PoolClient, name: string, value: string): Promise<void> {
  await client.query(`INSERT INTO ${PROGRESS_TABLE} (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`, [
    name,
    value,
    new Date().toISOString(),
  ])
}

/** Per table: how many of the target's keys the source does not have. */
async function extraRows(source: SqliteSource, target: PostgresTarget): Promise<[string, number][]> {
  const out: [string, number][] = []
  for (const t of source.tables) {
    const types = target.types.get(t.name)
    if (!types) continue
    const keyOf = (r: Record<string, unknown>) => JSON.stringify(t.key.map((k) => norm(r[k], types.get(k))))
    const keys = new Set<string>()
    for (const r of source.db.prepare(`SELECT ${t.key.map(q).join(', ')} FROM ${q(t.name)}`).iterate() as IterableIterator<Record<string, unknown>>) keys.add(keyOf(r))
    let extra = 0
    for (const r of (await target.pool.query(`SELECT ${t.key.map(q).join(', ')} FROM ${q(t.name)}`)).rows as Record<string, unknown>[]) if (!keys.has(keyOf(r))) extra++
    out.push([t.name, extra])
  }
  return out
}

async function targetCounts(target: PostgresTarget, names: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const n of names) out.set(n, Number((await target.pool.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${q(n)}`)).rows[0]!.n))
  return out
}

/** Identity columns continue after the largest id the source ever used (its rows, and sqlite_sequence for deleted ones). */
async function advanceSequences(source: SqliteSource, target: PostgresTarget): Promise<CopySummary['sequences']> {
  const ids = await target.pool.query<{ table_name: string; column_name: string }>(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name",
  )
  const out: CopySummary['sequences'] = []
  for (const { table_name: table, column_name: column } of ids.rows) {
    const max = (await target.pool.query<{ m: bigint | null }>(`SELECT max(${q(column)})::bigint AS m FROM ${q(table)}`)).rows[0]!.m ?? 0n
    const used = source.sequences.get(table) ?? 0n
    const value = max > used ? max : used
    if (value < 1n) continue
    await target.pool.query(`SELECT setval(pg_get_serial_sequence($1, $2), $3, true)`, [q(table), column, value.toString()])
    out.push({ table, column, value: value.toString() })
  }
  return out
}

// --- verification -------------------------------------------------------------------------------------------------

/** key -> row hash, for every row of a table, read in key order in batches. */
async function rowHashes(read: (after: unknown[] | undefined) => Promise<Record<string, unknown>[]>, t: TablePlan, types: Map<string, string>): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  let last: unknown[] | undefined
  for (;;) {
    const rows = await read(last)
    if (rows.length === 0) break
    for (const r of rows) {
      const key = JSON.stringify(t.key.map((k) => norm(r[k], types.get(k))))
      out.set(key, createHash('sha256').update(JSON.stringify(t.columns.map((c) => norm(r[c], types.get(c))))).digest('hex'))
    }
    last = t.key.map((k) => rows[rows.length - 1]![k])
  }
  return out
}

const tableChecksum = (m: Map<string, string>) => {
  const h = createHash('sha256')
  for (const k of [...m.keys()].sort()) h.update(`${k}\t${m.get(k)}\n`)
  return h.digest('hex')
}

/** Compare every table, row by row (normalized for the type differences): counts, key sets, contents. */
export async function verifyRows(source: SqliteSource, target: PostgresTarget, batchSize = 2000): Promise<TableCheck[]> {
  const out: TableCheck[] = []
  for (const t of source.tables) {
    const types = target.types.get(t.name) ?? new Map<string, string>()
    const keyList = t.key.map(q).join(', ')
    const cols = t.columns.map(q).join(', ')
    const first = source.db.prepare(`SELECT ${cols} FROM ${q(t.name)} ORDER BY ${keyList} LIMIT ?`)
    const after = source.db.prepare(`SELECT ${cols} FROM ${q(t.name)} WHERE (${keyList}) > (${t.key.map(() => '?').join(', ')}) ORDER BY ${keyList} LIMIT ?`)
    const src = await rowHashes(async (last) => (last ? after.all(...last, batchSize) : first.all(batchSize)) as Record<string, unknown>[], t, types)
    const tgt = target.types.has(t.name)
      ? await rowHashes(
          async (last) =>
            (
              await target.pool.query(
                last
                  ? `SELECT ${cols} FROM ${q(t.name)} WHERE (${keyList}) > (${t.key.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY ${keyList} LIMIT ${batchSize}`
                  : `SELECT ${cols} FROM ${q(t.name)} ORDER BY ${keyList} LIMIT ${batchSize}`,
                last?.map((v) => toPg(v, undefined)),
              )
            ).rows as Record<string, unknown>[],
          t,
          types,
        )
      : new Map<string, string>()
    let missing = 0
    let different = 0
    const examples: string[] = []
    for (const [k, h] of src) {
      const other = tgt.get(k)
      if (other === undefined) {
        missing++
        if (examples.length < 5) examples.push(`missing ${k}`)
      } else if (other !== h) {
        different++
        if (examples.length < 5) examples.push(`different ${k}`)
      }
    }
    let extra = 0
    for (const k of tgt.keys())
      if (!src.has(k)) {
        extra++
        if (examples.length < 5) examples.push(`extra ${k}`)
      }
    out.push({ table: t.name, source: src.size, target: tgt.size, missing, extra, different, examples, sourceChecksum: tableChecksum(src), targetChecksum: tableChecksum(tgt) })
  }
  return out
}

/** What the progress table says about the target (for --verify-only): the source it was filled from and whether the copy finished. */
export async function moveState(target: PostgresTarget): Promise<{ source?: string; state?: string }> {
  const exists = (await target.pool.query<{ r: string | null }>('SELECT to_regclass($1) AS r', [PROGRESS_TABLE])).rows[0]!.r
  if (!exists) return {}
  const rows = (await target.pool.query<{ name: string; value: string }>(`SELECT name, value FROM ${PROGRESS_TABLE} WHERE name IN ('source', 'state')`)).rows
  const m = new Map(rows.map((r) => [r.name, r.value]))
  return { ...(m.has('source') ? { source: m.get('source')! } : {}), ...(m.has('state') ? { state: m.get('state')! } : {}) }
}
