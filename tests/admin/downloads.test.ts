/**
 * Podcast downloads, IAB-style, against the real service: a scripted podcast
 * client fetching an episode in ranges, twice, counts once; a bot counts zero;
 * probes, HEAD and a client that fetched too little count zero. Then the figures (JSON, CSV, the page's charts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { downloadThreshold, isBot } from '../../src/admin/downloads.ts'
import { paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { addUser, peek, signIn } from './helpers.ts'

let svc: TestService
let id = ''
let audioUrl = ''
let size = 0
beforeAll(async () => {
  svc = await startTestService()
  const r = (await (await postJson(svc, '/api/articles', { title: '=HYPERLINK("http://evil.example","click")', text: paragraphs(3) })).json()) as { id: string }
  id = r.id
  const a = await waitForArticle(svc, id, ready)
  audioUrl = a.audioUrl as string
  size = (a.episode as { bytes: number }).bytes
}, 180_000)
afterAll(async () => {
  await svc?.stop()
})

const downloads = () => peek<{ n: number }>(svc, 'SELECT COALESCE(SUM(downloads),0) AS n FROM download_stats WHERE article_id = ?', id)[0]!.n

async function get(ua: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  const r = await fetch(audioUrl, { method, headers: { 'user-agent': ua, ...headers } })
  await r.arrayBuffer()
  return r
}

describe('podcast downloads', () => {
  it('a podcast app fetching the episode in ranges, twice, counts once; a bot, a probe and HEAD count zero', async () => {
    expect(size).toBeGreaterThan(3000)
    const app = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)'
    // The two-byte probe players send first: not a download.
    expect((await get(app, { range: 'bytes=0-1' })).status).toBe(206)
    expect(downloads()).toBe(0)
    const third = Math.floor(size / 3)
    for (let pass = 0; pass < 2; pass++) {
      for (const range of [`bytes=0-${third - 1}`, `bytes=${third}-${2 * third - 1}`, `bytes=${2 * third}-`]) {
        const r = await get(app, { range })
        expect(r.status).toBe(206)
      }
    }
    // Counted once the response finished: poll briefly.
    for (let i = 0; i < 50 && downloads() < 1; i++) await new Promise((r) => setTimeout(r, 20))
    expect(downloads()).toBe(1)

    expect((await get('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')).status).toBe(200)
    expect((await get('curl/8.5.0')).status).toBe(200)
    expect((await get('Overcast/3.0 (+http://overcast.fm/; iOS podcast app)', {}, 'HEAD')).status).toBe(200)
    // A client that only sampled the start (less than a minute of audio, and not the whole short episode): no download.
    expect((await get('Podcasts/1.0 (sampler)', { range: 'bytes=0-999' })).status).toBe(206)
    await new Promise((r) => setTimeout(r, 100))
    expect(downloads()).toBe(1)

    // Another app is another download; the same app again today is not.
    await get('Overcast/3.0 (+http://overcast.fm/; iOS podcast app)')
    await get('Overcast/3.0 (+http://overcast.fm/; iOS podcast app)')
    for (let i = 0; i < 50 && downloads() < 2; i++) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 100))
    expect(downloads()).toBe(2)
    // Nothing identifying is stored: no address, no user agent.
    const clients = JSON.stringify(peek(svc, 'SELECT * FROM download_clients'))
    expect(clients).not.toContain('127.0.0.1')
    expect(clients).not.toContain('Overcast')
  })

  it('a download needs a minute of audio, or the whole episode when it is shorter', () => {
    expect(downloadThreshold({ bytes: 960_000, durationMs: 120_000 })).toBe(480_000)
    expect(downloadThreshold({ bytes: 120_000, durationMs: 15_000 })).toBe(120_000)
  })

  it('knows common bots and common podcast apps apart', () => {
    for (const ua of ['Googlebot/2.1', 'facebookexternalhit/1.1', 'python-requests/2.31', 'Go-http-client/1.1', 'Wget/1.21', 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0', undefined, ''])
      expect(isBot(ua), String(ua)).toBe(true)
    for (const ua of ['AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)', 'Spotify/8.8.0 iOS/17.0 (iPhone15,2)', 'AntennaPod/3.2.0', 'PocketCasts/1.0 (Pocket Casts Feed Parser; +http://pocketcasts.com/)'.replace('Feed Parser; ', ''), 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15'])
      expect(isBot(ua), ua).toBe(false)
  })

  it('figures: per day and per article in JSON, CSV (formula-safe) and charts on the page', async () => {
    for (const body of ['{"event":"start"}', '{"event":"progress","percent":25}', '{"event":"progress","percent":50}', '{"event":"start"}'])
      expect((await fetch(`${svc.url}/listen/${id}/events`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })).status).toBe(204)
    const f = (await (await svc.api('/api/figures?days=7')).json()) as { days: { day: string; starts: number; downloads: number }[]; totals: { starts: number; p25: number; p50: number; downloads: number }; articles: { id: string; downloads: number; starts: number }[] }
    expect(f.days, JSON.stringify(f)).toHaveLength(7)
    const today = new Date().toISOString().slice(0, 10)
    expect(f.days.at(-1)).toMatchObject({ day: today, starts: 2, downloads: 2 })
    expect(f.totals).toMatchObject({ starts: 2, p25: 1, p50: 1, downloads: 2 })
    expect(f.articles).toEqual([expect.objectContaining({ id, starts: 2, downloads: 2 })])
    expect((await svc.api('/api/figures?days=0')).status).toBe(400)

    const csv = await svc.api('/api/figures.csv?days=7')
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/)
    expect(csv.headers.get('content-disposition')).toMatch(/attachment/)
    const lines = (await csv.text()).trim().split('\r\n')
    expect(lines[0]).toBe('day,article_id,external_id,title,length,starts,reached_25,reached_50,reached_75,finished,downloads')
    expect(lines).toHaveLength(2)
    // The title would be a formula in a spreadsheet: quoted and prefixed.
    expect(lines[1]).toMatch(new RegExp(`^${today},${id},,"'=HYPERLINK\\(""http://evil.example"",""click""\\)",\\d+:\\d\\d,2,1,1,0,0,2$`))

    const u = await addUser(svc, 'figviewer', 'viewer')
    const s = await signIn(svc, u.username, u.password)
    const html = await (await fetch(svc.url + '/admin/figures?days=7', { headers: { cookie: s.cookie } })).text()
    expect(html.match(/<svg class="chart"[^>]*role="img"/g), html.slice(0, 3000)).toHaveLength(2)
    expect(html).toMatch(/<rect class="s2"[^>]*><title>\d{4}-\d\d-\d\d: 2 downloads<\/title>/)
    expect(html).toContain('<title>Finished: 0 (0 %)</title>')
    expect((await fetch(svc.url + '/api/figures.csv', { headers: { cookie: s.cookie } })).status).toBe(200)
  })
})
