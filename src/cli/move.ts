/**
 * `briefcast move --to-database postgres://... --to-storage s3://...`: copy an embedded install (the SQLite file
 * in the data directory, the files in the cache directory) into PostgreSQL and/or a bucket, resumably, then
 * verify the copy (per-table row counts, keys and content checksums; every object's size and SHA-256).
 * `--verify-only` checks a finished move without copying. docs/deployment.md, "Moving an existing install".
 *
 * The source is the install the usual settings point at (--config, BRIEFCAST_DATA_DIR, BRIEFCAST_CACHE_DIR);
 * it is only read. Progress goes to stderr, the report to stdout (--json: one JSON object).
 */
import path from 'node:path'
import { isPostgresUrl, loadConfig } from '../config.ts'
import { AppError, toAppError } from '../errors.ts'
import { copyObjects, verifyObjects, type CopyObjectsSummary, type ObjectCheck } from '../storage/copy.ts'
import { LocalBlobStore } from '../storage/local.ts'
import { S3BlobStore } from '../storage/s3.ts'
import { describeLocation, parseStorageUrl } from '../storage/url.ts'
import { copyRows, moveState, openPostgresTarget, openSqliteSource, verifyRows, type CopySummary, type PostgresTarget, type SqliteSource, type TableCheck } from '../store/copy.ts'
import { describeDatabaseUrl } from '../store/open.ts'
import { createProgressBar } from '../util/progress.ts'
import { startCliRun } from './run.ts'
import { flag, num, str, UsageError, type ParsedArgs } from './spec.ts'

export const DEFAULT_BATCH_SIZE = 500
export const DEFAULT_CONCURRENCY = 4

interface Report {
  verifyOnly: boolean
  source: { database?: string; files?: string }
  target: { database?: string; storage?: string }
  copy?: { database?: CopySummary; storage?: Omit<CopyObjectsSummary, 'checksums'> }
  verify: { ok: boolean; database?: TableCheck[]; storage?: ObjectCheck; problems: string[] }
}

