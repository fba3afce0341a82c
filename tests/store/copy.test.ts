/**
 * The row copy of `briefcast move` (src/store/copy.ts) on the awkward values: a TEXT value in a BLOB column,
 * bytes 0x00/0xff, a 64-bit integer past 2^53, a fraction, NULLs, non-ASCII text, a deleted AUTOINCREMENT id.
 * Real SQLite file, real PostgreSQL (a fresh schema); the service's own query layer reads the copy back the same.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyRows, openPostgresTarget, openSqliteSource, verifyRows } from '../../src/store/copy.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openStore } from '../../src/store/index.ts'
import { freshSchema, PG_URL, postgresUnavailable, urlWithSchema } from './pg.ts'

const skip = await postgresUnavailable('store copy')
const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-copy-'))
const file = path.join(dir, 'briefcast.db')
const BIG = 2n ** 62n + 1n
const NOW = '2026-12-03T10:00:00.000Z'

afterAll(() => rmSync(dir, { recursive: true, force: true }))

beforeAll(async () => {
  if (skip) return
  await (await openStore({ file })).close()
  const db = new Database(file)
  db.defaultSafeIntegers(true)
  const article = db.prepare(
    `INSERT INTO articles (id, external_id, url, url_key, title, author, published_at, published_ms, language, voice, profile_id, source, source_format,
       content_hash, script_json, excerpt, revision, status, progress, error_json, episode_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, NULL, ?, ?, 'en', NULL, 'default', ?, ?, 'h', '{"segments":[]}', NULL, 1, 'ready', ?, NULL, ?, ?, ?)`,
  )
  article.run('a-text', 'ext-1', 'https://news.example.com/a', 'news.example.com/a', 'Zürich – “quotes” 🎧', '2026-12-01T08:00:00Z', 1764576000000n, 'plain text source', 'text', 1 / 3, 2n, NOW, NOW)
  article.run('b-bytes', null, null, null, 'Bytes', null, null, Buffer.from([0, 255, 10, 0]), null, 0, null, NOW, NOW)
  const episode = db.prepare(
    `INSERT INTO episodes (article_id, revision, hash, format, mime_type, audio_file, vtt_file, chapters_file, timings_file, bytes, duration_ms, chapters_json, loudness_json, stats_json, created_at)
     VALUES (?, 1, ?, 'mp3', 'audio/mpeg', ?, 'v', 'c', 't', 1234, 5678, '[]', '{}', '{}', ?)`,
  )
  for (const h of ['h1', 'h2', 'h3']) episode.run('a-text', h, `episodes/${h}.mp3`, NOW)
  db.prepare('DELETE FROM episodes WHERE id = 3').run()
  db.prepare("INSERT INTO engine_usage (engine, month, characters, requests) VALUES ('google', '2026-12', ?, 3)").run(BIG)
  db.prepare("INSERT INTO lexicon_entries (name, match, say, case_sensitive, updated_at) VALUES ('en', 'NATO', 'nay-toe', 1, ?)").run(NOW)
  db.close()
})

describe.skipIf(skip)('copying rows SQLite -> PostgreSQL', () => {
  it('round-trips every type, verifies equal, and continues ids after the largest ever used', async () => {
    const schema = freshSchema()
    const admin = new pg.Client({ connectionString: PG_URL })
    await admin.connect()
    await admin.query(`CREATE SCHEMA ${schema}`)
    const source = openSqliteSource(file)
    const target = await openPostgresTarget(urlWithSchema(schema))
    try {
      const summary = await copyRows(source, target, { batchSize: 1, replace: false })
      expect(summary.tables.find((t) => t.table === 'articles')).toMatchObject({ rows: 2, copied: 2 })
      // Parents first: articles before episodes, sources before source_items, users before sessions.
      const order = summary.tables.map((t) => t.table)
      expect(order.indexOf('articles')).toBeLessThan(order.indexOf('episodes'))
      expect(order.indexOf('episodes')).toBeLessThan(order.indexOf('briefings'))
      expect(order.indexOf('users')).toBeLessThan(order.indexOf('sessions'))
      expect(summary.sequences).toContainEqual({ table: 'episodes', column: 'id', value: '3' })
      const checks = await verifyRows(source, target)
      for (const c of checks) expect({ table: c.table, missing: c.missing, extra: c.extra, different: c.different, same: c.sourceChecksum === c.targetChecksum }).toEqual({ table: c.table, missing: 0, extra: 0, different: 0, same: true })

      const q = async (sql: string) => (await admin.query(sql.replaceAll('$S', schema))).rows as Record<string, unknown>[]
      expect(await q("SELECT source, progress, author, published_ms::text AS ms, title FROM $S.articles WHERE id = 'a-text'")).toEqual([
        { source: Buffer.from('plain text source'), progress: 1 / 3, author: null, ms: '1764576000000', title: 'Zürich – “quotes” 🎧' },
      ])
      expect((await q("SELECT source FROM $S.articles WHERE id = 'b-bytes'"))[0]!.source).toEqual(Buffer.from([0, 255, 10, 0]))
      expect(await q('SELECT characters::text AS c FROM $S.engine_usage')).toEqual([{ c: BIG.toString() }])
      // The deleted episode 3 is never reused.
      expect(await q("SELECT nextval(pg_get_serial_sequence('$S.episodes', 'id'))::int AS n")).toEqual([{ n: 4 }])
    } finally {
      source.close()
      await target.close()
    }

    // The service's query layer reads the same records from both.
    const a = await openStore({ file })
    const b = await openStore({ url: PG_URL, schema })
    try {
      for (const id of ['a-text', 'b-bytes']) {
        expect(await b.articles.get(id)).toEqual(await a.articles.get(id))
        expect(await b.articles.getSource(id)).toEqual(await a.articles.getSource(id))
      }
      expect(await b.episodes.listForArticle('a-text')).toEqual(await a.episodes.listForArticle('a-text'))
    } finally {
      await a.close()
      await b.close()
      await admin.end()
    }
  })

  it('refuses a source whose migrations are behind this version, naming them', async () => {
    const old = path.join(dir, 'old.db')
    await (await openStore({ file: old, migrations: migrations.slice(0, 3) })).close()
    expect(() => openSqliteSource(old)).toThrow(expect.objectContaining({ code: 'MOVE_SOURCE_NOT_READY', message: expect.stringContaining(`pending migrations: ${migrations[3]!.id}`) }))
    expect(() => openSqliteSource(path.join(dir, 'none.db'))).toThrow(expect.objectContaining({ code: 'MOVE_SOURCE_NOT_READY' }))
  })
})
