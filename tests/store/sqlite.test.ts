import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { migrate, migrations, openStore, type Store } from '../../src/store/index.ts'
import { urlKey } from '../../src/sources/url-key.ts'
import { storeContract } from './contract.ts'

const dirs: string[] = []
function tempFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-store-'))
  dirs.push(dir)
  return path.join(dir, 'db', 'briefcast.db')
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const fileOf = new WeakMap<Store, string>()
storeContract('sqlite', async (same) => {
  const file = same ? fileOf.get(same)! : tempFile()
  const store = await openStore({ file })
  fileOf.set(store, file)
  return store
})

describe('SQLite store', () => {
  const open: Store[] = []
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
  })

  it('uses WAL, applies migrations once and in order, and reopens without migrating again', async () => {
    const file = tempFile()
    const store = await openStore({ file })
    open.push(store)
    expect(store.dialect).toBe('sqlite')
    expect(store.location).toBe(file)
    await store.close()
    const raw = new Database(file, { readonly: true })
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
    const applied = raw.prepare('SELECT id FROM schema_migrations ORDER BY rowid').all() as { id: string }[]
    raw.close()
    expect(applied.map((r) => r.id)).toEqual(migrations.map((m) => m.id))
    const again = await openStore({ file })
    open.push(again)
    expect(await again.migrationStatus()).toEqual({ applied: migrations.map((m) => m.id), pending: [] })
  })

  it('rejects duplicate migration ids and rolls back a failing migration', () => {
    const raw = new Database(':memory:')
    expect(() => migrate(raw, [{ id: 'x', up: 'CREATE TABLE t1 (a)' }, { id: 'x', up: 'SELECT 1' }])).toThrow(/Duplicate/)
    expect(() => migrate(raw, [{ id: 'bad', up: 'CREATE TABLE t2 (a); INSERT INTO nowhere VALUES (1)' }])).toThrow()
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 't2'").get()).toBeUndefined()
    raw.close()
  })

  it('upgrades a database whose sources-001 made url_key a generated column (earlier builds) to the same schema', async () => {
    const file = tempFile()
    const { mkdirSync } = await import('node:fs')
    mkdirSync(path.dirname(file), { recursive: true })
    const old = new Database(file)
    old.function('briefcast_url_key', { deterministic: true }, (url: unknown) => urlKey(typeof url === 'string' ? url : null))
    const previous = migrations.slice(0, migrations.findIndex((m) => m.id === 'store-001-app-keys'))
    const generated = previous.map((m) =>
      m.id === 'sources-001-sources' && typeof m.up === 'string'
        ? { ...m, up: m.up.replace('ALTER TABLE articles ADD COLUMN url_key TEXT;', 'ALTER TABLE articles ADD COLUMN url_key TEXT GENERATED ALWAYS AS (briefcast_url_key(url)) VIRTUAL;') }
        : m,
    )
    expect(generated.find((m) => m.id === 'sources-001-sources')!.up).toContain('GENERATED ALWAYS')
    migrate(old, generated)
    const t = '2026-01-01T00:00:00.000Z'
    old
      .prepare(`INSERT INTO articles (id, url, title, language, profile_id, source, content_hash, script_json, created_at, updated_at)
      VALUES ('g1', 'https://Example.com/g/?utm_source=x', 'Generated', 'en', 'default', ?, 'h', '{"title":"x","language":"en","sourceHash":"h","segments":[]}', ?, ?)`)
      .run(Buffer.from('s'), t, t)
    old.close()
    const store = await openStore({ file })
    open.push(store)
    expect((await store.migrationStatus()).pending).toEqual([])
    expect(await store.articles.idsByUrlKey('example.com/g', 5)).toEqual(['g1'])
    await store.close()
    // The same columns as a fresh install: a plain url_key, readable without the application's function.
    const check = new Database(file, { readonly: true })
    const cols = check.prepare("SELECT name, hidden FROM pragma_table_xinfo('articles') WHERE name IN ('url_key', 'published_ms') ORDER BY name").all()
    check.close()
    expect(cols).toEqual([
      { name: 'published_ms', hidden: 0 },
      { name: 'url_key', hidden: 0 },
    ])
  })

  it('upgrades a database made by the previous release without losing data', async () => {
    // The schema as the previous release left it: every migration before the store layer (url_key a plain column,
    // as main's sources-001 writes it; the generated form of earlier builds is the next test).
    const file = tempFile()
    const { mkdirSync } = await import('node:fs')
    mkdirSync(path.dirname(file), { recursive: true })
    const old = new Database(file)
    old.pragma('journal_mode = WAL')
    old.pragma('foreign_keys = ON')
    old.function('briefcast_url_key', { deterministic: true }, (url: unknown) => urlKey(typeof url === 'string' ? url : null))
    const previous = migrations.slice(0, migrations.findIndex((m) => m.id === 'store-001-app-keys'))
    expect(previous.map((m) => m.id)).toContain('sources-001-sources')
    migrate(old, previous)
    const t = '2026-01-01T00:00:00.000Z'
    const ins = old.prepare(`INSERT INTO articles (id, url, title, published_at, language, profile_id, source, content_hash, script_json, created_at, updated_at)
      VALUES (?, ?, ?, ?, 'en', 'default', ?, 'h', '{"title":"x","language":"en","sourceHash":"h","segments":[]}', ?, ?)`)
    ins.run('old1', 'https://Example.com/a/?utm_source=x', 'Old one', '2026-01-01T08:00:00Z', Buffer.from('src1'), t, t)
    ins.run('old2', null, 'Embargoed', '2999-01-01T00:00:00Z', Buffer.from('src2'), t, t)
    old.prepare(`INSERT INTO episodes (article_id, revision, hash, format, mime_type, audio_file, vtt_file, chapters_file, timings_file, bytes, duration_ms,
      chapters_json, loudness_json, stats_json, created_at) VALUES ('old1', 1, 'eh', 'mp3', 'audio/mpeg', 'a', 'v', 'c', 't', 10, 1000, '[]', '{}', '{}', ?)`).run(t)
    old.prepare(`INSERT INTO episodes (article_id, revision, hash, format, mime_type, audio_file, vtt_file, chapters_file, timings_file, bytes, duration_ms,
      chapters_json, loudness_json, stats_json, created_at) VALUES ('old2', 1, 'eh2', 'mp3', 'audio/mpeg', 'a', 'v', 'c', 't', 10, 1000, '[]', '{}', '{}', ?)`).run(t)
    old.exec("UPDATE articles SET episode_id = (SELECT id FROM episodes WHERE article_id = articles.id), status = 'ready'")
    old.prepare("INSERT INTO listen_stats (article_id, day, starts) VALUES ('old1', '2026-01-02', 7)").run()
    old.prepare("INSERT INTO jobs (kind, subject_id, status, max_attempts, run_after, created_at, updated_at) VALUES ('render', 'old1', 'running', 3, 0, ?, ?)").run(t, t)
    old.close()

    const store = await openStore({ file })
    open.push(store)
    expect((await store.migrationStatus()).pending).toEqual([])
    expect(await store.articles.get('old1')).toMatchObject({ title: 'Old one', status: 'ready', episodeId: 1 })
    expect((await store.articles.getSource('old2'))!.source.toString()).toBe('src2')
    // url_key backfilled for existing rows, and kept for new ones.
    expect(await store.articles.idsByUrlKey('example.com/a', 5)).toEqual(['old1'])
    // published_ms backfilled: the embargoed story stays out of the feed.
    expect((await store.episodes.listPublished({ limit: 10 })).map((p) => p.article.id)).toEqual(['old1'])
    expect((await store.listenStats.forArticle('old1')).totals.starts).toBe(7)
    expect(await store.jobs.requeueInterrupted()).toBe(1)
    await store.articles.insert({
      id: 'new1',
      externalId: null,
      url: 'https://example.com/b',
      title: 'New',
      author: null,
      publishedAt: null,
      language: 'en',
      voice: null,
      profileId: 'default',
      source: Buffer.from('x'),
      sourceFormat: 'text',
      contentHash: 'h',
      script: { title: 'New', language: 'en', sourceHash: 'h', segments: [] },
      excerpt: null,
    })
    expect(await store.articles.idsByUrlKey('example.com/b', 5)).toEqual(['new1'])
    // The generated column is gone: url_key is a plain column now.
    await store.close()
    const raw = new Database(file, { readonly: true })
    const col = (raw.prepare('PRAGMA table_xinfo(articles)').all() as { name: string; hidden: number }[]).find((c) => c.name === 'url_key')
    raw.close()
    expect(col!.hidden).toBe(0)
  })
})
