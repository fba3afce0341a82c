/**
 * Acceptance, end to end: the real service (startService on port 0, SQLite,
 * espeak-ng, ffmpeg) and headless Chromium. A host page on ANOTHER origin embeds
 * <briefcast-player> with a script tag; the iframe page /embed/:id; a progressive
 * stream of an article still rendering; listen counts reaching the admin stats.
 */
import type { Browser, Page, Response as PwResponse } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audioState, browserSkipReason, highlighted, hostPageHtml, hostSite, launchBrowser, waitFor, type Served } from './harness.ts'
import { startRealService, type RealService } from './service-harness.ts'

const PARAS = [
  'The city council met on Tuesday evening to settle next year’s budget.',
  'Members argued for three hours about the cost of the new river bridge.',
  'A late amendment moved two million from road repairs to the schools.',
  'Residents who spoke at the meeting were mostly in favour of the change.',
  'The final vote was seven to four, and the budget takes effect in January.',
]

interface Timing {
  blockIndex?: number
  startMs: number
  endMs: number
}

describe.skipIf(browserSkipReason)('player against the real service (headless Chromium)', () => {
  let s: RealService
  let browser: Browser
  let site: Served | undefined
  let id: string
  let timings: Timing[]
  const pageErrors: string[] = []

  beforeAll(async () => {
    ;[s, browser] = await Promise.all([startRealService(), launchBrowser()])
    id = await s.ingest('Council passes the budget', PARAS)
    await s.waitReady(id)
    const info = await s.info(id)
    timings = ((await (await fetch(info.timingsUrl!)).json()) as { segments: Timing[] }).segments
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    await site?.close()
    await s?.close()
  })

  async function openHost(articleId: string, paragraphs = PARAS): Promise<{ page: Page; responses: PwResponse[] }> {
    await site?.close()
    site = await hostSite(hostPageHtml({ serviceUrl: s.url, articleId, paragraphs }))
    expect(new URL(site.url).origin).not.toBe(new URL(s.url).origin)
    const ctx = await browser.newContext({ viewport: { width: 800, height: 900 } })
    const page = await ctx.newPage()
    const responses: PwResponse[] = []
    page.on('response', (r) => responses.push(r))
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(site.url)
    await page.waitForFunction(() => !!document.querySelector('briefcast-player')?.shadowRoot?.querySelector('button.listen .d')?.textContent)
    return { page, responses }
  }
  const shadow = (page: Page, sel: string) => page.locator(`briefcast-player >> ${sel}`).first()

  it('plays on Listen, seeks to 80% through Range (206), applies 1.5x, and the highlight follows the audio', async () => {
    const { page, responses } = await openHost(id)
    expect(responses.some((r) => r.url().includes('/audio/'))).toBe(false)
    await shadow(page, 'button.listen').click()
    const s1 = await waitFor(() => audioState(page), (v) => v.currentTime > 0.5, 'playback to advance', 30_000)
    expect(s1.src).toMatch(/\/audio\/[^/]+\/[0-9a-f]+\.mp3$/)

    // The reading highlight follows the audio: jump into each body block and check the marked paragraph.
    const body = timings.filter((t) => (t.blockIndex ?? -1) >= 0)
    for (const block of [1, 3]) {
      const seg = body.find((t) => t.blockIndex === block)!
      await page.evaluate((t) => {
        document.querySelector('briefcast-player')!.shadowRoot!.querySelector('audio')!.currentTime = t
      }, seg.startMs / 1000 + 0.3)
      await expect.poll(() => highlighted(page), { timeout: 10_000 }).toBe(block)
    }

    await page.evaluate(() => {
      const r = document.querySelector('briefcast-player')!.shadowRoot!.querySelector('input[type=range]') as HTMLInputElement
      r.value = '800'
      r.dispatchEvent(new Event('input', { bubbles: true }))
    })
    const d = s1.duration
    const after = await waitFor(() => audioState(page), (v) => v.currentTime >= d * 0.8 && !v.paused, 'seek to 80%', 30_000)
    expect(after.currentTime).toBeLessThan(d * 0.8 + 4)
    const ranged = responses.filter((r) => r.url().includes('/audio/') && r.status() === 206)
    expect(ranged.length).toBeGreaterThan(0)
    expect(ranged[0]!.headers()['content-range']).toMatch(/^bytes \d+-\d+\/\d+$/)
    // 80% lands in the last block(s): the marked paragraph is the one whose timing spans the position.
    const at = after.currentTime * 1000
    const expected = body.filter((t) => t.startMs <= at + 500).at(-1)!.blockIndex!
    await expect.poll(() => highlighted(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(expected - 1)

    await shadow(page, 'button.sp').click()
    await shadow(page, 'button.sp').click()
    expect((await audioState(page)).playbackRate).toBe(1.5)
    await page.context().close()
  })

  it('counts the listen (start and 25/50/75/100% listened) and the admin stats report it', async () => {
    const totals = async () => ((await (await s.api(`/api/articles/${id}/stats`)).json()) as { totals: Record<string, number> }).totals
    const before = await totals()
    const { page } = await openHost(id)
    await shadow(page, 'button.listen').click()
    await waitFor(() => audioState(page), (v) => v.currentTime > 0.2, 'playback', 30_000)
    // Listen to the whole episode at 4x so the test stays short (quartiles count listened time, not position).
    await page.evaluate(() => {
      document.querySelector('briefcast-player')!.shadowRoot!.querySelector('audio')!.playbackRate = 4
    })
    await waitFor(() => audioState(page), (v) => v.paused && v.currentTime > v.duration - 0.5, 'the end of the episode', 60_000)
    const inc = (k: string) => (before[k] ?? 0) + 1
    await expect.poll(totals, { timeout: 10_000 }).toMatchObject({ starts: inc('starts'), p25: inc('p25'), p50: inc('p50'), p75: inc('p75'), p100: inc('p100') })
    await page.context().close()
  })

  it('does not count a seek to the end as a full listen', async () => {
    const totals = async () => ((await (await s.api(`/api/articles/${id}/stats`)).json()) as { totals: Record<string, number> }).totals
    const before = await totals()
    const { page } = await openHost(id)
    await shadow(page, 'button.listen').click()
    await waitFor(() => audioState(page), (v) => v.currentTime > 0.2, 'playback', 30_000)
    await page.evaluate(() => {
      const a = document.querySelector('briefcast-player')!.shadowRoot!.querySelector('audio')!
      a.currentTime = a.duration - 1
    })
    await waitFor(() => audioState(page), (v) => v.paused && v.currentTime > v.duration - 0.5, 'the end of the episode', 30_000)
    await expect.poll(async () => (await totals()).starts, { timeout: 10_000 }).toBe(before.starts! + 1)
    expect((await totals()).p100).toBe(before.p100)
    await page.context().close()
  })

  it('keyboard alone operates the player on the real service', async () => {
    const { page } = await openHost(id)
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await waitFor(() => audioState(page), (v) => v.currentTime > 0.3, 'keyboard start', 30_000)
    await page.keyboard.press('Space')
    await waitFor(() => audioState(page), (v) => v.paused, 'Space pauses')
    await page.keyboard.press('Tab') // forward 15 s
    await page.keyboard.press('Enter')
    await waitFor(() => audioState(page), (v) => v.currentTime >= 14, 'forward 15 s')
    await page.keyboard.press('Tab') // next paragraph
    await page.keyboard.press('Tab') // speed
    await page.keyboard.press('Enter')
    expect((await audioState(page)).playbackRate).toBe(1.25)
    await page.keyboard.press('Tab') // seek bar
    const t = (await audioState(page)).currentTime
    await page.keyboard.press('ArrowLeft')
    await waitFor(() => audioState(page), (v) => v.currentTime <= t - 4, 'ArrowLeft -5 s')
    await page.evaluate(() => localStorage.clear())
    await page.context().close()
  })

  it('the iframe embed /embed/:id plays too', async () => {
    await site?.close()
    site = await hostSite(`<!doctype html><html lang="en"><head><title>Host with iframe</title></head><body><main><h1>Story</h1>
<iframe src="${s.url}/embed/${id}" title="Listen to this article" width="100%" height="150" style="border:0;max-width:40rem"></iframe></main></body></html>`)
    const ctx = await browser.newContext()
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(site.url)
    const frame = page.frameLocator('iframe')
    await frame.locator('briefcast-player >> button.listen .d').filter({ hasText: /\d+:\d\d/ }).waitFor()
    await frame.locator('briefcast-player >> button.listen').click()
    const f = page.frames().find((fr) => fr.url().includes('/embed/'))!
    const state = await waitFor(
      () => f.evaluate(() => document.querySelector('briefcast-player')!.shadowRoot!.querySelector('audio')!.currentTime),
      (t) => t > 0.5,
      'iframe playback',
      30_000,
    )
    expect(state).toBeGreaterThan(0.5)
    await page.mouse.move(0, 0)
    await page.locator('iframe').screenshot({ path: 'test-results/player-iframe.png' })
    // The expanded player fits the suggested iframe height (150 px) without scrolling.
    expect(await f.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(150)
    await ctx.close()
  })

  it('plays the progressive stream of a new article that is still rendering', async () => {
    // Long enough that the render is still under way when the reader presses Listen.
    const long = Array.from({ length: 40 }, (_, i) => `Update ${i + 1}: the storm moved east overnight, closing roads and schools across the region, officials said.`)
    const newId = await s.ingest('Storm live updates', long)
    const { page } = await (async () => {
      await site?.close()
      site = await hostSite(hostPageHtml({ serviceUrl: s.url, articleId: newId, paragraphs: long }))
      const ctx = await browser.newContext()
      const p = await ctx.newPage()
      p.on('pageerror', (e) => pageErrors.push(e.message))
      await p.goto(site.url)
      await p.waitForFunction(() => !!document.querySelector('briefcast-player')?.shadowRoot?.querySelector('button.listen'))
      return { page: p }
    })()
    expect((await s.info(newId)).status).not.toBe('ready')
    await shadow(page, 'button.listen').click()
    const st = await waitFor(() => audioState(page), (v) => v.currentTime > 0.5, 'progressive playback', 60_000)
    expect(st.src).toBe(`${s.url}/listen/${newId}`)
    expect(await shadow(page, '.note').textContent()).toMatch(/Still preparing audio/)
    await page.context().close()
  })

  it('never threw into the host page', () => {
    expect(pageErrors).toEqual([])
  })
})
