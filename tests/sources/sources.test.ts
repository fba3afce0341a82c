/**
 * Sources end to end: the real service on port 0 polls feeds served by a test
 * site on 127.0.0.1 (allowlisted) through the SSRF-safe fetcher: RSS, Atom,
 * JSON Feed and a sitemap index with news sitemaps; new, updated, unchanged
 * and removed items over several polls; 304s; rules; and sources that break.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestService, postJson, type TestService } from '../http/helpers.ts'
import { atom, jsonFeed, newsSitemap, pageHtml, rss, sitemapIndex, startSite, story, type Site, type Story } from './site.ts'

let svc: TestService
let site: Site

beforeAll(async () => {
  site = await startSite()
  svc = await startTestService({ 'fetch.allowlist': ['127.0.0.1'], 'fetch.timeoutMs': 1500 })
}, 60_000)
afterAll(async () => {
  await svc?.stop()
  await site?.close()
})

type PollJson = { result: { notModified: boolean; created: number; updated: number; unchanged: number; removed: number; skipped: number; seen: number; failed: unknown[]; error?: { code: string } }; source: SourceJson }
type SourceJson = { id: string; status: { polls: number; notModified: number; itemsSeen: number; itemsIngested: number; failures: number; lastError: { code: string } | null; lastSuccessAt: string | null; nextPollAt: string } }
type ArticleJson = { id: string; externalId: string; url: string; title: string; revision: number; excerpt: string | null }

async function addSource(body: Record<string, unknown>): Promise<void> {
  const r = await postJson(svc, '/api/sources', { intervalSeconds: 3600, ...body })
  expect(r.status, await r.clone().text()).toBe(201)
}
async function poll(id: string): Promise<PollJson> {
  const r = await svc.api(`/api/sources/${id}/poll`, { method: 'POST' })
  expect(r.status).toBe(200)
  return (await r.json()) as PollJson
}
async function article(externalId: string): Promise<ArticleJson | undefined> {
  const r = await svc.api(`/api/articles/${encodeURIComponent(externalId)}`)
  return r.status === 200 ? ((await r.json()) as ArticleJson) : undefined
}
function publishPages(stories: Story[]): void {
  for (const s of stories) site.docs.set(`/news/${s.id}`, { body: pageHtml(s, site.url), type: 'text/html; charset=utf-8' })
}

describe('RSS source over several polls', () => {
  const s1 = story('s1', 'Bridge repairs begin', '2026-11-30T08:00:00Z')
  const s2 = story('s2', 'Library opens late', '2026-11-30T09:00:00Z', { category: 'Local' })
  const s3 = story('s3', 'Council debates bus lanes', '2026-11-30T10:00:00Z', { teaser: true })
  const setFeed = (stories: Story[]) => site.docs.set('/rss.xml', { body: rss(site.url, stories), type: 'application/rss+xml' })

  it('ingests new items, full text from the item or from the linked page', async () => {
    publishPages([s1, s2, s3])
    setFeed([s3, s2, s1])
    await addSource({ id: 'rss', url: `${site.url}/rss.xml` })
    const { result } = await poll('rss')
    expect(result).toMatchObject({ notModified: false, created: 3, updated: 0, seen: 3, failed: [] })
    const a3 = (await article('s3'))!
    expect(a3.url).toBe(`${site.url}/news/s3`)
    expect(a3.title).toBe('Council debates bus lanes')
    // The feed only had a teaser: the text came from the page (its paragraphs, not the navigation).
    const src = await svc.api(`/api/articles/${a3.id}`)
    expect(((await src.json()) as { excerpt: string }).excerpt).toContain('paragraph 1')
    expect(site.hits.get('/news/s3')?.total).toBe(1)
    expect(site.hits.get('/news/s1')).toBeUndefined() // whole story in content:encoded: no page fetch
  })

  it('answers an unchanged feed with one conditional GET and no render, 100 times over', async () => {
    const before = (await article('s1'))!
    const jobsBefore = (await (await svc.api('/readyz')).text()).length // the service answers between polls
    expect(jobsBefore).toBeGreaterThan(0)
    const hits0 = { ...site.hits.get('/rss.xml')! }
    const t0 = performance.now()
    for (let i = 0; i < 100; i++) {
      const { result } = await poll('rss')
      expect(result.notModified).toBe(true)
      expect(result.created + result.updated).toBe(0)
    }
    const ms = performance.now() - t0
    const hits = site.hits.get('/rss.xml')!
    expect(hits.total - hits0.total).toBe(100)
    expect(hits.notModified - hits0.notModified).toBe(100)
    expect((await article('s1'))!.revision).toBe(before.revision)
    const src = (await (await svc.api('/api/sources/rss')).json()) as SourceJson
    expect(src.status.notModified).toBeGreaterThanOrEqual(100)
    console.log(`poll cost: 100 unchanged polls of one RSS source: ${hits.total - hits0.total} requests, all 304, ${(ms / 100).toFixed(1)} ms per poll (admin call included)`)
  })

  it('re-renders an updated item only, and leaves unchanged ones alone', async () => {
    const r2 = (await article('s2'))!.revision
    const r1 = (await article('s1'))!.revision
    s2.body += '\n\nUpdate: the library will also open on Sundays.'
    setFeed([s3, s2, s1])
    const { result } = await poll('rss')
    expect(result).toMatchObject({ notModified: false, updated: 1, unchanged: 2, created: 0 })
    expect((await article('s2'))!.revision).toBe(r2 + 1)
    expect((await article('s1'))!.revision).toBe(r1)
  })

  it('deletes an item taken down from the feed, keeps one that aged out, and never resurrects a deleted story', async () => {
    const s4 = story('s4', 'New park announced', '2026-11-30T11:00:00Z')
    setFeed([s4, s3, s1]) // s2 vanished between s3 and s1: taken down
    let { result } = await poll('rss')
    expect(result).toMatchObject({ created: 1, removed: 1 })
    expect(await article('s2')).toBeUndefined()
    setFeed([s4, s3]) // s1 is older than everything left: it only fell off the end
    ;({ result } = await poll('rss'))
    expect(result.removed).toBe(0)
    expect(await article('s1')).toBeDefined()
    // Deleted in briefcast while the feed still carries it: the next polls do not bring it back.
    const a3 = (await article('s3'))!
    expect((await svc.api(`/api/articles/${a3.id}`, { method: 'DELETE' })).status).toBe(204)
    const s5 = story('s5', 'Market day moves', '2026-11-30T12:00:00Z')
    setFeed([s5, s4, s3])
    ;({ result } = await poll('rss'))
    expect(result.created).toBe(1)
    expect(await article('s3')).toBeUndefined()
    setFeed([s5, s4, s3, s2]) // s2 reappears in the feed: still not resurrected
    ;({ result } = await poll('rss'))
    expect(await article('s2')).toBeUndefined()
    expect(await article('s3')).toBeUndefined()
  })
})

describe('other formats and rules', () => {
  const a = story('a1', 'Atom story one', '2026-11-29T08:00:00Z', { category: 'Sport' })
  const b = story('a2', 'Atom story two', '2026-11-29T09:00:00Z', { category: 'Politics' })

  it('reads Atom, with an include rule by category', async () => {
    site.docs.set('/atom.xml', { body: atom(site.url, [b, a]), type: 'application/atom+xml' })
    await addSource({ id: 'atom', url: `${site.url}/atom.xml`, include: { categories: ['politics'] } })
    const { result } = await poll('atom')
    expect(result).toMatchObject({ seen: 2, created: 1, skipped: 1 })
    // Atom ids are URLs: the externalId is a stable hash of the id, the page URL stays the article's url.
    const list = (await (await svc.api('/api/articles?limit=100')).json()) as { items: ArticleJson[] }
    const got = list.items.find((x) => x.title === 'Atom story two')!
    expect(got.externalId).toMatch(/^h-[0-9a-f]{24}$/)
    expect(got.url).toBe(`${site.url}/news/a2`)
    expect(list.items.some((x) => x.title === 'Atom story one')).toBe(false)
  })

  it('reads JSON Feed, with an exclude rule by path', async () => {
    const j1 = { ...story('j1', 'JSON story one', '2026-11-28T08:00:00Z'), id: 'j1' }
    const j2 = { ...story('sport-j2', 'JSON story two', '2026-11-28T09:00:00Z'), id: 'sport-j2' }
    site.docs.set('/feed.json', { body: jsonFeed(site.url, [j2, j1]), type: 'application/feed+json' })
    await addSource({ id: 'json', url: `${site.url}/feed.json`, exclude: { paths: ['/news/sport-*'] } })
    const { result } = await poll('json')
    expect(result).toMatchObject({ seen: 2, created: 1, skipped: 1 })
    expect(await article('json-j1')).toBeDefined()
    expect(await article('json-sport-j2')).toBeUndefined()
  })

  it('reads a sitemap index with news sitemaps, fetching each page, and re-reads only the sitemaps that changed', async () => {
    const m1 = story('m1', 'Harbour reopens', '2026-11-27T08:00:00Z')
    const m2 = story('m2', 'School wins prize', '2026-11-27T09:00:00Z')
    const m3 = story('m3', 'Rail line delayed', '2026-11-27T10:00:00Z')
    publishPages([m1, m2, m3])
    site.docs.set('/sitemap-index.xml', { body: sitemapIndex(site.url, ['/news-1.xml', '/news-2.xml']), type: 'application/xml' })
    site.docs.set('/news-1.xml', { body: newsSitemap(site.url, [m1, m2]), type: 'application/xml' })
    site.docs.set('/news-2.xml', { body: newsSitemap(site.url, []), type: 'application/xml' })
    await addSource({ id: 'sitemap', url: `${site.url}/sitemap-index.xml` })
    let { result } = await poll('sitemap')
    expect(result).toMatchObject({ created: 2, seen: 2 })
    site.docs.set('/news-2.xml', { body: newsSitemap(site.url, [m3]), type: 'application/xml' })
    const before = { i: site.hits.get('/sitemap-index.xml')!.notModified, n1: site.hits.get('/news-1.xml')!.notModified }
    ;({ result } = await poll('sitemap'))
    // The index did not change (304): its sitemaps are still asked, each conditionally; only the changed one is read.
    expect(site.hits.get('/sitemap-index.xml')!.notModified).toBe(before.i + 1)
    expect(site.hits.get('/news-1.xml')!.notModified).toBe(before.n1 + 1)
    expect(result).toMatchObject({ notModified: false, created: 1, seen: 1 })
    expect(site.hits.get('/news/m3')?.total).toBe(1)
    ;({ result } = await poll('sitemap'))
    expect(result).toMatchObject({ notModified: true, created: 0 })
  })

  it('records an error for each broken source and keeps serving the others', async () => {
    const broken = {
      malformed: 'MALFORMED_SOURCE',
      e500: 'FETCH_FAILED',
      huge: 'INPUT_TOO_LARGE',
      slow: 'FETCH_FAILED',
      loop: 'FETCH_FAILED',
    } as const
    site.docs.set('/broken/malformed.xml', { body: '<rss><channel><item><title>x</title></chan', type: 'application/rss+xml' })
    const urls = { malformed: '/broken/malformed.xml', e500: '/broken/500.xml', huge: '/broken/huge.xml', slow: '/broken/slow.xml', loop: '/broken/loop.xml' }
    await Promise.all(Object.entries(urls).map(([id, p]) => addSource({ id, url: `${site.url}${p}`, intervalSeconds: 60 })))
    const results = await Promise.all(Object.keys(urls).map((id) => poll(id)))
    for (const [i, id] of Object.keys(urls).entries()) {
      expect(results[i]!.result.error?.code, id).toBe(broken[id as keyof typeof broken])
      const s = results[i]!.source
      // The scheduler may have polled it too (a new source is due at once): at least this failure.
      expect(s.status.failures, id).toBeGreaterThanOrEqual(1)
      expect(s.status.lastError?.code, id).toBe(broken[id as keyof typeof broken])
      // Backed off: the next poll is later than the interval alone.
      expect(Date.parse(s.status.nextPollAt) - Date.now(), id).toBeGreaterThan(100_000)
    }
    // The others are unharmed and the service answers.
    const ok = await poll('rss')
    expect(ok.result.error).toBeUndefined()
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200)
  }, 60_000)
})
