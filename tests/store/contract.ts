/**
 * The contract every Store implementation must meet (one suite, run by
 * tests/store/sqlite.test.ts and tests/store/postgres.test.ts), the way every
 * TTS engine runs tests/tts/contract.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import type { NewArticle, NewBriefing, Store } from '../../src/store/index.ts'

export const article = (id: string, extra: Partial<NewArticle> = {}): NewArticle => ({
  id,
  externalId: null,
  url: null,
  title: `Title ${id}`,
  author: null,
  publishedAt: null,
  language: 'en',
  voice: null,
  profileId: 'default',
  source: Buffer.from('hello \u00e9\u0000\u00ff'),
  sourceFormat: 'text',
  contentHash: 'h',
  script: { title: `Title ${id}`, language: 'en', sourceHash: 'h', segments: [] },
  excerpt: null,
  ...extra,
})

export const episode = (articleId: string | null, revision: number, hash: string) => ({
  articleId,
  revision,
  hash,
  format: 'mp3' as const,
  mimeType: 'audio/mpeg',
  audioFile: `episodes/${hash}.mp3`,
  vttFile: `episodes/${hash}.vtt`,
  chaptersFile: `episodes/${hash}.chapters.json`,
  timingsFile: `episodes/${hash}.timings.json`,
  bytes: 5_000_000_000,
  durationMs: 5000,
  chapters: [{ title: 'A', startMs: 0, endMs: 5000 }],
  loudness: { integratedLufs: -16, truePeakDb: -1.2 },
  stats: { segments: 3 },
})

const briefing = (extra: Partial<NewBriefing> = {}): NewBriefing => ({
  title: 'Morning',
  origin: 'api',
  day: null,
  language: 'en',
  profileId: 'default',
  stories: [{ articleId: 'a1', externalId: null, revision: 1, title: 'T', url: null, mode: 'full', ledeSeconds: 30 }],
  skipped: [{ articleId: 'zz', code: 'ARTICLE_NOT_FOUND', message: 'no' }],
  options: { introJingle: 'j1' },
  script: { title: 'Morning', language: 'en', sourceHash: 'b', segments: [] },
  publishedAt: '2026-01-02T08:00:00.000Z',
  ...extra,
})

/** `open()` makes a store on a new, empty database; `open(store)` opens a second store on that store's database. */
export function storeContract(name: string, open: (same?: Store) => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    const stores: Store[] = []
    const fresh = async () => {
      const s = await open()
      stores.push(s)
      return s
    }
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close()
    })

    it('applies every migration and answers ping and version', async () => {
      const store = await fresh()
      await store.ping()
      expect(await store.version()).toMatch(name === 'sqlite' ? /^SQLite 3\./ : /^PostgreSQL \d+/)
      const status = await store.migrationStatus()
      expect(status.pending).toEqual([])
      expect(status.applied).toContain('service-001-core')
      expect(status.applied).toContain('store-001-app-keys')
      expect(store.isOpen()).toBe(true)
      await store.close()
      expect(store.isOpen()).toBe(false)
      await expect(store.ping()).rejects.toThrow()
    })

    it('articles: insert, unique externalId, update with expectedRevision, status, paging, source bytes', async () => {
      const store = await fresh()
      await store.articles.insert(article('a1', { externalId: 'ext-1' }))
      await store.articles.insert(article('a2'))
      const err = await store.articles.insert(article('a3', { externalId: 'ext-1' })).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).code).toBe('CONFLICT')
      expect(await store.articles.get('a3')).toBeUndefined()
      expect((await store.articles.getByExternalId('ext-1'))!.id).toBe('a1')
      const up = await store.articles.update('a1', { ...article('a1'), title: 'New title' })
      expect(up).toMatchObject({ revision: 2, title: 'New title', status: 'queued', externalId: null })
      expect((await store.articles.getScript('a1'))!.revision).toBe(2)
      await expect(store.articles.update('zz', article('zz'))).rejects.toMatchObject({ code: 'ARTICLE_NOT_FOUND' })
      // A write based on an older revision changes nothing.
      await expect(store.articles.update('a1', { ...article('a1'), title: 'Stale' }, 1)).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', details: { revision: 2 } })
      expect((await store.articles.get('a1'))!.title).toBe('New title')
      expect((await store.articles.update('a1', { ...article('a1'), title: 'Current' }, 2)).revision).toBe(3)
      // An edit taking another article's externalId is a conflict too.
      await store.articles.update('a2', { ...article('a2'), externalId: 'ext-2' })
      await expect(store.articles.update('a1', { ...article('a1'), externalId: 'ext-2' })).rejects.toMatchObject({ code: 'CONFLICT' })
      expect((await store.articles.getSource('a1'))!.source.equals(Buffer.from('hello \u00e9\u0000\u00ff'))).toBe(true)

      await store.articles.setStatus('a2', 'failed', { error: { code: 'ENGINE_FAILED', message: 'boom' }, progress: 0.5 })
      expect(await store.articles.get('a2')).toMatchObject({ status: 'failed', progress: 0.5, error: { code: 'ENGINE_FAILED', message: 'boom' } })
      await store.articles.setStatus('a2', 'rendering')
      expect((await store.articles.get('a2'))!.error).toEqual({ code: 'ENGINE_FAILED', message: 'boom' })
      await store.articles.setStatus('a2', 'rendering', { error: null })
      expect((await store.articles.get('a2'))!.error).toBeNull()
      await store.articles.setProgress('a2', 0.25)
      expect((await store.articles.get('a2'))!.progress).toBe(0.25)

      for (let i = 0; i < 5; i++) await store.articles.insert(article(`p${i}`))
      const page1 = await store.articles.list({ limit: 3, offset: 0 })
      const page2 = await store.articles.list({ limit: 3, offset: 3 })
      const page3 = await store.articles.list({ limit: 3, offset: 6 })
      expect(page1.total).toBe(7)
      expect([...page1.items, ...page2.items, ...page3.items].map((a) => a.id).sort()).toEqual(['a1', 'a2', 'p0', 'p1', 'p2', 'p3', 'p4'])
      expect(page3.items).toHaveLength(1)
      // Newest first.
      const times = [...page1.items, ...page2.items].map((a) => a.createdAt)
      expect([...times].sort().reverse()).toEqual(times)
      await store.articles.setStatus('a2', 'failed')
      expect(await store.articles.list({ limit: 10, offset: 0, status: 'failed' })).toMatchObject({ total: 1, items: [{ id: 'a2' }] })
    })

    it('articles: found by the key of their page URL', async () => {
      const store = await fresh()
      await store.articles.insert(article('u1', { url: 'https://News.example.com/story/?utm_source=x#top' }))
      await store.articles.insert(article('u2', { url: 'https://news.example.com/other' }))
      expect(await store.articles.idsByUrlKey('news.example.com/story', 5)).toEqual(['u1'])
      await store.articles.update('u1', article('u1', { url: 'https://news.example.com/moved' }))
      expect(await store.articles.idsByUrlKey('news.example.com/story', 5)).toEqual([])
      expect(await store.articles.idsByUrlKey('news.example.com/moved', 5)).toEqual(['u1'])
    })

    it('episodes: publish only for the current revision, feed order and embargo, delete cascades', async () => {
      const store = await fresh()
      await store.articles.insert(article('a1', { publishedAt: '2026-01-01T08:00:00Z' }))
      const e1 = await store.episodes.insert(episode('a1', 1, 'hash1'))
      expect(e1).toMatchObject({ articleId: 'a1', bytes: 5_000_000_000, chapters: [{ title: 'A' }], loudness: { integratedLufs: -16 } })
      expect(typeof e1.id).toBe('number')
      expect(await store.articles.publishEpisode('a1', 1, e1.id)).toBe(true)
      await store.articles.update('a1', article('a1', { publishedAt: '2026-01-01T08:00:00Z' }))
      const stale = await store.episodes.insert(episode('a1', 1, 'hash-stale'))
      expect(await store.articles.publishEpisode('a1', 1, stale.id)).toBe(false)
      expect((await store.articles.get('a1'))!.episodeId).toBe(e1.id)
      expect((await store.episodes.findByArticleAndHash('a1', 'hash1'))!.chapters[0]!.title).toBe('A')
      expect((await store.episodes.listForArticle('a1')).map((e) => e.hash)).toEqual(['hash-stale', 'hash1'])
      expect(await store.episodes.countByHash('hash1')).toBe(1)

      // Feeds: newest publication first; an embargoed (future) article is left out; unparseable dates count as published.
      await store.articles.insert(article('a2', { publishedAt: '2026-02-01T08:00:00Z' }))
      await store.articles.publishEpisode('a2', 1, (await store.episodes.insert(episode('a2', 1, 'hash2'))).id)
      await store.articles.insert(article('future', { publishedAt: new Date(Date.now() + 86_400_000).toISOString() }))
      await store.articles.publishEpisode('future', 1, (await store.episodes.insert(episode('future', 1, 'hash3'))).id)
      await store.articles.insert(article('odd', { publishedAt: 'sometime' }))
      await store.articles.publishEpisode('odd', 1, (await store.episodes.insert(episode('odd', 1, 'hash4'))).id)
      const published = await store.episodes.listPublished({ limit: 10 })
      expect(published.map((p) => p.article.id)).toEqual(['odd', 'a2', 'a1'])
      expect(published[2]!.episode).toEqual(e1)
      expect((await store.episodes.listPublished({ limit: 1, offset: 1 })).map((p) => p.article.id)).toEqual(['a2'])

      await store.listenStats.record('a1', { event: 'start' })
      expect(await store.articles.delete('a1')).toBe(true)
      expect(await store.articles.delete('a1')).toBe(false)
      expect(await store.episodes.countByHash('hash1')).toBe(0)
      expect((await store.listenStats.forArticle('a1')).totals.starts).toBe(0)
      await store.episodes.delete(stale.id)
      expect(await store.episodes.get(stale.id)).toBeUndefined()
    })

    it('jobs: claim once, retry later, requeue interrupted, prioritize, cancel, counts', async () => {
      const store = await fresh()
      const job = await store.jobs.enqueue({ kind: 'k', subjectId: 's', payload: { revision: 2 }, maxAttempts: 3 })
      expect(job).toMatchObject({ status: 'queued', attempts: 0, payload: { revision: 2 } })
      expect((await store.jobs.listRunnable(Date.now(), 10)).map((j) => j.id)).toEqual([job.id])
      const claimed = (await store.jobs.claim(job.id))!
      expect(claimed).toMatchObject({ status: 'running', attempts: 1 })
      expect(claimed.startedAt).not.toBeNull()
      expect(await store.jobs.claim(job.id)).toBeUndefined()
      await store.jobs.setProgress(job.id, 0.5)
      expect((await store.jobs.findActive('k', 's'))!.progress).toBe(0.5)
      const later = Date.now() + 60_000
      await store.jobs.retryLater(job.id, { code: 'X', message: 'y' }, later)
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'queued', runAfter: later, error: { code: 'X' } })
      expect(await store.jobs.listRunnable(Date.now(), 10)).toEqual([])
      expect(await store.jobs.nextRunAfter()).toBe(later)
      await store.jobs.claim(job.id)
      expect(await store.jobs.requeueInterrupted()).toBe(1)
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'queued', attempts: 1 })
      expect(await store.jobs.cancelForSubject('k', 's')).toBe(1)
      expect(await store.jobs.findActive('k', 's')).toBeUndefined()

      // Prioritized jobs run first among those due, but never before their run_after.
      const t = Date.now()
      const j1 = await store.jobs.enqueue({ kind: 'k', subjectId: 'one', maxAttempts: 3, runAfter: t - 2000 })
      const j2 = await store.jobs.enqueue({ kind: 'k', subjectId: 'two', maxAttempts: 3, runAfter: t - 1000 })
      const j3 = await store.jobs.enqueue({ kind: 'k', subjectId: 'three', maxAttempts: 3, runAfter: t + 60_000 })
      expect((await store.jobs.listRunnable(t, 10)).map((j) => j.id)).toEqual([j1.id, j2.id])
      expect(await store.jobs.prioritize('k', 'two')).toBe(true)
      expect(await store.jobs.prioritize('k', 'three')).toBe(true)
      expect(await store.jobs.prioritize('k', 'nobody')).toBe(false)
      expect((await store.jobs.listRunnable(t, 10)).map((j) => j.id)).toEqual([j2.id, j1.id])
      expect((await store.jobs.listRunnable(t, 1)).map((j) => j.id)).toEqual([j2.id])
      expect(await store.jobs.nextRunAfter()).toBe(t - 2000)

      await store.jobs.claim(j1.id)
      await store.jobs.complete(j1.id)
      expect(await store.jobs.get(j1.id)).toMatchObject({ status: 'done', progress: 1, error: null })
      await store.jobs.claim(j2.id)
      await store.jobs.fail(j2.id, { code: 'ENGINE_FAILED', message: 'no' })
      expect(await store.jobs.get(j2.id)).toMatchObject({ status: 'failed', error: { code: 'ENGINE_FAILED' } })
      expect(await store.jobs.counts()).toEqual({ queued: 1, running: 0, done: 1, failed: 1, cancelled: 1 })
      expect((await store.jobs.listForSubject('k', 's')).map((j) => j.status)).toEqual(['cancelled'])
      expect(await store.jobs.listForSubject('k', 'nobody')).toEqual([])
      expect(j3.runAfter).toBe(t + 60_000)
    })

    it('jobs: of concurrent claims of one job exactly one wins', async () => {
      const store = await fresh()
      const other = await open(store)
      stores.push(other)
      for (let round = 0; round < 10; round++) {
        const job = await store.jobs.enqueue({ kind: 'race', subjectId: `s${round}`, maxAttempts: 3 })
        const results = await Promise.all([store.jobs.claim(job.id), other.jobs.claim(job.id), store.jobs.claim(job.id), other.jobs.claim(job.id)])
        expect(results.filter(Boolean)).toHaveLength(1)
        expect((await store.jobs.get(job.id))!.attempts).toBe(1)
      }
    })

    it('transactions commit together or not at all; nested calls join; the outer store is refused inside', async () => {
      const store = await fresh()
      await store.transaction(async (tx) => {
        await tx.articles.insert(article('t1'))
        await tx.transaction(async (inner) => {
          await inner.episodes.insert(episode('t1', 1, 'th'))
        })
      })
      expect(await store.articles.get('t1')).toBeDefined()
      expect(await store.episodes.countByHash('th')).toBe(1)

      const boom = await store
        .transaction(async (tx) => {
          await tx.articles.insert(article('t2'))
          await tx.jobs.enqueue({ kind: 'k', subjectId: 't2', maxAttempts: 1 })
          throw new Error('boom')
        })
        .catch((e: unknown) => e)
      expect((boom as Error).message).toBe('boom')
      expect(await store.articles.get('t2')).toBeUndefined()
      expect(await store.jobs.findActive('k', 't2')).toBeUndefined()

      await expect(store.transaction(async () => store.articles.get('t1'))).rejects.toThrow(/use the transaction's repositories/)
      // Work a transaction schedules but does not wait for runs once it has committed.
      let seen: Promise<unknown> | undefined
      await store.transaction(async (tx) => {
        await tx.articles.insert(article('t3'))
        seen = new Promise((resolve) => setImmediate(resolve)).then(() => store.articles.get('t3'))
        await new Promise((resolve) => setTimeout(resolve, 50))
      })
      expect(await seen).toMatchObject({ id: 't3' })
      // Work scheduled by a transaction runs after it, outside it, with the store.
      let later: Promise<unknown> | undefined
      await store.transaction(async (tx) => {
        await tx.articles.get('t1')
        later = new Promise((resolve) => setTimeout(resolve, 5)).then(() => store.articles.get('t1'))
      })
      expect(await later).toBeDefined()
    })

    it('assets', async () => {
      const store = await fresh()
      const a = { id: 'j1', kind: 'jingle' as const, file: 'assets/j1.mp3', originalName: 'intro.mp3', mimeType: 'audio/mpeg', bytes: 10, durationMs: 1500, width: null, height: null, createdAt: '2026-01-01T00:00:00.000Z' }
      expect(await store.assets.insert(a)).toEqual(a)
      await store.assets.insert({ ...a, id: 'c1', kind: 'cover', file: 'assets/c1.png', mimeType: 'image/png', durationMs: null, width: 1400, height: 1400, createdAt: '2026-01-02T00:00:00.000Z' })
      expect((await store.assets.list()).map((x) => x.id)).toEqual(['c1', 'j1'])
      expect((await store.assets.list('jingle')).map((x) => x.id)).toEqual(['j1'])
      expect((await store.assets.get('c1'))!.width).toBe(1400)
      expect(await store.assets.delete('c1')).toBe(true)
      expect(await store.assets.delete('c1')).toBe(false)
    })

    it('briefings: insert, one scheduled per day, status, publish, feed ids, delete', async () => {
      const store = await fresh()
      const b = await store.briefings.insert(briefing())
      expect(b).toMatchObject({ title: 'Morning', status: 'queued', progress: 0, options: { introJingle: 'j1' }, skipped: [{ code: 'ARTICLE_NOT_FOUND' }], episodeId: null })
      expect(b.id).toMatch(/^[A-Za-z0-9_-]{12}$/)
      expect((await store.briefings.getScript(b.id))!.title).toBe('Morning')
      const s1 = await store.briefings.insert(briefing({ origin: 'schedule', day: '2026-01-03', publishedAt: '2026-01-03T06:00:00.000Z' }))
      await expect(store.briefings.insert(briefing({ origin: 'schedule', day: '2026-01-03' }))).rejects.toThrow()
      expect((await store.briefings.getScheduled('2026-01-03'))!.id).toBe(s1.id)
      expect(await store.briefings.getScheduled('2026-01-04')).toBeUndefined()
      expect(await store.briefings.list({ limit: 1, offset: 0 })).toMatchObject({ total: 2, items: [{ id: s1.id }] })

      await store.briefings.setStatus(b.id, 'failed', { error: { code: 'ENGINE_FAILED', message: 'x' }, progress: 0.3 })
      expect(await store.briefings.get(b.id)).toMatchObject({ status: 'failed', progress: 0.3, error: { code: 'ENGINE_FAILED' } })
      await store.briefings.setProgress(b.id, 0.6)
      expect((await store.briefings.get(b.id))!.progress).toBe(0.6)
      expect(await store.briefings.listPublishedIds(10)).toEqual([])
      const ep = await store.episodes.insert(episode(null, 1, 'bh'))
      await store.briefings.publishEpisode(b.id, ep.id)
      expect(await store.briefings.get(b.id)).toMatchObject({ status: 'ready', progress: 1, error: null, episodeId: ep.id })
      expect(await store.briefings.listPublishedIds(10)).toEqual([b.id])
      expect(await store.briefings.latestChange()).toBe((await store.briefings.get(b.id))!.updatedAt)
      // Deleting the episode unlinks it (ON DELETE SET NULL).
      await store.episodes.delete(ep.id)
      expect((await store.briefings.get(b.id))!.episodeId).toBeNull()
      expect(await store.briefings.delete(b.id)).toBe(true)
      expect(await store.briefings.get(b.id)).toBeUndefined()
    })

    it('listen stats: counters per day, totals for many articles', async () => {
      const store = await fresh()
      await store.articles.insert(article('l1'))
      await store.articles.insert(article('l2'))
      const yesterday = new Date(Date.now() - 86_400_000)
      await store.listenStats.record('l1', { event: 'start' }, yesterday)
      await store.listenStats.record('l1', { event: 'start' })
      await store.listenStats.record('l1', { event: 'start' })
      await store.listenStats.record('l1', { event: 'progress', percent: 25 })
      await store.listenStats.record('l1', { event: 'progress', percent: 100 })
      await store.listenStats.record('l2', { event: 'start' })
      const s = await store.listenStats.forArticle('l1')
      expect(s.totals).toEqual({ starts: 3, p25: 1, p50: 0, p75: 0, p100: 1, completionRate: 1 / 3 })
      expect(s.days.map((d) => d.starts)).toEqual([2, 1])
      expect(s.days[0]!.day).toBe(new Date().toISOString().slice(0, 10))
      const none = await store.listenStats.forArticle('nobody')
      expect(none.totals).toEqual({ starts: 0, p25: 0, p50: 0, p75: 0, p100: 0, completionRate: null })
      const totals = await store.listenStats.totalsFor(['l1', 'l2', 'nobody'])
      expect(totals.get('l1')).toEqual({ starts: 3, p25: 1, p50: 0, p75: 0, p100: 1 })
      expect(totals.get('l2')!.starts).toBe(1)
      expect(totals.has('nobody')).toBe(false)
    })

    it('engine usage: characters and requests per engine and month', async () => {
      const store = await fresh()
      await store.usage.add('google', 1200, new Date('2026-03-05T00:00:00Z'))
      await store.usage.add('google', 300.4, new Date('2026-03-20T00:00:00Z'))
      await store.usage.add('openai', 50, new Date('2026-03-20T00:00:00Z'))
      await store.usage.add('google', 10, new Date('2026-04-01T00:00:00Z'))
      await store.usage.add('google', 0)
      await store.usage.add('google', Number.NaN)
      expect(await store.usage.list('2026-03')).toEqual([
        { engine: 'google', month: '2026-03', characters: 1500, requests: 2 },
        { engine: 'openai', month: '2026-03', characters: 50, requests: 1 },
      ])
      expect((await store.usage.list('all')).map((r) => `${r.month} ${r.engine}`)).toEqual(['2026-04 google', '2026-03 google', '2026-03 openai'])
      expect(await store.usage.list()).toEqual([])
    })

    it('sources: settings, polls, documents, items, deliveries, story mode', async () => {
      const store = await fresh()
      const src = { id: 'site', kind: 'feed' as const, url: 'https://example.com/feed', origin: 'api' as const, options: { storyMode: 'lede' as const }, intervalSeconds: 300, enabled: true, secretSealed: null }
      expect(await store.sources.insert(src)).toMatchObject({ id: 'site', enabled: true, nextPollAt: 0, polls: 0, options: { storyMode: 'lede' } })
      await expect(store.sources.insert(src)).rejects.toMatchObject({ code: 'CONFLICT' })
      await store.sources.insert({ ...src, id: 'hook', kind: 'webhook', url: null })
      expect((await store.sources.list()).map((s) => s.id)).toEqual(['hook', 'site'])
      expect((await store.sources.due(Date.now())).map((s) => s.id)).toEqual(['site'])

      const next = Date.now() + 300_000
      await store.sources.recordPoll('site', { ok: true, notModified: false, bytes: 1000, seen: 3, ingested: 2, nextPollAt: next })
      await store.sources.recordPoll('site', { ok: false, error: { code: 'FETCH_FAILED', message: 'x' }, bytes: 10, nextPollAt: next + 1 })
      expect(await store.sources.get('site')).toMatchObject({ polls: 2, bytesFetched: 1010, itemsSeen: 3, itemsIngested: 2, failures: 1, nextPollAt: next + 1, lastError: { code: 'FETCH_FAILED' } })
      await store.sources.countIngested('site', 3)
      expect((await store.sources.get('site'))!.itemsIngested).toBe(5)
      expect(await store.sources.nextDue()).toBe(next + 1)
      expect(await store.sources.due(Date.now())).toEqual([])

      await store.sources.setValidators('site', 'https://example.com/feed', { etag: '"a"', lastModified: null })
      await store.sources.setValidators('site', 'https://example.com/feed', { etag: '"b"', lastModified: 'Tue, 01 Jan 2026 00:00:00 GMT' })
      await store.sources.setValidators('site', 'https://example.com/s1.xml', { etag: null, lastModified: null })
      await store.sources.setValidators('site', 'https://example.com/s2.xml', { etag: null, lastModified: null })
      expect(await store.sources.validators('site', 'https://example.com/feed')).toEqual({ etag: '"b"', lastModified: 'Tue, 01 Jan 2026 00:00:00 GMT' })
      expect(await store.sources.childDocuments('site', 'https://example.com/feed')).toEqual(['https://example.com/s1.xml', 'https://example.com/s2.xml'])
      await store.sources.pruneChildDocuments('site', 'https://example.com/feed', ['https://example.com/s2.xml'])
      expect(await store.sources.childDocuments('site', 'https://example.com/feed')).toEqual(['https://example.com/s2.xml'])

      // A changed URL starts the polling state afresh (documents forgotten, polled at once); same URL keeps it.
      await store.sources.update('site', { ...src, intervalSeconds: 600 })
      expect(await store.sources.get('site')).toMatchObject({ intervalSeconds: 600, failures: 1, nextPollAt: next + 1 })
      await store.sources.update('site', { ...src, url: 'https://example.com/other' })
      expect(await store.sources.get('site')).toMatchObject({ failures: 0, nextPollAt: 0 })
      expect(await store.sources.validators('site', 'https://example.com/feed')).toBeUndefined()
      await expect(store.sources.update('nope', src)).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' })

      await store.articles.insert(article('s-a1'))
      await store.sources.saveItem({ sourceId: 'site', itemKey: 'k1', externalId: 'x1', articleId: 's-a1', fingerprint: 'f1', publishedAt: null, state: 'live', error: null })
      await store.sources.saveItem({ sourceId: 'site', itemKey: 'k2', externalId: 'x2', articleId: null, fingerprint: 'f2', publishedAt: null, state: 'failed', error: { code: 'X', message: 'y' } })
      await store.sources.saveItem({ sourceId: 'site', itemKey: 'k2', externalId: 'x2', articleId: null, fingerprint: 'f3', publishedAt: null, state: 'skipped', error: null })
      expect(await store.sources.item('site', 'k2')).toMatchObject({ fingerprint: 'f3', state: 'skipped', error: null })
      expect((await store.sources.itemByExternalId('site', 'x1'))!.itemKey).toBe('k1')
      expect((await store.sources.liveItems('site')).map((i) => i.itemKey)).toEqual(['k1'])
      await store.sources.touchItem('site', 'k1')
      expect((await store.sources.items('site')).map((i) => i.itemKey)).toEqual(['k1', 'k2'])
      expect(await store.sources.items('site', 1)).toHaveLength(1)
      expect(await store.sources.storyModeFor('s-a1')).toBe('lede')
      expect(await store.sources.storyModeFor('other')).toBeUndefined()
      // Deleting the article leaves a tombstone.
      await store.articles.delete('s-a1')
      expect((await store.sources.item('site', 'k1'))!.articleId).toBeNull()

      await store.sources.recordDelivery('hook', 'd1', 202, { ok: true }, 60_000)
      await store.sources.recordDelivery('hook', 'd1', 200, { again: true }, 60_000)
      expect(await store.sources.delivery('hook', 'd1')).toEqual({ status: 200, body: { again: true } })
      expect(await store.sources.delivery('hook', 'd2')).toBeUndefined()
      // Old deliveries are forgotten.
      await store.sources.recordDelivery('hook', 'd2', 202, {}, -1)
      expect(await store.sources.delivery('hook', 'd1')).toBeUndefined()

      expect(await store.sources.delete('site')).toBe(true)
      expect(await store.sources.item('site', 'k2')).toBeUndefined()
      expect(await store.sources.delete('site')).toBe(false)
    })
    it('accounts: add user, unique username case-insensitively, roles, last admin, password change ends sessions', async () => {
      const store = await fresh()
      const a = store.accounts
      expect(await a.countUsers()).toBe(0)
      const anna = await a.addUser('Anna', 'a long enough secret', 'admin')
      expect(anna).toMatchObject({ username: 'Anna', role: 'admin', lastLoginAt: null })
      expect(typeof anna.id).toBe('number')
      await expect(a.addUser('anna', 'another long secret', 'editor')).rejects.toMatchObject({ code: 'CONFLICT' })
      await expect(a.addUser('ANNA', 'another long secret', 'editor')).rejects.toMatchObject({ code: 'CONFLICT' })
      await expect(a.addUser('x', 'a long enough secret', 'editor')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
      await expect(a.addUser('ben', 'short', 'editor')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
      await a.addUser('ben', 'bens long secret', 'editor')
      expect(await a.countUsers()).toBe(2)
      expect((await a.getUser('ANNA'))!.username).toBe('Anna')
      expect(await a.getUser('nobody')).toBeUndefined()
      expect((await a.listUsers()).map((u) => u.username)).toEqual(['Anna', 'ben'])
      // Sign-in: the right password (any case of the name), last login recorded; a wrong one or an unknown user is nothing.
      const signed = await a.verifyLogin('anna', 'a long enough secret')
      expect(signed).toMatchObject({ username: 'Anna' })
      expect(signed!.lastLoginAt).not.toBeNull()
      expect(await a.verifyLogin('anna', 'wrong password!')).toBeUndefined()
      expect(await a.verifyLogin('nobody', 'a long enough secret')).toBeUndefined()
      // The last admin can be neither demoted nor removed.
      await expect(a.setRole('anna', 'editor')).rejects.toMatchObject({ code: 'CONFLICT' })
      await expect(a.removeUser('Anna')).rejects.toMatchObject({ code: 'CONFLICT' })
      expect(await a.setRole('ben', 'admin')).toMatchObject({ username: 'ben', role: 'admin' })
      expect(await a.setRole('anna', 'viewer')).toMatchObject({ role: 'viewer' })
      await expect(a.setRole('nobody', 'viewer')).rejects.toMatchObject({ code: 'NOT_FOUND' })
      // Sessions: found by token, gone when ended, when expired, and when the password changes.
      const s1 = await a.createSession(anna.id, 60_000)
      expect(s1.token).not.toBe(s1.csrfToken)
      expect(await a.session(s1.token)).toMatchObject({ user: { username: 'Anna', role: 'viewer' }, csrfToken: s1.csrfToken, expiresAt: s1.expiresAt })
      expect(await a.session('not-a-token')).toBeUndefined()
      const expired = await a.createSession(anna.id, -1)
      expect(await a.session(expired.token)).toBeUndefined()
      await a.endSession(s1.token)
      expect(await a.session(s1.token)).toBeUndefined()
      const s2 = await a.createSession(anna.id, 60_000)
      await a.setPassword('anna', 'a new long secret')
      expect(await a.session(s2.token)).toBeUndefined()
      expect(await a.verifyLogin('anna', 'a new long secret')).toBeDefined()
      // Removing a user removes their sessions.
      const s3 = await a.createSession(anna.id, 60_000)
      await a.removeUser('anna')
      expect(await a.session(s3.token)).toBeUndefined()
      expect(await a.countUsers()).toBe(1)
    })

    it('accounts: API keys found by hash, revoked, last use recorded', async () => {
      const store = await fresh()
      const a = store.accounts
      const { key, record } = await a.createKey('  CMS  ', 'editor', 'anna')
      expect(key).toMatch(/^bc_[A-Za-z0-9_-]{43}$/)
      expect(record).toMatchObject({ name: 'CMS', role: 'editor', createdBy: 'anna', prefix: key.slice(0, 8), lastUsedAt: null, revokedAt: null })
      await expect(a.createKey('   ', 'editor', null)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
      const used = await a.useKey(key)
      expect(used).toMatchObject({ id: record.id, role: 'editor' })
      expect(used!.lastUsedAt).not.toBeNull()
      expect((await a.listKeys())[0]!.lastUsedAt).toBe(used!.lastUsedAt)
      expect(await a.useKey(key + 'x')).toBeUndefined()
      const other = await a.createKey('Build', 'viewer', null)
      const revoked = await a.revokeKey(record.id)
      expect(revoked.revokedAt).not.toBeNull()
      expect((await a.revokeKey(record.id)).revokedAt).toBe(revoked.revokedAt)
      await expect(a.revokeKey('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' })
      expect(await a.useKey(key)).toBeUndefined()
      expect(await a.useKey(other.key)).toMatchObject({ name: 'Build' })
      // Live keys first, then revoked ones.
      expect((await a.listKeys()).map((k) => k.name)).toEqual(['Build', 'CMS'])
    })

    it('lexicons: replace returns before and after, names, entries sorted, one entry per word', async () => {
      const store = await fresh()
      const l = store.lexicons
      expect(await l.names()).toEqual([])
      expect((await l.get('en')).entries).toEqual([])
      const first = await l.replace('en', 'en', [
        { match: 'Zorblax', say: 'zor blacks' },
        { match: 'api', say: 'A P I', caseSensitive: true },
      ])
      expect(first.before.entries).toEqual([])
      expect(first.after.entries).toEqual([
        { match: 'api', say: 'A P I', caseSensitive: true },
        { match: 'Zorblax', say: 'zor blacks' },
      ])
      await expect(l.replace('en', 'en', [{ match: 'a', say: 'b' }, { match: 'a', say: 'c' }])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
      const second = await l.replace('en', 'en', [{ match: 'Zorblax', say: 'zorb lax' }])
      expect(second.before.entries).toHaveLength(2)
      expect(second.after.entries).toEqual([{ match: 'Zorblax', say: 'zorb lax' }])
      await l.replace('de', 'de', [])
      expect(await l.names()).toEqual(['de', 'en'])
      expect((await l.get('de')).entries).toEqual([])
    })

    it('downloads: once per client per day after the threshold, probes and bots not; figures count them', async () => {
      const store = await fresh()
      await store.articles.insert(article('d1', { title: '=HYPERLINK("x")' }))
      const req = { articleId: 'd1', method: 'GET', userAgent: 'Overcast/3.0', range: undefined, address: '10.0.0.1', bytes: 600, threshold: 1000 }
      const at = new Date('2026-03-01T10:00:00Z')
      expect(await store.downloads.record(req, at)).toBe(false) // 600 of 1000 bytes
      expect(await store.downloads.record(req, at)).toBe(true) // 1200: counted
      expect(await store.downloads.record(req, at)).toBe(false) // the same client again today
      expect(await store.downloads.record({ ...req, method: 'HEAD', address: '10.0.0.2', bytes: 5000 }, at)).toBe(false)
      expect(await store.downloads.record({ ...req, range: 'bytes=0-1', address: '10.0.0.2', bytes: 5000 }, at)).toBe(false)
      expect(await store.downloads.record({ ...req, userAgent: 'Googlebot/2.1', address: '10.0.0.2', bytes: 5000 }, at)).toBe(false)
      expect(await store.downloads.record({ ...req, address: '10.0.0.3', bytes: 5000 }, at)).toBe(true)
      expect(await store.downloads.record({ ...req, articleId: 'nope', address: '10.0.0.4', bytes: 5000 }, at)).toBe(false)
      // The next day the first client counts again.
      const next = new Date('2026-03-02T10:00:00Z')
      expect(await store.downloads.record({ ...req, bytes: 5000 }, next)).toBe(true)
      await store.listenStats.record('d1', { event: 'start' }, next)
      await store.listenStats.record('d1', { event: 'progress', percent: 100 }, next)
      const f = await store.figures.get({ days: 3, now: next })
      expect(f.days.map((d) => [d.day, d.downloads, d.starts])).toEqual([
        ['2026-02-28', 0, 0],
        ['2026-03-01', 2, 0],
        ['2026-03-02', 1, 1],
      ])
      expect(f.totals).toMatchObject({ downloads: 3, starts: 1, p100: 1 })
      expect(f.articles).toEqual([{ id: 'd1', title: '=HYPERLINK("x")', durationMs: null, starts: 1, p25: 0, p50: 0, p75: 0, p100: 1, downloads: 3 }])
      expect((await store.figures.get({ days: 3, now: next, articleId: 'other' })).totals.downloads).toBe(0)
      const rows = await store.figures.daily({ days: 3, now: next })
      expect(rows.map((r) => [r.day, r.id, r.downloads, r.starts])).toEqual([
        ['2026-03-01', 'd1', 2, 0],
        ['2026-03-02', 'd1', 1, 1],
      ])
      // Deleting the article deletes its counts.
      await store.articles.delete('d1')
      expect((await store.figures.get({ days: 3, now: next })).totals.downloads).toBe(0)
    })

    it('articles: search by title, external id or author (case-insensitive, LIKE characters literal) or exact id', async () => {
      const store = await fresh()
      await store.articles.insert(article('s1', { title: 'Council Budget 2026', author: 'Ann Lee' }))
      await store.articles.insert(article('s2', { title: '100% renewable_power', externalId: 'CMS-42' }))
      await store.articles.insert(article('s3', { title: 'Weather' }))
      const ids = async (search: string) => (await store.articles.list({ limit: 10, offset: 0, search })).items.map((a) => a.id).sort()
      expect(await ids('budget')).toEqual(['s1'])
      expect(await ids('ann lee')).toEqual(['s1'])
      expect(await ids('cms-4')).toEqual(['s2'])
      expect(await ids('0% r')).toEqual(['s2'])
      expect(await ids('%')).toEqual(['s2'])
      expect(await ids('_')).toEqual(['s2'])
      expect(await ids('s3')).toEqual(['s3'])
      expect(await ids('nothing')).toEqual([])
      const page = await store.articles.list({ limit: 1, offset: 0, search: 'e' })
      expect(page.total).toBe(3)
      expect(page.items).toHaveLength(1)
    })
    it('run-time settings: saved as JSON, upserted and reset in one transaction', async () => {
      const store = await fresh()
      expect(await store.settings.all()).toEqual([])
      await store.settings.save({ 'show.title': 'Morning News', 'feed.itemLimit': 50 }, [], 'session:anna')
      await store.settings.save({ 'show.title': 'Evening News' }, ['feed.itemLimit', 'not.stored'], 'key:CMS')
      const all = await store.settings.all()
      expect(all).toEqual([{ key: 'show.title', value: 'Evening News', updatedAt: expect.any(String), updatedBy: 'key:CMS' }])
    })
  })
}
