/**
 * The player without an article attribute, in headless Chromium against the
 * real service: it finds its story by the page's <link rel="canonical">, else
 * by the page's own address, and says "Audio isn't available" for a page
 * briefcast has no story for.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audioState, browserSkipReason, launchBrowser, serve, waitFor, type Served } from './harness.ts'
import { startRealService, type RealService } from './service-harness.ts'

const PARAS = ['The harbour reopened on Monday after the winter storms.', 'Fishing boats were the first to sail out at dawn.']

describe.skipIf(browserSkipReason)('player by page URL (headless Chromium)', () => {
  let s: RealService
  let browser: Browser
  let site: Served
  const pages = new Map<string, string>()

  const page = (canonical: string | undefined) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Story</title>
${canonical ? `<link rel="canonical" href="${canonical}">` : ''}<script src="${s.url}/player.js" defer></script></head>
<body><main><h1>Story</h1><briefcast-player></briefcast-player>${PARAS.map((p) => `<p>${p}</p>`).join('')}</main></body></html>`

  async function ingest(title: string, url: string): Promise<string> {
    const r = await s.api('/api/articles', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title, url, language: 'en', html: `<article><h1>${title}</h1>${PARAS.map((p) => `<p>${p}</p>`).join('')}</article>` }) })
    expect(r.status).toBe(201)
    return ((await r.json()) as { id: string }).id
  }

  beforeAll(async () => {
    ;[s, browser] = await Promise.all([startRealService(), launchBrowser()])
    site = await serve((req, res) => {
      const html = pages.get(new URL(req.url ?? '/', 'http://x').pathname)
      res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(html ?? 'not found')
    })
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    await site?.close()
    await s?.close()
  })

  async function open(pathname: string) {
    const ctx = await browser.newContext()
    const p = await ctx.newPage()
    await p.goto(site.url + pathname)
    return p
  }

  it('finds the story by the canonical URL, however it is spelled, and plays it', async () => {
    const id = await ingest('Harbour reopens', 'https://news.example.com/2026/12/harbour-reopens')
    await s.waitReady(id, 220_000)
    pages.set('/amp/harbour', page('https://NEWS.example.com/2026/12/harbour-reopens/?utm_source=newsletter'))
    const p = await open('/amp/harbour')
    await p.waitForFunction(() => !!document.querySelector('briefcast-player')?.shadowRoot?.querySelector('button.listen .d')?.textContent)
    await p.locator('briefcast-player >> button.listen').first().click()
    const st = await waitFor(() => audioState(p), (v) => v.currentTime > 0.3, 'playback to advance', 30_000)
    expect(st.src).toContain(`/audio/${id}/`)
    await p.context().close()
  }, 240_000)

  it('falls back to the page address without a canonical link, and says when there is no audio', async () => {
    pages.set('/news/plain-story', page(undefined))
    const id = await ingest('Plain story', `${site.url}/news/plain-story#comments`)
    await s.waitReady(id)
    const p = await open('/news/plain-story')
    // The duration shows once the player has found the story's info.
    await p.waitForFunction(() => !!document.querySelector('briefcast-player')?.shadowRoot?.querySelector('button.listen .d')?.textContent)
    const info = (await (await fetch(`${s.url}/lookup.json?url=${encodeURIComponent(`${site.url}/news/plain-story`)}`)).json()) as { id: string }
    expect(info.id).toBe(id)
    await p.context().close()

    pages.set('/news/unknown', page(undefined))
    const q = await open('/news/unknown')
    await expect.poll(() => q.evaluate(() => document.querySelector('briefcast-player')?.shadowRoot?.textContent ?? ''), { timeout: 15_000 }).toMatch(/isn.t available/)
    await q.context().close()
  }, 240_000)
})
