import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { migrate, migrations, openStore, type NewArticle, type Store } from '../../src/store/index.ts'

const dirs: string[] = []
const stores: Store[] = []
function tempStore(): { store: Store; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-store-'))
  dirs.push(dir)
  const file = path.join(dir, 'db', 'briefcast.db')
  const store = openStore({ file })
  stores.push(store)
  return { store, file }
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const article = (id: string, extra: Partial<NewArticle> = {}): NewArticle => ({
  id,
  externalId: null,
  url: null,
  title: `Title ${id}`,
  author: null,
  publishedAt: null,
  language: 'en',
  voice: null,
  profileId: 'default',
  source: Buffer.from('hello'),
  sourceFormat: 'text',
  contentHash: 'h',
  script: { title: `Title ${id}`, language: 'en', sourceHash: 'h', segments: [] },
  excerpt: null,
  ...extra,
})

const episode = (articleId: string, revision: number, hash: string) => ({
  articleId,
  revision,
  hash,
  format: 'mp3' as const,
  mimeType: 'audio/mpeg',
  audioFile: `episodes/${hash}.mp3`,
  vttFile: `episodes/${hash}.vtt`,
  chaptersFile: `episodes/${hash}.chapters.json`,
  timingsFile: `episodes/${hash}.timings.json`,
  bytes: 1000,
  durationMs: 5000,
  chapters: [{ title: 'A', startMs: 0, endMs: 5000 }],
  loudness: { integratedLufs: -16, truePeakDb: -1.2 },
  stats: { segments: 3 },
})

describe('store', () => {
  it('uses WAL and applies migrations once, in order', () => {
    const { store, file } = tempStore()
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
    const applied = store.db.prepare('SELECT id FROM schema_migrations ORDER BY rowid').all() as { id: string }[]
    expect(applied.map((r) => r.id)).toEqual(migrations.map((m) => m.id))
    store.close()
    stores.pop()
    const again = openStore({ file })
    stores.push(again)
    expect(migrate(again.db)).toEqual([])
  })

  it('rejects duplicate migration ids and rolls back a failing migration', () => {
    const { store } = tempStore()
    expect(() => migrate(store.db, [...migrations, { id: 'x', up: 'CREATE TABLE t1 (a)' }, { id: 'x', up: 'SELECT 1' }])).toThrow(/Duplicate/)
    expect(() => migrate(store.db, [{ id: 'bad', up: 'CREATE TABLE t2 (a); INSERT INTO nowhere VALUES (1)' }])).toThrow()
    const t2 = store.db.prepare("SELECT name FROM sqlite_master WHERE name = 't2'").get()
    expect(t2).toBeUndefined()
  })

  it('stores, updates and lists articles', () => {
    const { store } = tempStore()
    store.articles.insert(article('a1', { externalId: 'ext-1' }))
    store.articles.insert(article('a2'))
    expect(() => store.articles.insert(article('a3', { externalId: 'ext-1' }))).toThrow(AppError)
    expect(store.articles.getByExternalId('ext-1')!.id).toBe('a1')
    const up = store.articles.update('a1', { ...article('a1'), title: 'New title' })
    expect(up.revision).toBe(2)
    expect(up.title).toBe('New title')
    expect(up.status).toBe('queued')
    expect(store.articles.getScript('a1')!.revision).toBe(2)
    expect(() => store.articles.update('zz', article('zz'))).toThrow(/No article/)
    // A write based on an older revision changes nothing.
    expect(() => store.articles.update('a1', { ...article('a1'), title: 'Stale' }, 1)).toThrow(expect.objectContaining({ code: 'PRECONDITION_FAILED' }))
    expect(store.articles.get('a1')!.title).toBe('New title')
    expect(store.articles.update('a1', { ...article('a1'), title: 'Current' }, 2).revision).toBe(3)
    const page = store.articles.list({ limit: 1, offset: 0 })
    expect(page.total).toBe(2)
    expect(page.items).toHaveLength(1)
    store.articles.setStatus('a2', 'failed', { error: { code: 'ENGINE_FAILED', message: 'boom' } })
    expect(store.articles.get('a2')!.error).toEqual({ code: 'ENGINE_FAILED', message: 'boom' })
    expect(store.articles.list({ limit: 10, offset: 0, status: 'failed' }).items.map((a) => a.id)).toEqual(['a2'])
  })

  it('publishes an episode only for the current revision; deleting an article deletes its episodes', () => {
    const { store } = tempStore()
    store.articles.insert(article('a1'))
    const e1 = store.episodes.insert(episode('a1', 1, 'hash1'))
    expect(store.articles.publishEpisode('a1', 1, e1.id)).toBe(true)
    store.articles.update('a1', article('a1'))
    const stale = store.episodes.insert(episode('a1', 1, 'hash-stale'))
    expect(store.articles.publishEpisode('a1', 1, stale.id)).toBe(false)
    expect(store.articles.get('a1')!.episodeId).toBe(e1.id)
    expect(store.episodes.findByArticleAndHash('a1', 'hash1')!.chapters[0]!.title).toBe('A')
    expect(store.episodes.countByHash('hash1')).toBe(1)
    const published = store.episodes.listPublished({ limit: 10 })
    expect(published).toHaveLength(1)
    expect(published[0]!.episode.hash).toBe('hash1')
    store.articles.delete('a1')
    expect(store.episodes.countByHash('hash1')).toBe(0)
  })

  it('jobs: claim once, retry later, requeue interrupted', () => {
    const { store } = tempStore()
    const job = store.jobs.enqueue({ kind: 'k', subjectId: 's', maxAttempts: 3 })
    expect(store.jobs.listRunnable(Date.now(), 10).map((j) => j.id)).toEqual([job.id])
    const claimed = store.jobs.claim(job.id)!
    expect(claimed.attempts).toBe(1)
    expect(store.jobs.claim(job.id)).toBeUndefined()
    store.jobs.retryLater(job.id, { code: 'X', message: 'y' }, Date.now() + 60_000)
    expect(store.jobs.listRunnable(Date.now(), 10)).toEqual([])
    expect(store.jobs.nextRunAfter()).toBeGreaterThan(Date.now())
    store.jobs.claim(job.id)
    expect(store.jobs.requeueInterrupted()).toBe(1)
    expect(store.jobs.get(job.id)!.status).toBe('queued')
    expect(store.jobs.get(job.id)!.attempts).toBe(1)
    expect(store.jobs.cancelForSubject('k', 's')).toBe(1)
    expect(store.jobs.counts().cancelled).toBe(1)
  })
})
