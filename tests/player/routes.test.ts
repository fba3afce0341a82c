/**
 * The player's HTTP side against the real service (createApp via startService,
 * real SQLite): player.js delivery and size budget, the embed page, listen
 * events and the admin stats.
 */
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventRateLimiter } from '../../src/http/routes/player.ts'
import { startRealService, type RealService } from './service-harness.ts'

const BUDGET_GZIP_BYTES = 15 * 1024

describe('player routes', () => {
  let s: RealService
  let id: string

  beforeAll(async () => {
    s = await startRealService()
    id = await s.ingest('Routes test article', ['First paragraph of the routes test.', 'Second paragraph of the routes test.'], { externalId: 'site-42' })
  })
  afterAll(async () => {
    await s?.close()
  })

  it(`serves player.js gzipped within the ${BUDGET_GZIP_BYTES / 1024} KB budget, with CORS and long-lived revalidated caching`, async () => {
    const r = await fetch(`${s.url}/player.js`, { headers: { 'accept-encoding': 'gzip' } })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/javascript/)
    expect(r.headers.get('access-control-allow-origin')).toBe('*')
    expect(r.headers.get('cache-control')).toMatch(/max-age=86400/)
    expect(r.headers.get('vary')).toMatch(/Accept-Encoding/)
    // fetch() decodes; measure the bytes on the wire with a raw request.
    const raw = await rawGet(`${s.url}/player.js`, { 'accept-encoding': 'gzip' })
    expect(raw.headers['content-encoding']).toBe('gzip')
    const gz = raw.body.length
    process.stdout.write(`player.js: ${zlib.gunzipSync(raw.body).length} bytes minified, ${gz} bytes gzipped (budget ${BUDGET_GZIP_BYTES})\n`)
    expect(gz).toBeLessThanOrEqual(BUDGET_GZIP_BYTES)
    const code = zlib.gunzipSync(raw.body).toString('utf8')
    expect(code).toContain('briefcast-player')
    // No third-party requests: the script holds no absolute URL at all (everything derives from its own origin).
    expect(code.match(/https?:\/\/[^\s"'`]*/g) ?? []).toEqual([])

    const etag = r.headers.get('etag')!
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/)
    const again = await fetch(`${s.url}/player.js`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    const br = await rawGet(`${s.url}/player.js`, { 'accept-encoding': 'br;q=1, gzip;q=0.5' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(zlib.brotliDecompressSync(br.body).toString('utf8')).toBe(code)
    const refused = await rawGet(`${s.url}/player.js`, { 'accept-encoding': 'gzip;q=0, deflate' })
    expect(refused.headers['content-encoding']).toBeUndefined()
    const plain = await rawGet(`${s.url}/player.js`, {})
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body.toString('utf8')).toBe(code)
  })

  it('serves the content-addressed /player/<hash>.js as immutable, and redirects an old hash', async () => {
    const etag = (await fetch(`${s.url}/player.js`)).headers.get('etag')!.replaceAll('"', '')
    const r = await fetch(`${s.url}/player/${etag}.js`)
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const old = await fetch(`${s.url}/player/0123456789abcdef.js`, { redirect: 'manual' })
    expect(old.status).toBe(302)
    expect(old.headers.get('location')).toBe(`${s.url}/player/${etag}.js`)
  })

  it('serves the iframe page for an article (by id or externalId), frameable anywhere, with escaped options', async () => {
    const r = await fetch(`${s.url}/embed/${id}?theme=dark&color=%23c0392b`)
    expect(r.status).toBe(200)
    const html = await r.text()
    expect(html).toContain(`<briefcast-player article="${id}" theme="dark" color="#c0392b">`)
    expect(html).toMatch(/<script src="http:\/\/localhost:\d+\/player\/[0-9a-f]{16}\.js" defer><\/script>/)
    expect(html).toContain('<title>Listen: Routes test article</title>')
    expect(r.headers.get('x-frame-options')).toBeNull()
    expect(r.headers.get('content-security-policy')).toMatch(/frame-ancestors \*/)
    const byExternal = await fetch(`${s.url}/embed/site-42`)
    expect(await byExternal.text()).toContain(`article="${id}"`)
    const evil = await fetch(`${s.url}/embed/${id}?theme=%22%3E%3Cscript%3E&color=red%22%20onload%3D%22x`)
    const evilHtml = await evil.text()
    expect(evilHtml).not.toContain('<script>')
    expect(evilHtml).not.toContain('onload')
    const missing = await fetch(`${s.url}/embed/no-such-article`)
    expect(missing.status).toBe(404)
    expect(await missing.text()).toContain('<briefcast-player article="no-such-article">')
  })

  it('counts listen events sent as text/plain (no preflight), validates them, and reports them to the admin only', async () => {
    const send = (body: string, target = id) =>
      fetch(`${s.url}/listen/${target}/events`, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body })
    for (const body of ['{"event":"start"}', '{"event":"start"}', '{"event":"progress","percent":25}', '{"event":"progress","percent":100}']) {
      const r = await send(body)
      expect(r.status).toBe(204)
      expect(r.headers.get('access-control-allow-origin')).toBe('*')
      expect(r.headers.get('set-cookie')).toBeNull()
    }
    // The element may name the article by the site's externalId.
    expect((await send('{"event":"progress","percent":50}', 'site-42')).status).toBe(204)

    const bad = await send('{"event":"progress","percent":33}')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')
    expect(((await (await send('not json')).json()) as { error: { code: string } }).error.code).toBe('INVALID_JSON')
    expect(((await (await send('{"event":"start","ip":"1.2.3.4"}')).json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')
    expect((await send('{"event":"start"}', 'nope')).status).toBe(404)
    expect((await send(JSON.stringify({ event: 'start', pad: 'x'.repeat(5000) }))).status).toBe(413)

    expect((await fetch(`${s.url}/api/articles/${id}/stats`)).status).toBe(401)
    const st = await s.api(`/api/articles/${id}/stats`)
    expect(st.status).toBe(200)
    const stats = (await st.json()) as { articleId: string; totals: Record<string, number | null>; days: { day: string; starts: number }[] }
    expect(stats.articleId).toBe(id)
    expect(stats.totals).toEqual({ starts: 2, p25: 1, p50: 1, p75: 0, p100: 1, completionRate: 0.5 })
    expect(stats.days).toEqual([{ day: new Date().toISOString().slice(0, 10), starts: 2, p25: 1, p50: 1, p75: 0, p100: 1 }])
    expect((await s.api('/api/articles/site-42/stats')).status).toBe(200)
    expect((await s.api('/api/articles/nope/stats')).status).toBe(404)
    expect((await s.api(`/api/articles/${id}/stats?days=0`)).status).toBe(400)

    // The admin API returns the paste-ready embed snippets.
    const art = (await (await s.api(`/api/articles/${id}`)).json()) as { embed: { script: string; iframe: string } }
    expect(art.embed.script).toBe(`<script src="${s.url}/player.js" defer></script>\n<briefcast-player article="${id}"></briefcast-player>`)
    expect(art.embed.iframe).toContain(`src="${s.url}/embed/${id}"`)

    // The newsroom's figures show the counts per article (the public home page shows none).
    const figures = (await (await s.api('/api/figures?days=1')).json()) as { articles: { id: string; starts: number; p100: number }[] }
    expect(figures.articles.find((a) => a.id === id)).toMatchObject({ starts: 2, p100: 1 })
    expect(await (await fetch(`${s.url}/`)).text()).not.toContain('finished')
  })

  it('rate-limits a flood of events from one client (429 with Retry-After), in memory only', async () => {
    let limited: Response | undefined
    for (let i = 0; i < 80 && !limited; i++) {
      const r = await fetch(`${s.url}/listen/${id}/events`, { method: 'POST', body: '{"event":"start"}' })
      if (r.status === 429) limited = r
      else expect(r.status).toBe(204)
    }
    expect(limited).toBeDefined()
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED')
  })
})

describe('eventRateLimiter', () => {
  it('allows a burst, then one event per second, per client', () => {
    const l = eventRateLimiter({ burst: 3, perSecond: 1 })
    const t = 1_000_000
    expect([l.take('a', t), l.take('a', t), l.take('a', t)]).toEqual([0, 0, 0])
    expect(l.take('a', t)).toBe(1)
    expect(l.take('b', t)).toBe(0)
    expect(l.take('a', t + 1000)).toBe(0)
    expect(l.take('a', t + 1000)).toBe(1)
  })

  it('forgets idle clients when full instead of growing without bound', () => {
    const l = eventRateLimiter({ burst: 2, perSecond: 1, maxClients: 2 })
    l.take('a', 0)
    l.take('b', 0)
    expect(l.take('c', 10_000)).toBe(0)
    expect(l.take('a', 10_000)).toBe(0)
  })
})

async function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const http = await import('node:http')
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
      })
      .on('error', reject)
  })
}
