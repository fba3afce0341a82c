/**
 * Browser-test plumbing: Debian's chromium through playwright-core, a host page
 * served from ANOTHER origin, and helpers to reach into the player's shadow DOM.
 */
import { existsSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/**
 * Browser tests run whenever chromium is installed and ALWAYS in CI (.ci/run
 * installs it; a missing browser there must fail, not skip).
 */
export const browserSkipReason: string | undefined =
  existsSync(CHROMIUM) || process.env.CI ? undefined : `player browser tests SKIPPED: ${CHROMIUM} not found (apt-get install chromium); they always run when CI is set`
if (browserSkipReason) process.stderr.write(`\n${browserSkipReason}\n\n`)

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      // No sound card on test machines: playback still advances with a muted output.
      '--mute-audio',
    ],
  })
}

export interface Served {
  url: string
  close(): Promise<void>
}

export async function serve(handler: http.RequestListener, host = '127.0.0.1'): Promise<Served> {
  const server = http.createServer(handler)
  server.listen(0, host)
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Page furniture inside the article body that the service's extractor does not speak: highlighting must skip it. */
const NOISE = '<p class="ad"><small>Advertisement</small></p><ul class="ad"><li><a href="#x">Read more: weather</a></li></ul>'

/** The site: a plain article page embedding the player with a script tag, from its own origin. */
export function hostPageHtml(o: { serviceUrl: string; articleId: string; paragraphs: string[]; theme?: string; extra?: string }): string {
  const esc = (s: string) => s.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host site</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font-family:Georgia,serif;max-width:44rem;margin:2rem auto;padding:0 1rem} p{font-size:18px}</style>
<script src="${o.serviceUrl}/player.js" defer></script></head>
<body><main><h1>Host site article</h1>
<briefcast-player article="${o.articleId}" highlight="#story"${o.theme ? ` theme="${o.theme}"` : ''}></briefcast-player>
<div id="story">${o.paragraphs.map((p, i) => `<p>${esc(p)}</p>${i === 0 ? NOISE : ''}`).join('\n')}</div>${o.extra ?? ''}</main></body></html>`
}

export async function hostSite(html: string, headers: Record<string, string> = {}): Promise<Served> {
  // A different port from the service's: a different origin.
  return serve((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', ...headers })
    res.end(html)
  }, '127.0.0.1')
}

/** Evaluate against the first player's shadow root and its <audio>. */
export async function audioState(page: Page, index = 0) {
  return page.evaluate((i) => {
    const el = document.querySelectorAll('briefcast-player')[i] as HTMLElement
    const a = el.shadowRoot!.querySelector('audio') as HTMLAudioElement
    return { currentTime: a.currentTime, duration: a.duration, paused: a.paused, playbackRate: a.playbackRate, src: a.currentSrc, error: a.error?.code ?? null }
  }, index)
}

export async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T = await fn()
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 150))
    last = await fn()
  }
  return last
}

/** The paragraph index (within #story) currently marked as being read, or -1. */
export async function highlighted(page: Page): Promise<number> {
  return page.evaluate(() => [...document.querySelectorAll('#story p:not(.ad)')].findIndex((p) => p.hasAttribute('data-briefcast-reading')))
}
