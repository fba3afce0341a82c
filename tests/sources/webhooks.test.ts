/**
 * Webhooks, embargo and the player's lookup by URL, on the real service
 * (port 0): signed deliveries (good, bad, stale, replayed, retried, unknown
 * source), an embargoed story that renders ahead and goes public at its time
 * across a restart, and GET /lookup.json by a page's canonical URL.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startService, type Service } from '../../src/main.ts'
import { signatureHeader } from '../../src/sources/signature.ts'
import { API_KEY, paragraphs } from '../http/helpers.ts'

const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-hooks-'))
let svc: Service
const start = () =>
  startService({
    env: {},
    cwd: path.resolve(import.meta.dirname, '../..'),
    handleSignals: false,
    shutdownGraceMs: 2000,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    overrides: { port: 0, host: '127.0.0.1', apiKey: API_KEY, dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache'), 'sources.tickMs': 50 },
  })
const api = (p: string, init: RequestInit = {}) => fetch(svc.url + p, { ...init, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } })

let secret: string
beforeAll(async () => {
  svc = await start()
  const r = await api('/api/sources', { method: 'POST', body: JSON.stringify({ id: 'cms', kind: 'webhook' }) })
  expect(r.status).toBe(201)
  secret = ((await r.json()) as { secret: string }).secret
  expect(secret.length).toBeGreaterThanOrEqual(32)
}, 60_000)
afterAll(async () => {
  await svc?.close()
  rmSync(dir, { recursive: true, force: true })
})

let seq = 0
function deliver(body: unknown, opts: { delivery?: string; t?: number; key?: string; source?: string; raw?: string } = {}) {
  const raw = opts.raw ?? JSON.stringify(body)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'briefcast-signature': signatureHeader(opts.key ?? secret, raw, opts.t),
  }
  if (opts.delivery !== '') headers['briefcast-delivery'] = opts.delivery ?? `d-${++seq}`
  return fetch(`${svc.url}/api/hooks/${opts.source ?? 'cms'}`, { method: 'POST', headers, body: raw })
}
type ErrorJson = { error: { code: string; message: string } }

describe('webhooks', () => {
  const story = { event: 'upsert', externalId: 'cms-101', url: 'https://news.example.com/2026/12/harbour/?utm_source=rss', title: 'Harbour reopens', text: paragraphs(3, 'The harbour reopened') }

  it('creates a story from a signed delivery, and keeps the secret sealed and out of the API', async () => {
    const r = await deliver(story, { delivery: 'create-1' })
    expect(r.status).toBe(201)
    const body = (await r.json()) as { action: string; articleId: string }
    expect(body.action).toBe('created')
    const a = (await (await api('/api/articles/cms-101')).json()) as { id: string; title: string; url: string }
    expect(a).toMatchObject({ id: body.articleId, title: 'Harbour reopens' })
    const src = await (await api('/api/sources/cms')).text()
    expect(src).not.toContain(secret)
    const row = { secret_enc: (await svc.deps.store.sources.get('cms'))!.secretSealed! }
    expect(row.secret_enc).not.toContain(secret)
  })

  it('rejects a bad signature, a stale timestamp, a missing delivery id and an unknown source with clear errors', async () => {
    let r = await deliver(story, { key: 'x'.repeat(43) })
    expect(r.status).toBe(401)
    expect(((await r.json()) as ErrorJson).error.code).toBe('INVALID_SIGNATURE')
    r = await deliver(story, { t: Math.floor(Date.now() / 1000) - 600 })
    expect(r.status).toBe(401)
    expect(((await r.json()) as ErrorJson).error.message).toMatch(/timestamp/)
    // The body changed after signing.
    const raw = JSON.stringify(story)
    r = await fetch(`${svc.url}/api/hooks/cms`, { method: 'POST', headers: { 'content-type': 'application/json', 'briefcast-delivery': 'tamper', 'briefcast-signature': signatureHeader(secret, raw) }, body: raw.replace('Harbour', 'Harb0ur') })
    expect(r.status).toBe(401)
    r = await fetch(`${svc.url}/api/hooks/cms`, { method: 'POST', headers: { 'briefcast-delivery': 'nosig' }, body: raw })
    expect(r.status).toBe(401)
    r = await deliver(story, { delivery: '' })
    expect(r.status).toBe(400)
    expect(((await r.json()) as ErrorJson).error.code).toBe('VALIDATION_FAILED')
    r = await deliver(story, { source: 'nope' })
    expect(r.status).toBe(404)
    expect(((await r.json()) as ErrorJson).error.code).toBe('SOURCE_NOT_FOUND')
    r = await deliver(null, { raw: '{not json' })
    expect(r.status).toBe(400)
    expect(((await r.json()) as ErrorJson).error.code).toBe('INVALID_JSON')
  })

  it('answers a replayed or retried delivery with the first answer, without doing the work again', async () => {
    const changed = { ...story, text: paragraphs(4, 'The harbour reopened after repairs') }
    const raw = JSON.stringify(changed)
    const sig = signatureHeader(secret, raw)
    const send = (signature: string) => fetch(`${svc.url}/api/hooks/cms`, { method: 'POST', headers: { 'content-type': 'application/json', 'briefcast-delivery': 'update-1', 'briefcast-signature': signature }, body: raw })
    // The same delivery sent twice at once (a CMS retry racing the first attempt), then replayed byte for byte.
    const [r1, r2] = await Promise.all([send(sig), send(sig)])
    expect([r1.status, r2.status]).toEqual([200, 200])
    const b1 = (await r1.json()) as { action: string }
    expect(b1.action).toBe('updated')
    expect(await r2.json()).toEqual(b1)
    const r3 = await send(sig)
    expect(r3.headers.get('briefcast-replayed')).toBe('true')
    expect(await r3.json()).toEqual(b1)
    const r4 = await send(signatureHeader(secret, raw, Math.floor(Date.now() / 1000) + 1)) // a retry signs anew
    expect(await r4.json()).toEqual(b1)
    const a = (await (await api('/api/articles/cms-101')).json()) as { revision: number }
    expect(a.revision).toBe(2)
    // A new delivery of identical content changes nothing.
    const same = (await (await deliver(changed)).json()) as { action: string }
    expect(same.action).toBe('unchanged')
  })

  it('finds the story by its page URL, however the page spells it', async () => {
    for (const u of ['https://news.example.com/2026/12/harbour', 'https://NEWS.example.com/2026/12/harbour/#top', 'https://news.example.com/2026/12/harbour/?utm_medium=social&fbclid=1']) {
      const r = await fetch(`${svc.url}/lookup.json?url=${encodeURIComponent(u)}`)
      expect(r.status, u).toBe(200)
      expect(((await r.json()) as { externalId: string }).externalId).toBe('cms-101')
      expect(r.headers.get('access-control-allow-origin')).toBe('*')
    }
    const r = await fetch(`${svc.url}/lookup.json?url=${encodeURIComponent('https://news.example.com/2026/12/other')}`)
    expect(r.status).toBe(404)
    expect((await fetch(`${svc.url}/lookup.json?url=nope`)).status).toBe(400)
  })

  it('deletes a story: gone from Listen at once, and an explicit new delivery may publish it again', async () => {
    let r = await deliver({ event: 'delete', externalId: 'cms-101' })
    expect(((await r.json()) as { action: string }).action).toBe('deleted')
    expect((await fetch(`${svc.url}/listen/cms-101/info.json`)).status).toBe(404)
    expect((await fetch(`${svc.url}/lookup.json?url=${encodeURIComponent(story.url)}`)).status).toBe(404)
    r = await deliver(story)
    expect(((await r.json()) as { action: string }).action).toBe('created')
  })
})

describe('embargo', () => {
  type Info = { status: string; audioUrl: string | null }
  const inFeed = async (title: string) => (await (await fetch(`${svc.url}/feeds/articles.xml`)).text()).includes(title)

  it('renders ahead, stays out of feeds, Listen, embed, audio and lookup, and goes public at its time, also across a restart', async () => {
    const title = 'Budget embargoed until noon'
    const url = 'https://news.example.com/2026/12/budget'
    let r = await deliver({ event: 'upsert', externalId: 'cms-200', url, title, text: paragraphs(2, 'The budget'), publishedAt: new Date(Date.now() + 3_600_000).toISOString() })
    expect(r.status).toBe(201)
    const id = ((await r.json()) as { articleId: string }).articleId
    // Rendered ahead: the admin API sees it ready.
    const deadline = Date.now() + 180_000
    let admin: { status: string; episode: { hash: string } | null; listenUrl: string }
    for (;;) {
      admin = (await (await api(`/api/articles/${id}`)).json()) as typeof admin
      if (admin.status === 'ready') break
      if (admin.status === 'failed' || Date.now() > deadline) throw new Error(`render: ${JSON.stringify(admin)}`)
      await new Promise((res) => setTimeout(res, 300))
    }
    const audioPath = `/audio/${id}/${admin.episode!.hash}.mp3`
    const hidden = async () => {
      expect(await inFeed(title)).toBe(false)
      expect((await fetch(`${svc.url}/listen/${id}/info.json`)).status).toBe(404)
      expect((await fetch(`${svc.url}/listen/cms-200`, { redirect: 'manual' })).status).toBe(404)
      expect((await fetch(`${svc.url}/embed/${id}`)).status).toBe(404)
      expect((await fetch(svc.url + audioPath)).status).toBe(404)
      expect((await fetch(`${svc.url}/lookup.json?url=${encodeURIComponent(url)}`)).status).toBe(404)
      expect(await (await fetch(`${svc.url}/`)).text()).not.toContain(title)
    }
    await hidden()
    // Moved to 2 seconds from now; the service restarts in between.
    const at = Date.now() + 2000
    r = await deliver({ event: 'upsert', externalId: 'cms-200', url, title, text: paragraphs(2, 'The budget'), publishedAt: new Date(at).toISOString() })
    expect(r.status).toBe(200)
    await hidden()
    await svc.close()
    svc = await start()
    if (Date.now() < at - 200) await hidden()
    while (Date.now() < at) await new Promise((res) => setTimeout(res, 50))
    const info = (await (await fetch(`${svc.url}/listen/${id}/info.json`)).json()) as Info
    expect(info.audioUrl).not.toBeNull() // the episode rendered ahead is served (a re-render of the new revision may run)
    expect(await inFeed(title)).toBe(true)
    expect((await fetch(svc.url + audioPath)).status).toBe(200)
    expect((await fetch(`${svc.url}/lookup.json?url=${encodeURIComponent(url)}`)).status).toBe(200)
  }, 240_000)
})

describe('source story mode', () => {
  it('is found for an article that came from a source with one', async () => {
        const r = await api('/api/sources', { method: 'POST', body: JSON.stringify({ id: 'ledes', kind: 'webhook', storyMode: 'lede' }) })
    const { secret: s2 } = (await r.json()) as { secret: string }
    const res = await deliver({ event: 'upsert', externalId: 'lede-1', title: 'Lede story', text: paragraphs(2) }, { key: s2, source: 'ledes' })
    const { articleId } = (await res.json()) as { articleId: string }
    expect(await svc.deps.store.sources.storyModeFor(articleId)).toBe('lede')
    const other = (await (await api('/api/articles/cms-101')).json()) as { id: string }
    expect(await svc.deps.store.sources.storyModeFor(other.id)).toBeUndefined()
  })
})
