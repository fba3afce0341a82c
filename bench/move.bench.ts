/**
 * `briefcast move`'s row copy (src/store/copy.ts): a SQLite install of 1000 articles (2 KB sources) and 4000
 * listen-stat rows copied into a fresh PostgreSQL schema (127.0.0.1:5432 db `test`, or
 * BRIEFCAST_TEST_DATABASE_URL) with the default batches of 500 rows per transaction, against the baseline of one
 * row per transaction (what a naive row-by-row copy does), in the same run; then the verification (every row
 * hashed on both sides). Each measured twice, alternating; the faster of each kept.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import pg from 'pg'
import { copyRows, openPostgresTarget, openSqliteSource, verifyRows } from '../src/store/copy.ts'
import { openStore } from '../src/store/index.ts'

const PG_URL = process.env.BRIEFCAST_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const ARTICLES = 1000
const STATS_PER_ARTICLE = 4

const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-move-bench-'))
const file = path.join(dir, 'briefcast.db')
await (await openStore({ file })).close()
const db = new Database(file)
const now = new Date().toISOString()
const ins = db.prepare(
  `INSERT INTO articles (id, title, language, profile_id, source, content_hash, script_json, status, progress, created_at, updated_at)
   VALUES (?, ?, 'en', 'default', ?, 'h', '{"segments":[]}', 'ready', 1, ?, ?)`,
)
const stat = db.prepare('INSERT INTO listen_stats (article_id, day, starts, p25, p50, p75, p100) VALUES (?, ?, 10, 8, 6, 4, 2)')
db.transaction(() => {
  for (let i = 0; i < ARTICLES; i++) {
    const id = `a${String(i).padStart(5, '0')}`
    ins.run(id, `Story ${i}`, randomBytes(2048), now, now)
    for (let d = 0; d < STATS_PER_ARTICLE; d++) stat.run(id, `2026-12-0${d + 1}`)
  }
})()
db.close()
const rows = ARTICLES * (1 + STATS_PER_ARTICLE)

const admin = new pg.Client({ connectionString: PG_URL })
await admin.connect()
const schemas: string[] = []

async function once(batchSize: number): Promise<{ copy: number; verify: number }> {
  const schema = `bench_${randomBytes(5).toString('hex')}`
  schemas.push(schema)
  await admin.query(`CREATE SCHEMA ${schema}`)
  const u = new URL(PG_URL)
  u.searchParams.set('options', `-c search_path=${schema}`)
  const source = openSqliteSource(file)
  const target = await openPostgresTarget(u.toString())
  try {
    let t = performance.now()
    await copyRows(source, target, { batchSize, replace: false })
    const copy = performance.now() - t
    t = performance.now()
    const checks = await verifyRows(source, target)
    const verify = performance.now() - t
    if (checks.some((c) => c.missing || c.extra || c.different)) throw new Error('the copy does not verify')
    return { copy, verify }
  } finally {
    source.close()
    await target.close()
  }
}

try {
  const ours: number[] = []
  const base: number[] = []
  const verify: number[] = []
  for (let i = 0; i < 2; i++) {
    const a = await once(500)
    ours.push(a.copy)
    verify.push(a.verify)
    base.push((await once(1)).copy)
  }
  const o = Math.min(...ours)
  const b = Math.min(...base)
  const v = Math.min(...verify)
  const perSec = (ms: number) => Math.round(rows / (ms / 1000))
  console.log(`move rows  ${rows} rows (${ARTICLES} articles with 2 KB sources + ${ARTICLES * STATS_PER_ARTICLE} listen stats)`)
  console.log(`  batches of 500:         ${o.toFixed(0).padStart(6)} ms  ${perSec(o)} rows/s`)
  console.log(`  baseline, 1 row per tx: ${b.toFixed(0).padStart(6)} ms  ${perSec(b)} rows/s`)
  console.log(`  ratio baseline/ours: ${(b / o).toFixed(1)}x faster`)
  console.log(`  verification (every row hashed on both sides): ${v.toFixed(0)} ms  ${perSec(v)} rows/s`)
  console.log(`  load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
} finally {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`)
  await admin.end()
  rmSync(dir, { recursive: true, force: true })
}
