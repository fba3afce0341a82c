/**
 * `briefcast move` end to end: a real embedded install (the service on SQLite + local files: rendered articles,
 * a briefing, a user, listens) is copied by the CLI, as a child process, into a fresh PostgreSQL schema and an
 * s3rver bucket. The first run is killed (SIGKILL) partway through the rows, the second partway through the
 * files; the third resumes and completes. Then --verify-only passes, a changed object and a changed row are
 * each named by a failing verification, a target with foreign rows is refused with nothing written, an
 * unreachable target is one error naming the flag and host (never the password), and the service started on
 * PostgreSQL + S3 serves the same articles, feed items, audio bytes (whole and ranged) and transcripts, and
 * takes a new article without an id collision.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { S3BlobStore } from '../../src/storage/s3.ts'
import { parseStorageUrl, type S3Location } from '../../src/storage/url.ts'
import { openStore } from '../../src/store/index.ts'
import { paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { startS3, type TestS3 } from '../storage/s3rver.ts'
import { freshSchema, PG_URL, postgresUnavailable, urlWithSchema } from './pg.ts'

process.env.METADATA_SERVER_DETECTION = 'none'

const ROOT = path.resolve(import.meta.dirname, '../..')
const skip = await postgresUnavailable('briefcast move')

let s3: TestS3
let svc: TestService
let home: string
let dataDir: string
let cacheDir: string
let bucket: S3BlobStore
let schema: string
let target: string
let storageUrl: string
const ids: string[] = []
/** What the embedded install served, to compare with the moved one. */
const before: { list?: unknown; articles: Record<string, unknown>; feed?: string; audio: Record<string, Buffer>; vtt: Record<string, string> } = { articles: {}, audio: {}, vtt: {} }

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function move(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'move', ...args],
      { cwd: ROOT, env: { ...process.env, BRIEFCAST_DATA_DIR: dataDir, BRIEFCAST_CACHE_DIR: cacheDir, BRIEFCAST_CLI: '1', ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr })
      },
    )
  })
}

async function pgQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], url = target): Promise<T[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query<T>(sql, params)).rows
  } finally {
    await c.end()
  }
}