/** Progress on stderr: a bar on a terminal; otherwise a line when a table or phase ends and every 5 s between. */
function progressPrinter(quiet: boolean) {
  const bar = createProgressBar({ label: 'move' })
  const tty = Boolean(process.stderr.isTTY)
  let lastLine = 0
  const line = (text: string, final: boolean) => {
    if (quiet) return
    if (tty) return
    const now = Date.now()
    if (!final && now - lastLine < 5000) return
    lastLine = now
    process.stderr.write(`move: ${text}\n`)
  }
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`
  return {
    rows(table: string, done: number, total: number) {
      if (!quiet) bar.update(total ? done / total : 1, `rows ${table} ${done}/${total}`)
      line(`rows ${table} ${done}/${total}`, done >= total)
    },
    files(done: number, total: number, bytes: number, totalBytes: number) {
      if (!quiet) bar.update(totalBytes ? bytes / totalBytes : total ? done / total : 1, `files ${done}/${total} ${mb(bytes)}/${mb(totalBytes)}`)
      line(`files ${done}/${total}, ${mb(bytes)} of ${mb(totalBytes)}`, done >= total)
    },
    note(text: string) {
      bar.clear()
      if (!quiet) process.stderr.write(`move: ${text}\n`)
    },
    clear: () => bar.clear(),
  }
}

/** The test hook for a real interruption: BRIEFCAST_MOVE_KILL_AFTER=N kills this process (SIGKILL) after N committed steps. */
function killHook(): () => void {
  const n = Number(process.env.BRIEFCAST_MOVE_KILL_AFTER)
  if (!Number.isInteger(n) || n <= 0) return () => {}
  let steps = 0
  return () => {
    if (++steps >= n) process.kill(process.pid, 'SIGKILL')
  }
}

export async function run(args: ParsedArgs): Promise<number> {
  const toDatabase = str(args, 'to-database')
  const toStorage = str(args, 'to-storage')
  const verifyOnly = flag(args, 'verify-only')
  const replace = flag(args, 'replace-target')
  const json = flag(args, 'json')
  const quiet = flag(args, 'quiet') || json
  const batchSize = num(args, 'batch-size') ?? DEFAULT_BATCH_SIZE
  const concurrency = num(args, 'concurrency') ?? DEFAULT_CONCURRENCY
  if (!toDatabase && !toStorage) throw new UsageError('give --to-database, --to-storage or both')
  if (verifyOnly && replace) throw new UsageError('--replace-target copies; it cannot go with --verify-only')
  if (toDatabase && !isPostgresUrl(toDatabase)) throw new UsageError('--to-database must be a postgres:// URL with a host and a database, e.g. postgres://briefcast@db.internal:5432/briefcast')
  const location = toStorage ? parseStorageUrl(toStorage) : undefined
  if (typeof location === 'string') throw new UsageError(`--to-storage ${location}`)

  const config = loadConfig({ file: str(args, 'config') })
  if (toDatabase && config.database.url)
    throw new AppError('MOVE_SOURCE_NOT_READY', `This install already keeps its rows in PostgreSQL (BRIEFCAST_DATABASE_URL, ${describeDatabaseUrl(config.database.url)}); move copies the embedded SQLite database.`, {
      help: 'Run move with the settings of the SQLite install (unset BRIEFCAST_DATABASE_URL), or leave out --to-database.',
    })
  if (toStorage && config.storage.url)
    throw new AppError('MOVE_SOURCE_NOT_READY', 'This install already keeps its files in object storage (BRIEFCAST_STORAGE_URL); move copies the local cache directory.', {
      help: 'Run move with the settings of the install that keeps files locally (unset BRIEFCAST_STORAGE_URL), or leave out --to-storage.',
    })

  const out = progressPrinter(quiet)
  const cli = startCliRun(config.cacheDir)
  const signal = cli.controller.signal
  const afterStep = killHook()
  const dbFile = path.resolve(config.dataDir, 'briefcast.db')
  let source: SqliteSource | undefined
  let db: PostgresTarget | undefined
  let bucket: S3BlobStore | undefined
  const files = new LocalBlobStore(config.cacheDir)
  const report: Report = { verifyOnly, source: {}, target: {}, verify: { ok: true, problems: [] } }
  try {
    // Everything is opened and reached before anything is copied: a wrong flag fails fast, with nothing written.
    if (toDatabase) {
      source = openSqliteSource(dbFile)
      report.source.database = dbFile
      if (source.inUse) out.note(`warning: ${source.inUse} Stop the service before the final run.`)
      db = await openPostgresTarget(toDatabase)
      report.target.database = db.where
    }
    if (location) {
      bucket = new S3BlobStore({ location, cacheDir: config.cacheDir, connectTimeoutMs: config.storage.connectTimeoutMs, requestTimeoutMs: config.storage.requestTimeoutMs })
      try {
        await bucket.check(AbortSignal.any([signal, AbortSignal.timeout(15_000)]))
      } catch (err) {
        const e = toAppError(err)
        throw new AppError('MOVE_TARGET_UNREACHABLE', `--to-storage: cannot use ${describeLocation(location)}: ${e.code === 'ABORTED' ? 'no answer within 15 s' : e.message}`, {
          cause: err,
          details: { flag: '--to-storage', location: describeLocation(location) },
          help: e.help ?? 'Check the bucket name, ?endpoint= and ?region= in --to-storage, and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.',
        })
      }
      report.source.files = files.root
      report.target.storage = bucket.location
    }

    let checksums: Map<string, string> | undefined
    if (!verifyOnly) {
      report.copy = {}
      if (source && db) {
        report.copy.database = await copyRows(source, db, { batchSize, replace, signal, afterBatch: afterStep, progress: (p) => out.rows(p.table, p.done, p.total) })
        out.clear()
      }
      if (bucket) {
        const summary = await copyObjects(files, bucket, { concurrency, signal, afterObject: afterStep, progress: (p) => out.files(p.done, p.total, p.bytes, p.totalBytes) })
        out.clear()
        checksums = summary.checksums
        const { checksums: _, ...rest } = summary
        report.copy.storage = rest
        if (summary.vanished.length) out.note(`${summary.vanished.length} file(s) disappeared from the cache directory while copying (evicted or deleted by a running service); they are not needed.`)
      }
    } else if (db) {
      const state = await moveState(db)
      if (state.state !== 'copied') report.verify.problems.push(`the target database was ${state.state === 'copying' ? 'not finished by the last move (it was interrupted): run move again' : 'not filled by move'}`)
    }

    out.note('verifying')
    if (source && db) {
      const tables = await verifyRows(source, db)
      report.verify.database = tables
      for (const t of tables)
        if (t.missing || t.extra || t.different || t.source !== t.target)
          report.verify.problems.push(
            `table ${t.table}: ${t.source} rows in the source, ${t.target} in the target (${[t.missing && `${t.missing} missing`, t.extra && `${t.extra} extra`, t.different && `${t.different} different`].filter(Boolean).join(', ')}; e.g. ${t.examples.join('; ')})`,
          )
    }
    if (bucket) {
      const check = await verifyObjects(files, bucket, concurrency, checksums, signal)
      report.verify.storage = check
      if (check.missing.length) report.verify.problems.push(`${check.missing.length} object(s) missing in the bucket (e.g. ${check.missing.slice(0, 5).join(', ')})`)
      for (const d of check.different.slice(0, 5)) report.verify.problems.push(`object ${d.key} differs: source ${d.source}, bucket ${d.target}`)
      if (check.different.length > 5) report.verify.problems.push(`${check.different.length - 5} more object(s) differ`)
    }
    report.verify.ok = report.verify.problems.length === 0
    if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    else if (!flag(args, 'quiet')) process.stdout.write(summaryText(report))
    if (!report.verify.ok)
      throw new AppError('MOVE_VERIFY_FAILED', `The copy does not match the source:\n  - ${report.verify.problems.join('\n  - ')}`, { details: { problems: report.verify.problems } })
    return 0
  } finally {
    out.clear()
    source?.close()
    await db?.close().catch(() => {})
    await bucket?.close()
    cli.release()
  }
}

function summaryText(r: Report): string {
  const lines: string[] = []
  if (r.copy?.database) {
    const rows = r.copy.database.tables.reduce((n, t) => n + t.rows, 0)
    const copied = r.copy.database.tables.reduce((n, t) => n + t.copied, 0)
    lines.push(`database: ${r.copy.database.tables.length} tables, ${rows} rows from ${r.source.database} to ${r.target.database} (${copied} copied in this run)`)
    for (const s of r.copy.database.sequences) lines.push(`  ${s.table}.${s.column} continues after ${s.value}`)
  }
  if (r.copy?.storage) {
    const s = r.copy.storage
    lines.push(`files: ${s.objects} objects, ${s.bytes} bytes from ${r.source.files} to ${r.target.storage} (${s.copied} copied, ${s.copiedBytes} bytes; ${s.skipped} already there)`)
  }
  if (r.verify.database) {
    const rows = r.verify.database.reduce((n, t) => n + t.source, 0)
    const bad = r.verify.database.filter((t) => t.missing || t.extra || t.different)
    lines.push(`verified database: ${r.verify.database.length} tables, ${rows} rows: ${bad.length ? `${bad.length} table(s) differ` : 'counts, keys and content checksums equal'}`)
  }
  if (r.verify.storage) {
    const s = r.verify.storage
    const bad = s.missing.length + s.different.length
    lines.push(`verified files: ${s.objects} objects, ${s.bytes} bytes: ${bad ? `${bad} differ or are missing` : 'sizes and SHA-256 equal'}${s.extra ? ` (${s.extra} other object(s) in the bucket, left alone)` : ''}`)
  }
  if (r.verify.ok && !r.verifyOnly)
    lines.push(
      'Next: stop the service, run this command once more if it was running, then start it with ' +
        [r.target.database && 'BRIEFCAST_DATABASE_URL', r.target.storage && 'BRIEFCAST_STORAGE_URL'].filter(Boolean).join(' and ') +
        ' set; copy data/source-secret-key (and data/api-key if used) to the new data directory (docs/deployment.md, "Moving an existing install").',
    )
  return lines.join('\n') + '\n'
}
