/**
 * Nothing private is visible to a client without a session or key: crawl
 * every public route (following the links the pages give) and look for the
 * marks of unpublished work: an embargoed story, a failed one, a CMS id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'

let svc: TestService
const SECRET_TITLE = 'Embargoed merger story'
const SECRET_EXTERNAL = 'cms-private-4711'
const FAILED_TITLE = 'Broken voice story'
let embargoedId = ''
let failedId = ''
let publicId = ''

beforeAll(async () => {
  svc = await startTestService()
  const pub = (await (await postJson(svc, '/api/articles', { title: 'Public council story', text: 'The council met on Tuesday and agreed the budget.' })).json()) as { id: string }
  publicId = pub.id
  const future = new Date(Date.now() + 7 * 86_400_000).toISOString()
  const emb = (await (await postJson(svc, '/api/articles', { title: SECRET_TITLE, externalId: SECRET_EXTERNAL, publishedAt: future, text: 'Two companies will merge next week.' })).json()) as { id: string }
  embargoedId = emb.id
  const failed = (await (await postJson(svc, '/api/articles', { title: FAILED_TITLE, text: 'This voice has no credentials.', voice: 'google-en-us' })).json()) as { id: string }
  failedId = failed.id
  for (const id of [publicId, embargoedId, failedId]) await waitForArticle(svc, id, ready)
}, 180_000)
afterAll(async () => {
  await svc?.stop()
})

describe('public routes', () => {
  it('show nothing private when crawled without a session or key', async () => {
    const seeds = [
      '/',
      '/feed.xml',
      '/feeds/articles.xml',
      '/player.js',
      '/healthz',
      '/readyz',
      '/admin',
      '/admin/login',
      '/admin/keys',
      '/admin/users',
      `/admin/articles/${embargoedId}`,
      '/api/articles',
      '/api/users',
      '/api/keys',
      '/api/me',
      '/api/briefings',
      `/api/articles/${embargoedId}`,
      `/api/articles/${embargoedId}/stats`,
      ...[publicId, embargoedId, failedId, SECRET_EXTERNAL].flatMap((id) => [`/listen/${id}`, `/listen/${id}/info.json`, `/listen/${id}/timings.json`, `/embed/${id}`]),
    ]
    const seen = new Set<string>()
    const queue = [...seeds]
    const origin = new URL(svc.url).origin
    const bodies: { url: string; status: number; text: string }[] = []
    while (queue.length > 0 && seen.size < 200) {
      const p = queue.shift()!
      if (seen.has(p)) continue
      seen.add(p)
      const r = await fetch(origin + p, { redirect: 'manual' })
      const type = r.headers.get('content-type') ?? ''
      const text = /audio|octet/.test(type) ? '' : await r.text()
      bodies.push({ url: p, status: r.status, text: text + (r.headers.get('location') ?? '') })
      // Follow links (href/src) and redirects to our own origin.
      const links = [...text.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'))
      const loc = r.headers.get('location')
      if (loc) links.push(loc)
      for (const l of links) {
        const u = new URL(l, origin + p)
        if (u.origin === origin && !/\.(mp3|m4a)$/.test(u.pathname)) queue.push(u.pathname + u.search)
      }
    }
    expect(seen.size).toBeGreaterThan(30)
    for (const b of bodies) {
      expect(b.text, b.url).not.toContain(SECRET_TITLE)
      // (an error may echo the id the client itself asked for)
      if (!b.url.includes(SECRET_EXTERNAL)) expect(b.text, b.url).not.toContain(SECRET_EXTERNAL)
      expect(b.text, b.url).not.toContain(FAILED_TITLE)
      expect(b.text, b.url).not.toContain('MISSING_CREDENTIALS')
      if (b.url.startsWith('/api/')) expect(b.status, b.url).toBe(401)
      if (b.url.startsWith('/admin') && !b.url.startsWith('/admin/login') && !b.url.startsWith('/admin/assets')) expect(b.status, b.url).toBe(303)
    }
    // The published story is there for everyone.
    expect(bodies.find((b) => b.url === '/')!.text).toContain('Public council story')
    expect(bodies.find((b) => b.url === `/listen/${publicId}/info.json`)!.status).toBe(200)
    // ...and the newsroom still sees all of it.
    const info = await svc.api(`/listen/${embargoedId}/info.json`)
    expect(info.status).toBe(200)
    expect(((await info.json()) as { title: string }).title).toBe(SECRET_TITLE)
  }, 120_000)
})
