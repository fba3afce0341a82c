/**
 * Run-time settings and the sources page against the real service (SQLite,
 * HTTP on port 0, dashboard sessions with CSRF): GET/PUT /api/settings for
 * admins only, validation with config.ts's rules naming the field, a changed
 * show title in the feeds on the next request (new ETags), reset to default,
 * the briefing schedule re-armed, the default polling interval, settings kept
 * across a restart; /admin/sources with a healthy and a failing source, its
 * items, and admin-only changes.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { pageHtml, rss, startSite, story, type Site } from '../sources/site.ts'
import { addUser, asSession, signIn, type Session } from './helpers.ts'

type SettingJson = { key: string; default: unknown; value: unknown; overridden: boolean; env: string | null; updatedBy: string | null }
type ErrorJson = { error: { code: string; message: string; details?: { problems?: { field: string; message: string }[] } } }

let svc: TestService
let site: Site
const s: Record<'admin' | 'editor' | 'viewer', Session> = {} as never

beforeAll(async () => {
  site = await startSite()
  svc = await startTestService({ 'fetch.allowlist': ['127.0.0.1'], 'fetch.timeoutMs': 1500, 'show.title': 'Configured Radio' })
  for (const role of ['admin', 'editor', 'viewer'] as const) {
    const u = await addUser(svc, `${role}-user`, role)
    s[role] = await signIn(svc, u.username, u.password)
  }
}, 60_000)
afterAll(async () => {
  await svc?.stop()
  await site?.close()
})

const put = (who: Session, json: unknown) => asSession(svc, who, '/api/settings', { method: 'PUT', json })
const settings = async (who = s.admin) => ((await (await asSession(svc, who, '/api/settings')).json()) as { items: SettingJson[] }).items
const setting = async (key: string) => (await settings()).find((x) => x.key === key)!
const channelTitle = (xml: string) => /<channel>[\s\S]*?<title>([^<]*)<\/title>/.exec(xml)?.[1]

describe('/api/settings', () => {
  it('is for admins: no credentials 401, viewer and editor 403 (read and write), admin 200', async () => {
    expect((await fetch(svc.url + '/api/settings')).status).toBe(401)
    for (const who of [s.viewer, s.editor]) {
      const r = await asSession(svc, who, '/api/settings')
      expect(r.status).toBe(403)
      expect(((await r.json()) as ErrorJson).error.code).toBe('FORBIDDEN')
      expect((await put(who, { set: { 'show.title': 'Hijacked' } })).status).toBe(403)
    }
    // Without the CSRF token a session cannot change anything.
    const noCsrf = await fetch(svc.url + '/api/settings', { method: 'PUT', headers: { cookie: s.admin.cookie, 'content-type': 'application/json' }, body: '{"set":{"show.title":"x"}}' })
    expect(noCsrf.status).toBe(403)
    expect(((await noCsrf.json()) as ErrorJson).error.code).toBe('CSRF_FAILED')
    const items = await settings()
    const title = items.find((x) => x.key === 'show.title')!
    expect(title).toMatchObject({ default: 'Configured Radio', value: 'Configured Radio', overridden: false, env: 'BRIEFCAST_SHOW_TITLE' })
    // Nothing secret or needing a restart is offered.
    expect(items.map((x) => x.key).filter((k) => /apiKey|port|Dir|storage|secret|publicUrl/i.test(k))).toEqual([])
    expect((await svc.api('/api/settings')).status).toBe(200) // the admin API key too
  })

  it('validates with the config rules, names the field, and stores nothing when one value is bad', async () => {
    const cases: [string, unknown][] = [
      ['show.ownerEmail', 'not-an-email'],
      ['briefing.schedule', 'every morning'],
      ['briefing.timeZone', 'Mars/Olympus'],
      ['feed.itemLimit', 0],
      ['briefing.storyMode', 'summary'],
      ['show.title', '   '],
      ['sources.intervalSeconds', 5],
    ]
    for (const [key, value] of cases) {
      const r = await put(s.admin, { set: { 'show.author': 'Should not be stored', [key]: value } })
      expect(r.status, key).toBe(400)
      const e = ((await r.json()) as ErrorJson).error
      expect(e.code).toBe('VALIDATION_FAILED')
      expect(e.message).toContain(key)
      expect(e.details?.problems?.[0]?.field).toBe(key)
    }
    expect((await setting('show.author')).overridden).toBe(false)
    const unknown = await put(s.admin, { set: { port: 80 } })
    expect(unknown.status).toBe(400)
    expect(((await unknown.json()) as ErrorJson).error.message).toMatch(/"port" is not a setting/)
    expect((await put(s.admin, { title: 'x' })).status).toBe(400)
  })

  it('a new show title is in both feeds on the next request, with new ETags; reset returns to the configured one', async () => {
    const before = await fetch(svc.url + '/feeds/articles.xml')
    const etag = before.headers.get('etag')!
    expect(channelTitle(await before.text())).toBe('Configured Radio: all articles')
    const mainBefore = await fetch(svc.url + '/feed.xml')
    const mainEtag = mainBefore.headers.get('etag')!
    expect(channelTitle(await mainBefore.text())).toBe('Configured Radio')
    expect((await fetch(svc.url + '/feeds/articles.xml', { headers: { 'if-none-match': etag } })).status).toBe(304)

    const r = await put(s.admin, { set: { 'show.title': 'Evening Radio', 'show.explicit': true } })
    expect(r.status).toBe(200)
    const body = (await r.json()) as { changed: string[]; items: SettingJson[] }
    expect(body.changed.sort()).toEqual(['show.explicit', 'show.title'])
    expect(body.items.find((x) => x.key === 'show.title')).toMatchObject({ value: 'Evening Radio', default: 'Configured Radio', overridden: true, updatedBy: 'session:admin-user' })

    const after = await fetch(svc.url + '/feeds/articles.xml', { headers: { 'if-none-match': etag } })
    expect(after.status).toBe(200)
    expect(after.headers.get('etag')).not.toBe(etag)
    const xml = await after.text()
    expect(channelTitle(xml)).toBe('Evening Radio: all articles')
    expect(xml).toMatch(/<itunes:explicit>(true|yes)<\/itunes:explicit>/)
    const main = await fetch(svc.url + '/feed.xml')
    expect(main.headers.get('etag')).not.toBe(mainEtag)
    expect(channelTitle(await main.text())).toBe('Evening Radio')
    // The dashboard's own title follows too.
    expect(await (await fetch(svc.url + '/admin/settings', { headers: { cookie: s.admin.cookie } })).text()).toContain('<title>Settings · Evening Radio</title>')

    const reset = await put(s.admin, { reset: ['show.title', 'show.explicit'] })
    expect(reset.status).toBe(200)
    expect((await setting('show.title')).overridden).toBe(false)
    const back = await fetch(svc.url + '/feeds/articles.xml')
    expect(channelTitle(await back.text())).toBe('Configured Radio: all articles')
    expect(back.headers.get('etag')).toBe(etag)
  })

  it('new article audio is tagged with the new show title (album), without a restart', async () => {
    expect((await put(s.admin, { set: { 'show.title': 'Tagged Radio' } })).status).toBe(200)
    try {
      const created = (await (await postJson(svc, '/api/articles', { title: 'Tag check', text: paragraphs(1, 'The tram depot reopens') })).json()) as { id: string }
      const a = await waitForArticle(svc, created.id, ready)
      expect(a.status).toBe('ready')
      const audio = Buffer.from(await (await fetch(a.audioUrl as string)).arrayBuffer())
      const head = audio.subarray(0, 4096)
      expect(head.subarray(0, 3).toString('latin1')).toBe('ID3')
      expect(head.includes(Buffer.from('Tagged Radio', 'latin1')) || head.includes(Buffer.from('Tagged Radio', 'utf16le'))).toBe(true)
    } finally {
      expect((await put(s.admin, { reset: ['show.title'] })).status).toBe(200)
    }
  }, 120_000)

  it('saving the configured value is no override; the briefing schedule is re-armed live', async () => {
    expect((await put(s.admin, { set: { 'show.title': 'Configured Radio' } })).status).toBe(200)
    expect((await setting('show.title')).overridden).toBe(false)

    const briefings = async () => (await (await fetch(svc.url + '/admin/briefings', { headers: { cookie: s.admin.cookie } })).text()).replace(/\s+/g, ' ')
    expect(await briefings()).toContain('Schedule: none')
    expect((await put(s.admin, { set: { 'briefing.schedule': '0 6 * * *', 'briefing.timeZone': 'Europe/Berlin' } })).status).toBe(200)
    const armed = await briefings()
    expect(armed).toContain('<code>0 6 * * *</code> (Europe/Berlin); next run <strong>')
    expect(armed).not.toContain('next run <strong>none')
    // Unset again (null: no schedule), then back to the configured default (none either).
    expect((await put(s.admin, { set: { 'briefing.schedule': null } })).status).toBe(200)
    expect(await briefings()).toContain('Schedule: none')
    expect((await put(s.admin, { reset: ['briefing.schedule', 'briefing.timeZone'] })).status).toBe(200)
    expect((await setting('briefing.timeZone')).value).toBe('UTC')
  })

  it('the default polling interval applies to sources added from then on', async () => {
    expect((await put(s.admin, { set: { 'sources.intervalSeconds': 120 } })).status).toBe(200)
    const r = await asSession(svc, s.admin, '/api/sources', { method: 'POST', json: { id: 'later', url: `${site.url}/later.xml`, enabled: false } })
    expect(r.status).toBe(201)
    expect(((await r.json()) as { intervalSeconds: number }).intervalSeconds).toBe(120)
    expect((await asSession(svc, s.admin, '/api/sources/later', { method: 'DELETE' })).status).toBe(204)
    expect((await put(s.admin, { reset: ['sources.intervalSeconds'] })).status).toBe(200)
  })
})

describe('settings survive a restart', () => {
  it('are applied at start from the database', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-settings-'))
    const dirs = { dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache') }
    try {
      const first = await startTestService(dirs)
      try {
        const r = await first.api('/api/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ set: { 'show.title': 'Kept Radio' } }) })
        expect(r.status).toBe(200)
      } finally {
        await first.stop()
      }
      const second = await startTestService(dirs)
      try {
        expect(channelTitle(await (await fetch(second.url + '/feed.xml')).text())).toBe('Kept Radio')
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

describe('/admin/sources', () => {
  it('shows each source with its health and items; viewers look, admins act', async () => {
    const s1 = story('s1', 'Bridge repairs begin', '2026-11-30T08:00:00Z')
    site.docs.set('/news/s1', { body: pageHtml(s1, site.url), type: 'text/html; charset=utf-8' })
    site.docs.set('/rss.xml', { body: rss(site.url, [s1]), type: 'application/rss+xml' })
    const add = (json: unknown) => asSession(svc, s.admin, '/api/sources', { method: 'POST', json })
    expect((await add({ id: 'good', url: `${site.url}/rss.xml`, intervalSeconds: 3600 })).status).toBe(201)
    expect((await add({ id: 'broken', url: `${site.url}/missing.xml`, intervalSeconds: 90 })).status).toBe(201)
    const hook = await add({ id: 'cms', kind: 'webhook' })
    expect(hook.status).toBe(201)
    expect(((await hook.json()) as { secret: string }).secret.length).toBeGreaterThanOrEqual(24)
    expect((await add({ id: 'fresh', url: `${site.url}/fresh.xml`, enabled: false })).status).toBe(201)
    // Poll now, as the page's button does (session + CSRF).
    for (const id of ['good', 'broken']) expect((await asSession(svc, s.admin, `/api/sources/${id}/poll`, { method: 'POST' })).status).toBe(200)
    // Editors and viewers cannot change sources (an admin thing); viewers may read.
    expect((await asSession(svc, s.editor, '/api/sources/good/poll', { method: 'POST' })).status).toBe(403)
    expect((await asSession(svc, s.editor, '/api/sources/good', { method: 'PATCH', json: { enabled: false } })).status).toBe(403)
    expect((await asSession(svc, s.viewer, '/api/sources/good', { method: 'DELETE' })).status).toBe(403)
    expect((await asSession(svc, s.viewer, '/api/sources')).status).toBe(200)

    const html = async (who: Session) => (await (await fetch(svc.url + '/admin/sources', { headers: { cookie: who.cookie } })).text()).replace(/\s+/g, ' ')
    const section = (page: string, id: string) => page.slice(page.indexOf(`data-source="${id}"`), page.indexOf('</section>', page.indexOf(`data-source="${id}"`)))
    // The poller may poll a new source too (it is due at once): compare the page with the API's counts.
    type St = { status: { polls: number; notModified: number; failures: number; itemsSeen: number; itemsIngested: number } }
    const admin = await html(s.admin)
    const api = Object.fromEntries(((await (await svc.api('/api/sources')).json()) as { items: (St & { id: string })[] }).items.map((x) => [x.id, x.status]))
    const good = section(admin, 'good')
    expect(good).toContain('data-health="ok"')
    expect(api.good!.polls).toBeGreaterThanOrEqual(1)
    expect(good).toContain(`Polls</dt><dd>${api.good!.polls} <small>(${api.good!.notModified} not modified, 304)`)
    expect(api.good!.itemsIngested).toBe(1)
    expect(good).toContain(`Items</dt><dd>${api.good!.itemsSeen} seen, 1 ingested`)
    expect(good).toContain('Interval</dt><dd>1:00:00</dd>') // m:ss, h:mm:ss from an hour
    expect(good).toContain('Bridge repairs begin')
    expect(good).toContain('>live<')
    expect(good).toContain('data-api="/api/sources/good/poll"')
    const broken = section(admin, 'broken')
    expect(broken).toContain('data-health="failing"')
    expect(broken).toMatch(/Last error [^:]+:\d\d UTC: [A-Z_]+: /)
    expect(api.broken!.failures).toBeGreaterThanOrEqual(1)
    expect(broken).toContain(`Failures in a row</dt><dd>${api.broken!.failures}</dd>`)
    expect(broken).toContain('Last success</dt><dd>never')
    expect(broken).toContain('Interval</dt><dd>1:30</dd>')
    const cms = section(admin, 'cms')
    expect(cms).toContain('data-health="webhook"')
    expect(cms).toContain('/api/hooks/cms')
    expect(cms).not.toContain('/poll"')
    expect(cms).not.toContain('Last poll')
    expect(cms).toContain('Items</dt><dd>0 ingested')
    expect(section(admin, 'fresh')).toContain('data-health="disabled"')
    expect(section(admin, 'fresh')).toContain('>Enable<')
    expect(admin).toMatch(/4 sources: <strong>1<\/strong> ok, <strong class="status-failed">1<\/strong> failing/)
    expect(admin).toContain('id="add-feed"')
    expect(admin).toContain('id="add-hook"')
    // The secret is never on the page.
    expect(admin).not.toMatch(/secret_enc|secretSealed/)

    const viewer = await html(s.viewer)
    expect(section(viewer, 'good')).toContain('data-health="ok"')
    expect(viewer).not.toMatch(/data-method="(POST|PATCH|DELETE)"/)
    expect(viewer).not.toContain('id="add-feed"')
    // The settings page is for admins only.
    const r = await fetch(svc.url + '/admin/settings', { headers: { cookie: s.viewer.cookie } })
    expect(r.status).toBe(403)
    expect(await (await fetch(svc.url + '/admin/settings', { headers: { cookie: s.editor.cookie } })).text()).toContain('This page is for admins')
  }, 60_000)
})