/** Rows per table in the source SQLite file (what the move must copy). */
function sourceRows(): number {
  const db = new Database(path.join(dataDir, 'briefcast.db'), { readonly: true })
  try {
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").all() as { name: string }[]).map((r) => r.name)
    return names.reduce((n, t) => n + (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n, 0)
  } finally {
    db.close()
  }
}

async function bucketKeys(): Promise<string[]> {
  const out: string[] = []
  for await (const o of bucket.list('')) out.push(o.key)
  return out
}

const enclosures = (xml: string) => [...xml.matchAll(/<enclosure url="([^"]+)" length="(\d+)" type="([^"]+)"/g)].map((m) => ({ url: m[1]!, length: Number(m[2]), type: m[3]! }))
const items = (xml: string) => [...xml.matchAll(/<item>([\s\S]*?)<\/item>/g)].map((m) => m[1]!)
/** A service's answer with its own base URL replaced, so two services on different ports compare equal. */
const based = <T>(svc: TestService, value: T): T => JSON.parse(JSON.stringify(value).replaceAll(svc.url, 'BASE')) as T

beforeAll(async () => {
  if (skip) return
  s3 = await startS3()
  home = mkdtempSync(path.join(os.tmpdir(), 'briefcast-move-'))
  dataDir = path.join(home, 'data')
  cacheDir = path.join(home, 'cache')
  bucket = new S3BlobStore({ location: parseStorageUrl(s3.url('moved')) as S3Location, cacheDir: path.join(home, 'reader') })
  storageUrl = s3.url('moved')
  schema = freshSchema()
  await pgQuery(`CREATE SCHEMA ${schema}`, [], PG_URL)
  target = urlWithSchema(schema)

  // A populated embedded install.
  svc = await startTestService({ dataDir, cacheDir })
  for (let n = 1; n <= 3; n++) {
    const r = await postJson(svc, '/api/articles', {
      title: `Harbour story ${n}`,
      text: paragraphs(2, `The harbour story number ${n} began`),
      language: 'en',
      url: `https://news.example.com/story-${n}`,
      publishedAt: new Date(Date.now() - (4 - n) * 3_600_000).toISOString(),
    })
    expect(r.status).toBe(201)
    ids.push(((await r.json()) as { id: string }).id)
  }
  for (const id of ids) expect((await waitForArticle(svc, id, ready)).status).toBe('ready')
  const b = await postJson(svc, '/api/briefings', { articleIds: ids.slice(0, 2), mode: 'lede', date: '2026-11-26T06:00:00Z' })
  expect(b.status).toBe(202)
  const briefingId = ((await b.json()) as { id: string }).id
  for (let i = 0; i < 600; i++) {
    const s = ((await (await svc.api(`/api/briefings/${briefingId}`)).json()) as { status: string }).status
    if (s === 'ready' || s === 'failed') break
    await new Promise((r) => setTimeout(r, 200))
  }
  await svc.deps.store.accounts.addUser('editor-ana', 'a long enough password', 'editor')
  for (const event of [{ event: 'start' }, { event: 'progress', percent: 50 }])
    expect((await fetch(`${svc.url}/listen/${ids[0]}/events`, { method: 'POST', body: JSON.stringify(event) })).status).toBe(204)

  before.list = based(svc, await (await svc.api('/api/articles')).json())
  for (const id of ids) {
    const a = (await (await svc.api(`/api/articles/${id}`)).json()) as Record<string, unknown>
    before.articles[id] = based(svc, a)
    before.audio[id] = Buffer.from(await (await fetch(a.audioUrl as string)).arrayBuffer())
    const info = (await (await fetch(`${svc.url}/listen/${id}/info.json`)).json()) as { transcriptUrl: string }
    before.vtt[id] = await (await fetch(info.transcriptUrl)).text()
  }
  before.feed = (await (await fetch(svc.url + '/feeds/articles.xml')).text()).replaceAll(svc.url, 'BASE')
  await svc.stop()
}, 600_000)

afterAll(async () => {
  await bucket?.close()
  await s3?.close()
  if (home) rmSync(home, { recursive: true, force: true })
})

describe.skipIf(skip)('briefcast move', () => {
  it('an unreachable target is one error naming the flag and the host, never the password; nothing is copied', async () => {
    const db = await move(['--to-database', 'postgres://briefcast:s3cr3t-pw@127.0.0.1:9/briefcast'])
    expect(db.code).toBe(1)
    expect(db.stderr).toMatch(/MOVE_TARGET_UNREACHABLE: --to-database: cannot reach PostgreSQL at 127\.0\.0\.1:9\/briefcast/)
    expect(db.stderr + db.stdout).not.toContain('s3cr3t-pw')
    const st = await move(['--to-storage', 's3://some-bucket/x?endpoint=http://127.0.0.1:9&forcePathStyle=true'])
    expect(st.code).toBe(1)
    expect(st.stderr).toMatch(/MOVE_TARGET_UNREACHABLE: --to-storage: cannot use s3:\/\/some-bucket\/x at http:\/\/127\.0\.0\.1:9/)
    const usage = await move([])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/give --to-database, --to-storage or both/)
  })

  it('refuses a target database holding rows it did not write, writing nothing; --replace-target replaces them', async () => {
    const other = freshSchema()
    await pgQuery(`CREATE SCHEMA ${other}`, [], PG_URL)
    const store = await openStore({ url: PG_URL, schema: other })
    await store.accounts.addUser('someone-else', 'another long password', 'admin')
    await store.close()
    const r = await move(['--to-database', urlWithSchema(other)])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/MOVE_TARGET_NOT_EMPTY: .*already holds rows that this move did not write \(users: 1\)/)
    expect(await pgQuery(`SELECT count(*)::int AS n FROM ${other}.articles`, [], PG_URL)).toEqual([{ n: 0 }])
    expect(await pgQuery("SELECT to_regclass($1) AS r", [`${other}.briefcast_move`], PG_URL)).toEqual([{ r: null }])
    // --replace-target: the foreign rows go, the source's come in, and it verifies.
    const replaced = await move(['--to-database', urlWithSchema(other), '--replace-target'])
    expect(replaced.stderr).not.toContain('MOVE_')
    expect(replaced.code).toBe(0)
    expect((await pgQuery<{ username: string }>(`SELECT username FROM ${other}.users ORDER BY id`, [], PG_URL)).map((u) => u.username)).not.toContain('someone-else')
    expect(await pgQuery(`SELECT count(*)::int AS n FROM ${other}.articles`, [], PG_URL)).toEqual([{ n: 3 }])
  })

  it('is killed partway through the rows, then partway through the files, and the third run resumes and completes', async () => {
    const rows = sourceRows()
    expect(rows).toBeGreaterThan(20)
    const args = ['--to-database', target, '--to-storage', storageUrl, '--batch-size', '1', '--concurrency', '1']
    // 1: killed after half the rows (one row per batch, one transaction each).
    const half = Math.floor(rows / 2)
    const first = await move(args, { BRIEFCAST_MOVE_KILL_AFTER: String(half) })
    expect(first.signal).toBe('SIGKILL')
    const copied = await pgQuery<{ value: string }>("SELECT value FROM briefcast_move WHERE name = 'state'")
    expect(copied).toEqual([{ value: 'copying' }])
    const tables = (await pgQuery<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name NOT IN ('schema_migrations', 'briefcast_move')")).map((r) => r.t)
    let inTarget = 0
    for (const t of tables) inTarget += (await pgQuery<{ n: number }>(`SELECT count(*)::int AS n FROM "${t}"`))[0]!.n
    expect(inTarget).toBe(half)
    expect(await bucketKeys()).toEqual([])

    // 2: resumes the rows (only the rest are new steps), then is killed after two files.
    const second = await move(args, { BRIEFCAST_MOVE_KILL_AFTER: String(rows - half + 2) })
    expect(second.signal).toBe('SIGKILL')
    expect(await bucketKeys()).toHaveLength(2)

    // 3: completes; no file is copied twice.
    const third = await move([...args, '--json'])
    // --json: the report only; no progress or notes on stderr (the AWS SDK's own Node version notice aside).
    expect(third.stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?to show where the warning was created\)\n/, '').trim()).toBe('')
    expect(third.code).toBe(0)
    const report = JSON.parse(third.stdout) as {
      copy: { database: { tables: { copied: number; resumedAfter: boolean }[]; sequences: { table: string }[] }; storage: { objects: number; copied: number; skipped: number } }
      verify: { ok: boolean; database: { table: string; source: number; target: number; sourceChecksum: string; targetChecksum: string }[]; storage: { objects: number } }
    }
    expect(report.verify.ok).toBe(true)
    // The second run copied exactly the rows the first had not (its kill came exactly two files after them), and
    // finished the rows phase; a run after a finished rows phase upserts every row again (brings changed rows up to date).
    expect(report.copy.database.tables.reduce((n, t) => n + t.copied, 0)).toBe(rows)
    expect(report.copy.database.tables.every((t) => !t.resumedAfter)).toBe(true)
    expect(report.copy.storage.skipped).toBe(2)
    expect(report.copy.storage.copied).toBe(report.copy.storage.objects - 2)
    expect(report.copy.database.sequences.map((s) => s.table)).toEqual(expect.arrayContaining(['episodes', 'jobs', 'users']))
    for (const t of report.verify.database) {
      expect(t.target, t.table).toBe(t.source)
      expect(t.targetChecksum, t.table).toBe(t.sourceChecksum)
    }
    expect(report.verify.database.find((t) => t.table === 'articles')!.source).toBe(3)
    expect((await bucketKeys()).length).toBe(report.copy.storage.objects)
    // Types came through: bytea, 64-bit integers, reals, NULLs.
    const [a] = await pgQuery<{ source: Buffer; published_ms: bigint; progress: number; error_json: string | null }>('SELECT source, published_ms, progress, error_json FROM articles WHERE id = $1', [ids[0]])
    expect(Buffer.isBuffer(a!.source)).toBe(true)
    expect(a!.source.toString('utf8')).toContain('The harbour story number 1 began')
    expect(a!.progress).toBe(1)
    expect(a!.error_json).toBeNull()
  })

  it('--verify-only passes on the finished copy, and names a changed object and a changed row (exit 1)', async () => {
    const ok = await move(['--to-database', target, '--to-storage', storageUrl, '--verify-only'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/verified database: \d+ tables, \d+ rows: counts, keys and content checksums equal/)
    expect(ok.stdout).toMatch(/verified files: \d+ objects, \d+ bytes: sizes and SHA-256 equal/)

    const ep = (await pgQuery<{ audio_file: string }>('SELECT audio_file FROM episodes ORDER BY id LIMIT 1'))[0]!.audio_file
    const original = await bucket.getBuffer(ep)
    await bucket.put(ep, Buffer.concat([original.subarray(0, 1000), Buffer.alloc(10), original.subarray(1010)]))
    const badObject = await move(['--to-storage', storageUrl, '--verify-only'])
    expect(badObject.code).toBe(1)
    expect(badObject.stderr).toContain(`MOVE_VERIFY_FAILED`)
    expect(badObject.stderr).toContain(`object ${ep} differs`)
    await bucket.delete(ep)
    const gone = await move(['--to-storage', storageUrl, '--verify-only'])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(new RegExp(`1 object\\(s\\) missing in the bucket \\(e\\.g\\. ${ep.replace(/\./g, '\\.')}\\)`))

    await pgQuery('UPDATE articles SET title = $1 WHERE id = $2', ['Changed in the target', ids[1]])
    const badRow = await move(['--to-database', target, '--verify-only'])
    expect(badRow.code).toBe(1)
    expect(badRow.stderr).toMatch(new RegExp(`table articles: 3 rows in the source, 3 in the target \\(1 different; e\\.g\\. different \\["s:${ids[1]}"\\]\\)`))

    // Moving again repairs both (a run after a finished one copies every row again; the object is re-put).
    const again = await move(['--to-database', target, '--to-storage', storageUrl])
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/\(1 copied, \d+ bytes; \d+ already there\)/)
    // Progress on stderr (not a terminal here: a line per finished table and phase).
    expect(again.stderr).toMatch(/^move: rows articles 3\/3$/m)
    expect(again.stderr).toMatch(/^move: files (\d+)\/\1, [\d.]+ MB of [\d.]+ MB$/m)
    expect(again.stderr).toMatch(/^move: verifying$/m)
    expect((await bucket.getBuffer(ep)).equals(original)).toBe(true)
  })

  it('the service on PostgreSQL + S3 serves the same articles, feed, audio bytes and transcripts, and takes new articles', async () => {
    const moved = await startTestService({ dataDir: path.join(home, 'data2'), cacheDir: path.join(home, 'cache2'), 'database.url': target, 'storage.url': storageUrl })
    try {
      expect(based(moved, await (await moved.api('/api/articles')).json())).toEqual(before.list)
      for (const id of ids) {
        const a = (await (await moved.api(`/api/articles/${id}`)).json()) as Record<string, unknown>
        expect(based(moved, a)).toEqual(before.articles[id])
        const url = a.audioUrl as string
        const whole = Buffer.from(await (await fetch(url)).arrayBuffer())
        expect(whole.equals(before.audio[id]!)).toBe(true)
        const part = await fetch(url, { headers: { range: 'bytes=500-4499' } })
        expect(part.status).toBe(206)
        expect(Buffer.from(await part.arrayBuffer()).equals(before.audio[id]!.subarray(500, 4500))).toBe(true)
        const info = (await (await fetch(`${moved.url}/listen/${id}/info.json`)).json()) as { transcriptUrl: string }
        expect(await (await fetch(info.transcriptUrl)).text()).toBe(before.vtt[id])
      }
      const feed = (await (await fetch(moved.url + '/feeds/articles.xml')).text()).replaceAll(moved.url, 'BASE')
      expect(items(feed)).toEqual(items(before.feed!))
      const encl = enclosures(feed)
      expect(encl).toEqual(enclosures(before.feed!))
      expect(encl).toHaveLength(3)
      for (const e of encl) expect(Number((await fetch(e.url.replace('BASE', moved.url), { method: 'HEAD' })).headers.get('content-length'))).toBe(e.length)
      // The listens and the user came along.
      const stats = (await (await moved.api(`/api/articles/${ids[0]}/stats`)).json()) as { totals: { starts: number } }
      expect(stats.totals.starts).toBe(1)
      expect((await moved.deps.store.accounts.listUsers()).map((u) => u.username)).toContain('editor-ana')

      // New rows get new ids: the identity sequences continue after the copied ones.
      const maxEpisode = (await pgQuery<{ m: number }>('SELECT max(id)::int AS m FROM episodes'))[0]!.m
      const r = await postJson(moved, '/api/articles', { title: 'After the move', text: paragraphs(2, 'The new building opened') })
      expect(r.status).toBe(201)
      const id = ((await r.json()) as { id: string }).id
      const done = await waitForArticle(moved, id, ready)
      expect(done.status).toBe('ready')
      expect((await moved.deps.store.articles.get(id))!.episodeId).toBeGreaterThan(maxEpisode)
      await moved.deps.store.accounts.addUser('after-move', 'a long enough password', 'viewer')
    } finally {
      await moved.stop()
    }
    // Moving again now would revert what the service wrote there: refused, nothing written.
    const titles = await pgQuery<{ title: string }>('SELECT title FROM articles ORDER BY id')
    const again = await move(['--to-database', target])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/MOVE_TARGET_NOT_EMPTY: .*has rows the source does not have \(.*articles: 1.*users: 1.*\)/)
    expect(await pgQuery<{ title: string }>('SELECT title FROM articles ORDER BY id')).toEqual(titles)
  })
})
