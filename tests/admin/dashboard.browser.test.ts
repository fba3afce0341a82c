/**
 * The dashboard in headless Chromium against the real service: sign-in with
 * the keyboard only, adding an article with its status shown live, the
 * pronunciation acceptance (fix a name, hear it, save, re-render only the
 * segments with it), roles (a viewer has no buttons and the API says 403), a
 * cross-site form post refused, no sideways scrolling at 390 px, axe on every
 * page, and screenshots (light/dark, desktop/phone) in test-results/admin/.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserSkipReason, launchBrowser, serve, type Served } from '../player/harness.ts'
import { paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { addUser } from './helpers.ts'
import { pageHtml, rss, startSite, story, type Site } from '../sources/site.ts'

const NAME = 'Zorblax'
const STORY = [
  'The city council met on Tuesday evening to settle the budget for next year.',
  `The chief executive of ${NAME} told members the company would hire forty people.`,
  'Members argued for three hours about the cost of the new river bridge.',
].join('\n\n')

describe.skipIf(browserSkipReason)('the dashboard (headless Chromium)', () => {
  let svc: TestService
  let browser: Browser
  let site: Site
  let storyId = ''
  const users: Record<'admin' | 'editor' | 'viewer', { username: string; password: string }> = {} as never
  const pageErrors: string[] = []
  const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

  beforeAll(async () => {
    site = await startSite()
    ;[svc, browser] = await Promise.all([startTestService({ 'fetch.allowlist': ['127.0.0.1'], 'show.title': 'Configured Radio' }), launchBrowser()])
    users.admin = await addUser(svc, 'ada', 'admin')
    users.editor = await addUser(svc, 'eddie', 'editor')
    users.viewer = await addUser(svc, 'vera', 'viewer')
    const a = (await (await postJson(svc, '/api/articles', { title: 'Council budget', text: STORY })).json()) as { id: string }
    storyId = a.id
    const b = (await (await postJson(svc, '/api/articles', { title: 'Library reading room', text: paragraphs(2, 'The library opens a reading room') })).json()) as { id: string }
    await waitForArticle(svc, a.id, ready)
    await waitForArticle(svc, b.id, ready)
    // Some figures to chart.
    for (const body of ['{"event":"start"}', '{"event":"progress","percent":25}', '{"event":"start"}'])
      await fetch(`${svc.url}/listen/${a.id}/events`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })
    await postJson(svc, '/api/briefings', { articleIds: [a.id, b.id], title: 'Morning edition' })
    // Sources for the sources page: a healthy feed with a story, one that fails (404), a webhook source.
    const s1 = story('s1', 'Ferry timetable changes', '2026-11-30T08:00:00Z')
    site.docs.set('/news/s1', { body: pageHtml(s1, site.url), type: 'text/html; charset=utf-8' })
    site.docs.set('/rss.xml', { body: rss(site.url, [s1]), type: 'application/rss+xml' })
    for (const src of [{ id: 'main-feed', url: `${site.url}/rss.xml`, intervalSeconds: 3600 }, { id: 'old-sitemap', url: `${site.url}/gone.xml`, kind: 'sitemap', intervalSeconds: 900 }, { id: 'cms', kind: 'webhook' }])
      expect((await postJson(svc, '/api/sources', src)).status).toBe(201)
    for (const id of ['main-feed', 'old-sitemap']) await svc.api(`/api/sources/${id}/poll`, { method: 'POST' })
  }, 240_000)
  afterAll(async () => {
    await browser?.close()
    await svc?.stop()
    await site?.close()
    expect(pageErrors).toEqual([])
  })

  async function signedIn(role: 'admin' | 'editor' | 'viewer', options: { colorScheme?: 'light' | 'dark'; width?: number } = {}): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', viewport: { width: options.width ?? 1200, height: 900 } })
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(`${role}: ${e.message}`))
    await page.goto(svc.url + '/admin/login')
    await page.fill('#username', users[role].username)
    await page.fill('#password', users[role].password)
    await Promise.all([page.waitForURL(/\/admin$/), page.click('button[type=submit]')])
    return { ctx, page }
  }

  it('signs in with the keyboard only and adds an article whose status updates in place', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } })
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(svc.url + '/admin')
    expect(page.url()).toContain('/admin/login?next=')
    // Tab from the top of the page: skip link, brand, then the form.
    const focusOrder: string[] = []
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab')
      const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName)
      focusOrder.push(id ?? '')
      if (id === 'username') break
    }
    expect(focusOrder.at(-1)).toBe('username')
    await page.keyboard.type(users.editor.username)
    await page.keyboard.press('Tab')
    await page.keyboard.type(users.editor.password)
    await Promise.all([page.waitForURL(/\/admin$/), page.keyboard.press('Enter')])
    await expect(page.locator('h1').textContent()).resolves.toBe('Articles')
    // Focus is visible (an outline from :focus-visible) when moving by keyboard.
    await page.keyboard.press('Tab')
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)
    expect(outline).toBe('solid')

    // Add by text with the keyboard: focus the text area, type, Tab to the button, Enter.
    await page.focus('#add-body')
    await page.keyboard.type('Typed in the newsroom. The ferry runs again from Monday.')
    await page.focus('#add-article button[type=submit]')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => /Added/.test(document.querySelector('#add-article .result')?.textContent ?? ''))
    const row = page.locator('#articles tbody tr').first()
    await expect(row.textContent()).resolves.toContain('Typed in the newsroom')
    // The new row's status goes live to "ready" and its length appears as m:ss, without a reload.
    await page.waitForFunction(() => document.querySelector('#articles tbody tr .status')?.textContent === 'ready', undefined, { timeout: 90_000 })
    expect(await row.locator('[data-length]').textContent()).toMatch(/^\d+:\d\d$/)
    await ctx.close()
  }, 150_000)

  it('an editor fixes a mispronounced name, hears it, saves, and only the segment with it renders again', async () => {
    const { ctx, page } = await signedIn('editor')
    const before = (await svc.deps.store.articles.get(storyId))!.episodeId
    const beforeHash = before !== null ? (await svc.deps.store.episodes.get(before))?.hash : undefined
    await page.goto(svc.url + '/admin/pronunciation?language=en')
    await page.click('#add-entry')
    const row = page.locator('#lexicon-table tbody tr').last()
    await row.locator('input[name=match]').fill(NAME)
    await row.locator('input[name=say]').fill('zor blacks')
    const [hear] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/lexicon/en/hear')), row.locator('[data-hear]').click()])
    expect(hear.status()).toBe(200)
    expect(hear.headers()['content-type']).toMatch(/audio\/wav/)
    await page.waitForFunction(() => (document.getElementById('preview-audio') as HTMLAudioElement).src.startsWith('blob:'))
    await page.click('#lexicon button[type=submit]')
    await page.waitForSelector('#rerender-affected')
    const result = await page.locator('#lexicon-result').textContent()
    expect(result).toContain(`1 article contains the changed words (${NAME})`)
    expect(result).toContain('Council budget')
    expect(result).not.toContain('Library')
    await page.click('#rerender-affected')
    await page.waitForFunction(() => /Re-rendering 1 article/.test(document.getElementById('lexicon-result')?.textContent ?? ''))
    const after = await waitForArticle(svc, storyId, (a) => a.status === 'ready' && (a.episode as { hash?: string } | null)?.hash !== beforeHash)
    expect(after.status).toBe('ready')
    const ep = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(storyId))!.episodeId!))!
    const segments = (await svc.deps.store.articles.getScript(storyId))!.script.segments
    expect(ep.stats.synthesized).toBe(1)
    expect(ep.stats.cached).toBe(segments.length - 1)
    await ctx.close()
  }, 150_000)

  it('a viewer sees no buttons that change anything, and the API answers 403', async () => {
    const { ctx, page } = await signedIn('viewer')
    for (const p of ['/admin', `/admin/articles/${storyId}`, '/admin/pronunciation', '/admin/briefings', '/admin/sources']) {
      await page.goto(svc.url + p)
      const changing = await page.locator('[data-method="POST"], [data-method="PUT"], [data-method="DELETE"], [data-method="PATCH"], #add-article, #compose, #add-entry, [data-hear]').count()
      expect(changing, p).toBe(0)
    }
    expect(await page.locator('nav a', { hasText: 'Users' }).count()).toBe(0)
    expect(await page.locator('nav a', { hasText: 'Settings' }).count()).toBe(0)
    // The viewer still sees the sources' health.
    await page.goto(svc.url + '/admin/sources')
    expect(await page.locator('[data-source="old-sitemap"] [data-health]').textContent()).toMatch(/failing/)
    const statuses = await page.evaluate(async (id) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!
      const h = { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }
      return Promise.all([
        fetch('/api/articles', { method: 'POST', headers: h, body: '{"text":"x"}' }).then((r) => r.status),
        fetch(`/api/articles/${id}`, { method: 'DELETE', headers: h }).then((r) => r.status),
        fetch('/api/lexicon/en', { method: 'PUT', headers: h, body: '{"entries":[]}' }).then((r) => r.status),
        fetch('/api/articles').then((r) => r.status),
      ])
    }, storyId)
    expect(statuses).toEqual([403, 403, 403, 200])
    await ctx.close()
  })

  it('a cross-site form post from another site is refused, even while signed in', async () => {
    const { ctx, page } = await signedIn('admin')
    const count = async () => (await svc.deps.store.articles.list({ limit: 1, offset: 0 })).total
    const before = await count()
    // Another site (127.0.0.1 is not the service's "localhost" site): an auto-submitting form to our API.
    let evil: Served | undefined
    try {
      evil = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end(`<!doctype html><title>Win a prize</title><form id="f" method="post" enctype="multipart/form-data" action="${svc.url}/api/articles"><input name="text" value="Planted by another site."></form><script>document.getElementById('f').submit()</script>`)
      })
      expect(new URL(evil.url).hostname).not.toBe(new URL(svc.url).hostname)
      const [response] = await Promise.all([page.waitForResponse((r) => r.url() === `${svc.url}/api/articles`), page.goto(evil.url)])
      expect([401, 403]).toContain(response.status())
      expect(await count()).toBe(before)
    } finally {
      await evil?.close()
    }
    // The session itself still works on our own site.
    await page.goto(svc.url + '/admin/users')
    expect(await page.locator('h1').textContent()).toBe('Users')
    await ctx.close()
  })

  it('an admin changes the show title on the settings page with the keyboard; the feed has it on the next request; reset to default', async () => {
    const { ctx, page } = await signedIn('admin')
    const feedTitle = async () => /<channel>[\s\S]*?<title>([^<]*)<\/title>/.exec(await (await fetch(svc.url + '/feeds/articles.xml')).text())?.[1]
    const before = (await fetch(svc.url + '/feeds/articles.xml')).headers.get('etag')
    expect(await feedTitle()).toBe('Configured Radio: all articles')
    await page.goto(svc.url + '/admin/settings')
    expect(await page.locator('#set-show-title-help').textContent()).toContain('Default: Configured Radio')
    await page.focus('#set-show-title')
    await page.keyboard.press('ControlOrMeta+a')
    await page.keyboard.type('Newsroom Nightly')
    await Promise.all([page.waitForURL(/\/admin\/settings\?saved=1$/), page.keyboard.press('Enter')])
    expect(await page.locator('main .notice[role=status]').textContent()).toContain('Saved 1 setting')
    expect(await page.inputValue('#set-show-title')).toBe('Newsroom Nightly')
    const after = await fetch(svc.url + '/feeds/articles.xml')
    expect(after.headers.get('etag')).not.toBe(before)
    expect(await feedTitle()).toBe('Newsroom Nightly: all articles')
    // A bad value: the error names the field, and focus goes to it.
    await page.fill('#set-show-ownerEmail', 'nobody')
    await page.focus('#settings-form button[type=submit]')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => /show\.ownerEmail/.test(document.getElementById('settings-result')?.textContent ?? ''))
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('set-show-ownerEmail')
    expect(await page.getAttribute('#set-show-ownerEmail', 'aria-invalid')).toBe('true')
    // Reset the title to the configured default, by keyboard.
    await page.reload()
    await page.focus('[data-key="show.title"] button')
    await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')])
    expect(await page.inputValue('#set-show-title')).toBe('Configured Radio')
    expect(await page.locator('[data-key="show.title"] button').count()).toBe(0)
    expect(await feedTitle()).toBe('Configured Radio: all articles')
    await ctx.close()
  }, 60_000)

  it('an admin sees the sources\' health, polls one now, adds a webhook source (secret shown once) and disables it', async () => {
    const { ctx, page } = await signedIn('admin', { width: 390 })
    await page.goto(svc.url + '/admin/sources')
    expect(await page.locator('[data-source="main-feed"] [data-health]').textContent()).toBe('ok')
    expect(await page.locator('[data-source="old-sitemap"] .health').textContent()).toMatch(/failing[\s\S]*HTTP 404/)
    await page.locator('[data-source="main-feed"] summary').click()
    expect(await page.locator('[data-source="main-feed"] table').textContent()).toContain('Ferry timetable changes')
    const polls = async () => (await svc.deps.store.sources.get('main-feed'))!.polls
    const before = await polls()
    await Promise.all([page.waitForEvent('load'), page.locator('[data-source="main-feed"] button', { hasText: 'Poll now' }).click()])
    expect(await polls()).toBe(before + 1)
    expect(await page.locator('[data-source="main-feed"] .facts').textContent()).toContain(`Polls${before + 1} (`)
    // A webhook source, with the keyboard: its secret appears once, in the form's status.
    await page.focus('#hook-id')
    await page.keyboard.type('wire-service')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => /shown once/.test(document.querySelector('#add-hook .result')?.textContent ?? ''))
    const secret = await page.locator('#add-hook .result code.secret').textContent()
    expect(secret!.length).toBeGreaterThanOrEqual(32)
    await page.reload()
    expect(await page.content()).not.toContain(secret!)
    await Promise.all([page.waitForEvent('load'), page.locator('[data-source="wire-service"] button', { hasText: 'Disable' }).click()])
    expect(await page.locator('[data-source="wire-service"] [data-health]').textContent()).toBe('disabled')
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await ctx.close()
  }, 60_000)

  it('every admin page: no sideways scroll at 390 px, axe-clean, screenshots light and dark, desktop and phone', async () => {
    mkdirSync('test-results/admin', { recursive: true })
    const pages = ['/admin', `/admin/articles/${storyId}`, '/admin/briefings', '/admin/pronunciation', '/admin/voices', '/admin/figures', '/admin/sources', '/admin/keys', '/admin/users', '/admin/settings', '/admin/login']
    type AxeResult = { id: string; impact: string | null; nodes: { target: unknown[] }[] }
    for (const scheme of ['light', 'dark'] as const) {
      for (const [device, width] of [
        ['desktop', 1280],
        ['phone', 390],
      ] as const) {
        const { ctx, page } = await signedIn('admin', { colorScheme: scheme, width })
        for (const p of pages) {
          if (p === '/admin/login') {
            await ctx.clearCookies()
          }
          await page.goto(svc.url + p)
          const name = p === '/admin' ? 'articles' : p.startsWith('/admin/articles/') ? 'article' : p.replace('/admin/', '')
          await page.screenshot({ path: `test-results/admin/${name}-${device}-${scheme}.png`, fullPage: true })
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
          expect(overflow, `${p} at ${width}px`).toBeLessThanOrEqual(0)
          if (device === 'phone' || scheme === 'dark') {
            // Through the debugger, not a script tag: the page keeps its strict CSP while axe runs.
            await page.evaluate(axeSource)
            const { violations, passes } = await page.evaluate(async () => {
              const res = await (window as unknown as { axe: { run(ctx: unknown): Promise<{ violations: AxeResult[]; passes: AxeResult[] }> } }).axe.run(document)
              return { violations: res.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target) })), passes: res.passes.map((x) => x.id) }
            })
            expect(violations, `axe on ${p} (${scheme}, ${device})`).toEqual([])
            // axe really looked: contrast, labels and landmarks were checked and passed.
            expect(passes).toEqual(expect.arrayContaining(['color-contrast', 'html-has-lang', 'landmark-one-main']))
          }
        }
        await ctx.close()
      }
    }
  }, 240_000)
})
