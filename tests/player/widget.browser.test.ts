/**
 * The <briefcast-player> widget in headless Chromium, embedded by a host page
 * on another origin, against a server that speaks the public contract with a
 * real ffmpeg-made MP3 (fixture-service.ts). The same player against the real
 * service (embed page, real render, stats) is in service.browser.test.ts.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureService, type FixtureService } from './fixture-service.ts'
import { audioState, browserSkipReason, highlighted, hostPageHtml, hostSite, launchBrowser, waitFor, type Served } from './harness.ts'

const PARAS = [
  'The council met on Tuesday to decide the budget.',
  'Members argued for three hours about the new bridge.',
  'A late amendment moved money from roads to schools.',
  'Residents who spoke were mostly in favour.',
  'The final vote was seven to four.',
  'The budget takes effect in January.',
]
const SEC = 4

describe.skipIf(browserSkipReason)('briefcast-player widget (headless Chromium, cross-origin host page)', () => {
  let svc: FixtureService
  let site: Served
  let browser: Browser
  const pageErrors: string[] = []

  beforeAll(async () => {
    svc = await startFixtureService(
      [
        { id: 'art1', title: 'Council passes budget', paragraphs: PARAS, secondsPerParagraph: SEC },
        { id: 'short1', title: 'Short one', paragraphs: PARAS.slice(0, 4), secondsPerParagraph: 1 },
        { id: 'new1', title: 'Breaking: still rendering', paragraphs: PARAS.slice(0, 3), secondsPerParagraph: 4 },
        { id: 'new2', title: 'Also rendering', paragraphs: PARAS.slice(0, 2), secondsPerParagraph: 4 },
        { id: 'edit1', title: 'Edited, re-rendering', paragraphs: PARAS.slice(0, 3), secondsPerParagraph: 4 },
      ],
      { renderingIds: ['new1', 'new2'], rerenderingIds: ['edit1'] },
    )
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await site?.close()
    await svc?.close()
  })

  async function open(articleId: string, opts: { theme?: string; extra?: string; colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
    await site?.close()
    site = await hostSite(hostPageHtml({ serviceUrl: svc.url.replace('127.0.0.1', 'localhost'), articleId, paragraphs: PARAS, theme: opts.theme, extra: opts.extra }))
    const ctx = await browser.newContext({ colorScheme: opts.colorScheme ?? 'light', viewport: { width: 800, height: 900 } })
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(`${articleId}: ${e.message}`))
    await page.goto(site.url)
    await page.waitForFunction(() => !!document.querySelector('briefcast-player')?.shadowRoot?.querySelector('button'))
    return page
  }
  const shadow = (page: Page, sel: string) => page.locator(`briefcast-player >> ${sel}`).first()

  it('shows "Listen to article" with the duration, fetches no audio before play, then plays on press', async () => {
    const page = await open('art1')
    const listen = shadow(page, 'button.listen')
    await expect.poll(() => listen.textContent()).toContain('Listen to article')
    await expect.poll(() => listen.textContent()).toContain('0:24')
    expect(await listen.getAttribute('aria-label')).toMatch(/Listen to article, 24 seconds/)
    // preload none: only info.json was requested so far.
    expect(svc.log.filter((r) => r.path.startsWith('/audio/'))).toEqual([])
    expect(svc.log.some((r) => r.path === '/listen/art1/info.json')).toBe(true)
    await listen.click()
    const s = await waitFor(() => audioState(page), (v) => v.currentTime > 0.5, 'playback to advance')
    expect(s.paused).toBe(false)
    expect(s.src).toContain('/audio/art1/abc123.mp3')
    await expect.poll(() => svc.events.filter((e) => e.id === 'art1').map((e) => JSON.parse(e.body))).toContainEqual({ event: 'start' })
    await page.context().close()
  })

  it('seeks to 80% through Range requests (206), applies 1.5x and remembers it, highlights the paragraph read', async () => {
    const page = await open('art1')
    await shadow(page, 'button.listen').click()
    await waitFor(() => audioState(page), (v) => v.currentTime > 0.2, 'playback')
    await expect.poll(() => highlighted(page)).toBe(0)
    // Seek bar to 80% the way a user's drag does: value + input event.
    await page.evaluate(() => {
      const r = document.querySelector('briefcast-player')!.shadowRoot!.querySelector('input[type=range]') as HTMLInputElement
      r.value = '800'
      r.dispatchEvent(new Event('input', { bubbles: true }))
    })
    const total = PARAS.length * SEC
    const after = await waitFor(() => audioState(page), (v) => v.currentTime > total * 0.8 && !v.paused, 'seek to 80%')
    expect(after.currentTime).toBeLessThan(total * 0.8 + 3)
    expect(svc.log.some((r) => r.path === '/audio/art1/abc123.mp3' && r.status === 206 && !!r.range)).toBe(true)
    // 80% of 24 s = 19.2 s = paragraph index 4.
    await expect.poll(() => highlighted(page)).toBe(4)
    expect(await page.evaluate(() => document.querySelectorAll('[data-briefcast-reading]').length)).toBe(1)

    // Speed: 1 -> 1.25 -> 1.5
    const sp = shadow(page, 'button.sp')
    await sp.click()
    await sp.click()
    expect((await audioState(page)).playbackRate).toBe(1.5)
    expect(await sp.getAttribute('aria-label')).toBe('Playback speed 1.5×')
    expect(await page.evaluate(() => localStorage.getItem('briefcast:rate'))).toBe('1.5')

    // Click on a paragraph plays from there.
    await page.locator('#story p:not(.ad)').nth(1).click()
    const s = await waitFor(() => audioState(page), (v) => v.currentTime >= SEC && v.currentTime < SEC * 2, 'click-to-play paragraph 2')
    expect(s.paused).toBe(false)
    await expect.poll(() => highlighted(page)).toBe(1)

    // Next / previous paragraph buttons.
    await shadow(page, 'button.nx').click()
    await waitFor(() => audioState(page), (v) => v.currentTime >= SEC * 2 && v.currentTime < SEC * 3, 'next paragraph')
    await shadow(page, 'button.pv').click()
    await shadow(page, 'button.pv').click()
    await waitFor(() => audioState(page), (v) => v.currentTime >= SEC && v.currentTime < SEC * 2, 'previous paragraph')

    // Remembered on the next page view.
    await page.reload()
    await shadow(page, 'button.listen').click()
    await waitFor(() => audioState(page), (v) => v.currentTime > 0, 'playback after reload')
    expect((await audioState(page)).playbackRate).toBe(1.5)
    await page.evaluate(() => localStorage.removeItem('briefcast:rate'))
    await page.context().close()
  })

  it('can be operated by keyboard alone', async () => {
    const page = await open('art1')
    const focused = () => page.evaluate(() => {
      const el = document.querySelector('briefcast-player')!
      const f = el.shadowRoot!.activeElement as HTMLElement | null
      return f ? (f.getAttribute('aria-label') ?? f.textContent ?? f.tagName) : document.activeElement?.tagName ?? ''
    })
    await page.keyboard.press('Tab')
    expect(await focused()).toMatch(/Listen to article/)
    await page.keyboard.press('Enter')
    await waitFor(() => audioState(page), (v) => v.currentTime > 0.3, 'keyboard start')
    // Focus moved onto the play/pause button.
    expect(await focused()).toBe('Pause')
    await page.keyboard.press('Space')
    await waitFor(() => audioState(page), (v) => v.paused, 'space pauses')
    await page.keyboard.press('Space')
    await waitFor(() => audioState(page), (v) => !v.paused, 'space plays')
    // Forward 15 s via Tab + Enter.
    await page.keyboard.press('Tab')
    expect(await focused()).toBe('Forward 15 seconds')
    let t = (await audioState(page)).currentTime
    await page.keyboard.press('Enter')
    await waitFor(() => audioState(page), (v) => v.currentTime >= t + 12, 'forward 15 s')
    await page.keyboard.press('Tab')
    expect(await focused()).toBe('Next paragraph')
    await page.keyboard.press('Tab')
    expect(await focused()).toMatch(/Playback speed 1×/)
    await page.keyboard.press('Enter')
    expect((await audioState(page)).playbackRate).toBe(1.25)
    await page.keyboard.press('Tab')
    expect(await focused()).toBe('Seek')
    await page.keyboard.press('Home')
    await waitFor(() => audioState(page), (v) => v.currentTime < 3, 'Home on the seek bar')
    t = (await audioState(page)).currentTime
    await page.keyboard.press('ArrowRight')
    await waitFor(() => audioState(page), (v) => v.currentTime >= t + 4, 'ArrowRight +5 s')
    // Back through the row: Shift+Tab to Back 15 and Previous paragraph.
    for (let i = 0; i < 5; i++) await page.keyboard.press('Shift+Tab')
    expect(await focused()).toBe('Back 15 seconds')
    await page.keyboard.press('Shift+Tab')
    expect(await focused()).toBe('Previous paragraph')
    await page.keyboard.press('Enter')
    // Focus ring is visible (outline from :focus-visible).
    const outline = await page.evaluate(() => {
      const f = document.querySelector('briefcast-player')!.shadowRoot!.activeElement as HTMLElement
      return getComputedStyle(f).outlineStyle
    })
    expect(outline).toBe('solid')
    await page.evaluate(() => localStorage.removeItem('briefcast:rate'))
    await page.context().close()
  })

  it('reports 25/50/75/100% once each', async () => {
    const page = await open('short1')
    await shadow(page, 'button.listen').click()
    await expect
      .poll(() => svc.events.filter((e) => e.id === 'short1').map((e) => JSON.parse(e.body)), { timeout: 20_000 })
      .toEqual([{ event: 'start' }, { event: 'progress', percent: 25 }, { event: 'progress', percent: 50 }, { event: 'progress', percent: 75 }, { event: 'progress', percent: 100 }])
    await page.context().close()
  })

  it('plays the progressive stream of an article still rendering, says so, then moves to the finished file', async () => {
    const page = await open('new1')
    expect(await shadow(page, 'button.listen').textContent()).not.toMatch(/\d:\d\d/)
    await shadow(page, 'button.listen').click()
    const s = await waitFor(() => audioState(page), (v) => v.currentTime > 0.5, 'progressive playback')
    expect(s.src).toMatch(/\/listen\/new1$/)
    expect(await shadow(page, '.note').textContent()).toMatch(/Still preparing audio/)
    svc.finishRender('new1')
    const after = await waitFor(() => audioState(page), (v) => v.src.includes('/audio/new1/abc123.mp3') && v.currentTime > 0.5, 'switch to the versioned file', 30_000)
    expect(after.paused).toBe(false)
    await expect.poll(() => shadow(page, '.note').textContent()).toBe('')
    await page.context().close()
  })

  it('plays the previous episode of an edited article while its new revision renders', async () => {
    const page = await open('edit1')
    await expect.poll(() => shadow(page, 'button.listen').textContent()).toContain('0:12')
    await shadow(page, 'button.listen').click()
    const st = await waitFor(() => audioState(page), (v) => v.currentTime > 0.3, 'playback of the served episode')
    expect(st.src).toContain('/audio/edit1/abc123.mp3')
    expect(await shadow(page, '.note').textContent()).toBe('')
    expect(await shadow(page, 'input[type=range]').isDisabled()).toBe(false)
    await page.context().close()
  })

  it('shows a short message for an unknown article, and survives two players and removal mid-play', async () => {
    const page = await open('nope', { extra: '<briefcast-player article="art1" id="second"></briefcast-player>' })
    await expect.poll(() => shadow(page, '.msg').textContent()).toMatch(/isn’t available/)
    const second = page.locator('#second >> button.listen')
    await second.click()
    await waitFor(() => audioState(page, 1), (v) => v.currentTime > 0.2, 'second player plays')
    const removed = await page.evaluateHandle(() => document.getElementById('second')!)
    await page.evaluate(() => document.getElementById('second')!.remove())
    await page.waitForTimeout(300)
    expect(await page.evaluate(() => document.querySelectorAll('[data-briefcast-reading]').length)).toBe(0)
    // The removed player stopped and let go of its audio.
    expect(await removed.evaluate((el) => {
      const a = el.shadowRoot!.querySelector('audio')!
      return { paused: a.paused, src: a.getAttribute('src') }
    })).toEqual({ paused: true, src: null })
    await page.context().close()
  })

  it('saves light and dark screenshots for review and passes axe-core (shadow DOM included)', async () => {
    mkdirSync('test-results', { recursive: true })
    const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
    for (const scheme of ['light', 'dark'] as const) {
      const page = await open('art1', { colorScheme: scheme })
      // The host page itself goes dark too (its own link colour included), so axe judges the player, not the test page.
      if (scheme === 'dark') await page.addStyleTag({ content: 'body{background:#111;color:#ddd} a{color:#9cf}' })
      const player = page.locator('briefcast-player').first()
      await player.screenshot({ path: `test-results/player-button-${scheme}.png` })
      await shadow(page, 'button.listen').click()
      await waitFor(() => audioState(page), (v) => v.currentTime > 0.3, 'playback')
      await page.mouse.move(0, 0)
      await page.screenshot({ path: `test-results/page-reading-${scheme}.png` })
      await shadow(page, 'button.pp').click()
      await page.mouse.move(0, 0)
      await page.waitForTimeout(200)
      await player.screenshot({ path: `test-results/player-${scheme}.png` })
      await page.setViewportSize({ width: 340, height: 700 })
      await page.waitForTimeout(100)
      await player.screenshot({ path: `test-results/player-phone-${scheme}.png` })
      await page.addScriptTag({ content: axeSource })
      type AxeResult = { id: string; impact: string | null; nodes: { target: unknown[] }[] }
      const { violations, shadowButtonsChecked } = await page.evaluate(async () => {
        // The whole page, which includes the player's open shadow root (axe targets shadow nodes as [host, inner]).
        const res = await (window as unknown as { axe: { run(ctx: unknown): Promise<{ violations: AxeResult[]; passes: AxeResult[] }> } }).axe.run(document)
        const buttonName = res.passes.find((p) => p.id === 'button-name')
        return {
          violations: res.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target) })),
          shadowButtonsChecked: buttonName ? buttonName.nodes.filter((n) => Array.isArray(n.target[0])).length : 0,
        }
      })
      if (violations.length) process.stdout.write(`axe (${scheme}): ${JSON.stringify(violations)}\n`)
      // Proof that axe looked inside the shadow DOM: all 6 player buttons passed button-name there.
      expect(shadowButtonsChecked).toBeGreaterThanOrEqual(6)
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([])
      await page.context().close()
    }
  })

  it('recovers from a network that drops: offline at load (Retry), and audio failing mid-listen (play again resumes)', async () => {
    await site?.close()
    site = await hostSite(hostPageHtml({ serviceUrl: svc.url, articleId: 'art1', paragraphs: PARAS }))
    const ctx = await browser.newContext()
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(`network: ${e.message}`))
    await page.route('**/info.json', (r) => r.abort('internetdisconnected'))
    await page.goto(site.url)
    await expect.poll(() => shadow(page, '.msg').textContent()).toMatch(/Audio is unavailable right now/)
    await page.unroute('**/info.json')
    await shadow(page, '.msg button').click()
    await expect.poll(() => shadow(page, 'button.listen').textContent()).toContain('0:24')

    // The audio request fails: a short message, the widget stays whole; pressing play again resumes.
    await page.route('**/audio/**/*.mp3', (r) => r.abort('connectionreset'))
    await shadow(page, 'button.listen').click()
    await expect.poll(() => shadow(page, '.note').textContent()).toMatch(/stopped loading.*Press play/)
    expect(await shadow(page, 'button.pp').getAttribute('aria-label')).toBe('Play')
    await page.unroute('**/audio/**/*.mp3')
    await shadow(page, 'button.pp').click()
    await waitFor(() => audioState(page), (v) => v.currentTime > 0.3 && !v.paused, 'playback after the network came back')
    await ctx.close()
  })

  it('takes the site colour with readable text, the theme attribute, Media Session metadata and reduced motion', async () => {
    await site?.close()
    site = await hostSite(
      hostPageHtml({ serviceUrl: svc.url, articleId: 'new2', paragraphs: PARAS, extra: '<briefcast-player id="c" article="art1" color="#ffd400" theme="dark"></briefcast-player>' }),
    )
    const ctx = await browser.newContext({ colorScheme: 'light', reducedMotion: 'reduce' })
    const page = await ctx.newPage()
    await page.goto(site.url)
    const colors = page.locator('#c >> button.listen')
    await colors.waitFor()
    // A light site colour gets black text; the dark theme applies even in a light page.
    expect(await colors.evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color])).toEqual(['rgb(255, 212, 0)', 'rgb(0, 0, 0)'])
    await colors.click()
    await waitFor(() => audioState(page, 1), (v) => v.currentTime > 0.2, 'coloured player plays')
    expect(await page.locator('#c >> .box').evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(31, 31, 31)')
    expect(await page.evaluate(() => navigator.mediaSession.metadata?.title)).toBe('Council passes budget')
    expect(await page.evaluate(() => navigator.mediaSession.playbackState)).toBe('playing')
    // The progressive note's pulsing dot does not animate with reduced motion.
    await page.locator('briefcast-player >> button.listen').first().click()
    await expect.poll(() => shadow(page, '.note').textContent()).toMatch(/Still preparing/)
    expect(await shadow(page, '.note').evaluate((n) => getComputedStyle(n, '::before').animationName)).toBe('none')
    // Starting the first player paused the second: one voice at a time.
    await waitFor(() => audioState(page, 1), (v) => v.paused, 'the other player pauses')
    await ctx.close()
  })

  it('stays styled on a site with a strict Content-Security-Policy (no inline styles)', async () => {
    await site?.close()
    const svcOrigin = svc.url
    site = await hostSite(hostPageHtml({ serviceUrl: svc.url, articleId: 'art1', paragraphs: PARAS }).replace(/<style>[^<]*<\/style>/, ''), {
      'Content-Security-Policy': `default-src 'self'; script-src ${svcOrigin}; connect-src ${svcOrigin}; media-src ${svcOrigin}; style-src 'self'`,
    })
    const ctx = await browser.newContext()
    const page = await ctx.newPage()
    const cspErrors: string[] = []
    page.on('console', (m) => m.text().includes('Content Security Policy') && cspErrors.push(m.text()))
    await page.goto(site.url)
    const listen = shadow(page, 'button.listen')
    await listen.waitFor()
    expect(await listen.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(26, 95, 180)')
    await listen.click()
    await waitFor(() => audioState(page), (v) => v.currentTime > 0.3, 'playback under CSP')
    await expect.poll(() => highlighted(page)).toBe(0)
    expect(await page.locator('[data-briefcast-reading]').evaluate((p) => getComputedStyle(p).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)')
    expect(cspErrors).toEqual([])
    await ctx.close()
  })

  it('never threw into the host page', () => {
    expect(pageErrors).toEqual([])
  })
})
