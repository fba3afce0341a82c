/**
 * Feeds and briefings end to end: the real service on port 0 (SQLite,
 * espeak-ng, ffmpeg, job queue), three stories of the plain corpus ingested
 * through the admin API, a briefing made through /api/briefings, and both
 * feeds read back with rss-parser; enclosures checked with HEAD and Range.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { XMLValidator } from 'fast-xml-parser'
import Parser from 'rss-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseVtt } from '../../src/audio/transcript.ts'
import { wavFromPcm } from '../../src/tts/wav.ts'
import { briefingRepository } from '../../src/feed/briefing-store.ts'
import { API_KEY, startTestService, type TestService } from '../http/helpers.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/plain')

type Item = { transcript?: { $: Record<string, string> }; chapters?: { $: Record<string, string> }; itunes?: Record<string, string> }
const parser: Parser<{ 'podcast:guid'?: string }, Item> = new Parser({
  customFields: { feed: ['podcast:guid'] as never, item: [['podcast:transcript', 'transcript'], ['podcast:chapters', 'chapters']] as never },
})

/** Title line, then the body (blank-line separated paragraphs), as the fixture files are written. */
async function story(n: number): Promise<{ title: string; text: string }> {
  const raw = await fs.readFile(path.join(FIXTURES, `story-${n}.txt`), 'utf8')
  const [title, ...rest] = raw.trim().split('\n')
  return { title: title!.trim(), text: rest.join('\n').trim() }
}

let svc: TestService
let dir: string
let url: string
const api = (pathname: string, init: RequestInit = {}) =>
  fetch(url + pathname, { ...init, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } })

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 300))
  }
}

type ArticleJson = { id: string; status: string; revision: number; error: unknown; episode: { hash: string; bytes: number } | null }
async function waitArticle(id: string, revision = 1): Promise<ArticleJson> {
  return waitFor(`article ${id} r${revision}`, async () => {
    const a = (await (await api(`/api/articles/${id}`)).json()) as ArticleJson
    if (a.status === 'failed') throw new Error(`article ${id} failed: ${JSON.stringify(a.error)}`)
    return a.status === 'ready' && a.revision === revision ? a : undefined
  })
}

type BriefingJson = {
  id: string
  status: string
  error: unknown
  stories: { articleId: string; title: string }[]
  skipped: { articleId: string; code: string }[]
  audioUrl: string
  transcriptUrl: string
  chaptersUrl: string
  durationMs: number
  bytes: number
  chapters: { title: string; startMs: number; endMs: number }[]
  loudness: { integratedLufs: number; truePeakDb: number }
}
async function waitBriefing(id: string): Promise<BriefingJson> {
  return waitFor(`briefing ${id}`, async () => {
    const b = (await (await api(`/api/briefings/${id}`)).json()) as BriefingJson
    if (b.status === 'failed') throw new Error(`briefing failed: ${JSON.stringify(b.error)}`)
    return b.status === 'ready' ? b : undefined
  })
}

/** HEAD and a Range request on an enclosure: 200/206 with headers matching the feed's length and type. */
async function checkEnclosure(enclosure: { url: string; length?: string | number; type?: string }): Promise<void> {
  const length = Number(enclosure.length)
  expect(length).toBeGreaterThan(1000)
  const head = await fetch(enclosure.url, { method: 'HEAD' })
  expect(head.status).toBe(200)
  expect(head.headers.get('content-length')).toBe(String(length))
  expect(head.headers.get('content-type')).toBe(enclosure.type)
  expect(head.headers.get('accept-ranges')).toBe('bytes')
  const etag = head.headers.get('etag')
  expect(etag).toBeTruthy()
  const range = await fetch(enclosure.url, { headers: { range: 'bytes=100-1123' } })
  expect(range.status).toBe(206)
  expect(range.headers.get('content-range')).toBe(`bytes 100-1123/${length}`)
  expect(range.headers.get('content-length')).toBe('1024')
  expect(range.headers.get('content-type')).toBe(enclosure.type)
  expect(range.headers.get('etag')).toBe(etag)
  expect((await range.arrayBuffer()).byteLength).toBe(1024)
  const tail = await fetch(enclosure.url, { headers: { range: 'bytes=-10' } })
  expect(tail.status).toBe(206)
  expect(tail.headers.get('content-range')).toBe(`bytes ${length - 10}-${length - 1}/${length}`)
  // and the whole file really is that long
  expect((await (await fetch(enclosure.url)).arrayBuffer()).byteLength).toBe(length)
}

const ids: string[] = []
const titles: string[] = []
let briefing: BriefingJson

beforeAll(async () => {
  svc = await startTestService({
    'show.title': 'The Daily Brief',
    'show.imageUrl': 'https://cdn.example.com/cover.jpg',
    'show.siteUrl': 'https://news.example.com/',
    'audio.encodeConcurrency': 2,
    'tts.espeakWorkers': 2,
  })
  dir = svc.dir
  url = svc.url
  for (const n of [1, 2, 3]) {
    const { title, text } = await story(n)
    const r = await api('/api/articles', {
      method: 'POST',
      body: JSON.stringify({ title, text, language: 'en', url: `https://news.example.com/story-${n}`, publishedAt: new Date(Date.now() - (4 - n) * 3_600_000).toISOString() }),
    })
    expect(r.status).toBe(201)
    ids.push(((await r.json()) as { id: string }).id)
    titles.push(title)
  }
  for (const id of ids) await waitArticle(id)

  const r = await api('/api/briefings', { method: 'POST', body: JSON.stringify({ articleIds: ids, mode: 'full', date: '2026-11-26T06:00:00Z' }) })
  expect(r.status).toBe(202)
  briefing = await waitBriefing(((await r.json()) as { id: string }).id)
}, 600_000)

afterAll(async () => {
  await svc?.stop()
})

describe('a briefing of the three plain-corpus stories', () => {
  it('has the opening, then one chapter per story, in order, named after the stories', async () => {
    const expected = ['The Daily Brief: Thursday, November 26', ...titles]
    expect(briefing.stories.map((s) => s.articleId)).toEqual(ids)
    expect(briefing.chapters.map((c) => c.title)).toEqual(expected)
    expect(briefing.chapters[0]!.startMs).toBe(0)
    expect(briefing.chapters[0]!.endMs).toBeLessThan(8000) // just the spoken opening
    expect(briefing.chapters[3]!.endMs).toBe(briefing.durationMs)
    for (let i = 1; i < 4; i++) expect(briefing.chapters[i]!.startMs).toBe(briefing.chapters[i - 1]!.endMs)
    const json = (await (await fetch(briefing.chaptersUrl)).json()) as { chapters: { title: string; startTime: number }[] }
    expect(json.chapters.map((c) => c.title)).toEqual(expected)
    // the chapters are in the MP3 too (ID3 CHAP)
    const info = await svc.deps.ffmpeg.probe(path.join(dir, 'cache', 'episodes', `${new URL(briefing.audioUrl).pathname.split('/').pop()}`))
    expect(info.chapters.map((c) => c.title)).toEqual(expected)
  })

  it('is at -16 LUFS +/- 1 with true peak <= -1 dBTP, measured on the served file', async () => {
    const file = path.join(dir, 'briefing.mp3')
    await fs.writeFile(file, Buffer.from(await (await fetch(briefing.audioUrl)).arrayBuffer()))
    const l = await svc.deps.ffmpeg.measureLoudness(file)
    expect(l.integratedLufs).toBeGreaterThanOrEqual(-17)
    expect(l.integratedLufs).toBeLessThanOrEqual(-15)
    expect(l.truePeakDb).toBeLessThanOrEqual(-1)
  })

  it('has a VTT transcript covering the whole episode: opening, every title, closing', async () => {
    const r = await fetch(briefing.transcriptUrl)
    expect(r.headers.get('content-type')).toMatch(/^text\/vtt/)
    const cues = parseVtt(await r.text())
    expect(cues[0]!.startMs).toBe(0)
    expect(Math.abs(cues[cues.length - 1]!.endMs - briefing.durationMs)).toBeLessThanOrEqual(1)
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.startMs).toBeGreaterThanOrEqual(cues[i - 1]!.startMs)
    const text = cues.map((c) => c.text)
    expect(text[0]).toBe('This is The Daily Brief for Thursday, November 26.')
    // Cues are at most 65 characters (split between words): a long title may span two cues.
    for (const t of text) expect(t.length).toBeLessThanOrEqual(65)
    const joined = text.join(' ')
    const at = titles.map((t) => joined.indexOf(t))
    expect(at.every((i) => i > 0)).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
    expect(text[text.length - 1]).toMatch(/Thanks for listening/)
  })

  it('reused the articles\' cached clips: only the host lines were synthesized', async () => {
    const rec = briefingRepository(svc.deps.store.db).get(briefing.id)!
    const ep = svc.deps.store.episodes.get(rec.episodeId!)!
    const hostLines = 1 + 2 + 1 // opening, two transitions, closing
    expect(ep.stats.synthesized).toBe(hostLines)
    expect(ep.stats.cached).toBe(ep.stats.segments! - hostLines)
  })
})

describe('/feed.xml (briefings)', () => {
  it('parses with rss-parser with every tag present and correct', async () => {
    const r = await fetch(`${url}/feed.xml`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('application/rss+xml; charset=utf-8')
    const xml = await r.text()
    expect(XMLValidator.validate(xml)).toBe(true)
    const feed = await parser.parseString(xml)
    expect(feed.title).toBe('The Daily Brief')
    expect(feed.feedUrl).toBe(`${url}/feed.xml`)
    expect(feed.link).toBe('https://news.example.com/')
    expect(feed.itunes?.image).toBe('https://cdn.example.com/cover.jpg')
    expect(feed.itunes?.owner?.email).toBe('podcast@example.com')
    expect(feed['podcast:guid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(feed.items).toHaveLength(1)
    const item = feed.items[0]!
    expect(item.guid).toBe(`briefcast:briefing:${briefing.id}`)
    expect(item.title).toBe('The Daily Brief: Thursday, November 26')
    expect(item.pubDate).toBe('Thu, 26 Nov 2026 06:00:00 GMT')
    expect(item.enclosure).toEqual({ url: briefing.audioUrl, length: String(briefing.bytes), type: 'audio/mpeg' })
    expect(item.itunes?.duration).toMatch(/^00:0\d:\d\d$/)
    expect(item.itunes?.episodeType).toBe('full')
    expect(item.itunes?.summary).toContain(titles[1])
    expect(item.transcript?.$).toEqual({ url: briefing.transcriptUrl, type: 'text/vtt' })
    expect(item.chapters?.$).toEqual({ url: briefing.chaptersUrl, type: 'application/json+chapters' })
    // eslint-disable-next-line no-control-regex
    expect(/^[\x00-\x7F]+$/.test(item.enclosure!.url) && /\.mp3$/.test(item.enclosure!.url)).toBe(true)
    const size = (await fs.stat(path.join(dir, 'cache', 'episodes', path.basename(new URL(item.enclosure!.url).pathname)))).size
    expect(Number(item.enclosure!.length)).toBe(size)
    await checkEnclosure(item.enclosure!)
  })

  it('answers conditional GETs with 304 (ETag and Last-Modified)', async () => {
    const first = await fetch(`${url}/feed.xml`)
    const etag = first.headers.get('etag')!
    const lastModified = first.headers.get('last-modified')!
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
    expect(Date.parse(lastModified)).toBeGreaterThan(0)
    const byTag = await fetch(`${url}/feed.xml`, { headers: { 'if-none-match': etag } })
    expect(byTag.status).toBe(304)
    expect(await byTag.text()).toBe('')
    const byDate = await fetch(`${url}/feed.xml`, { headers: { 'if-modified-since': lastModified } })
    expect(byDate.status).toBe(304)
    const older = await fetch(`${url}/feed.xml`, { headers: { 'if-modified-since': new Date(Date.parse(lastModified) - 1000).toUTCString() } })
    expect(older.status).toBe(200)
    const other = await fetch(`${url}/feed.xml`, { headers: { 'if-none-match': '"something-else"' } })
    expect(other.status).toBe(200)
    const head = await fetch(`${url}/feed.xml`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('etag')).toBe(etag)
  })
})

describe('/feeds/articles.xml and edits', () => {
  it('has one item per article with a stable guid; an edit keeps the guid and changes the enclosure URL and length', async () => {
    const before = await parser.parseString(await (await fetch(`${url}/feeds/articles.xml`)).text())
    expect(before.items.map((i) => i.guid)).toEqual([...ids].reverse().map((id) => `briefcast:article:${id}`)) // newest first
    expect(before.items.map((i) => i.title)).toEqual([...titles].reverse())
    for (const item of before.items) await checkEnclosure(item.enclosure!)
    const etag = (await fetch(`${url}/feeds/articles.xml`)).headers.get('etag')!

    const { text } = await story(3)
    const r = await api(`/api/articles/${ids[2]}`, { method: 'PUT', body: JSON.stringify({ text: `${text}\n\nThis paragraph was added in an edit, so the episode is longer now.` }) })
    expect(r.status).toBe(200)
    await waitArticle(ids[2]!, 2)

    const changed = await fetch(`${url}/feeds/articles.xml`, { headers: { 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    const after = await parser.parseString(await changed.text())
    const was = before.items.find((i) => i.guid === `briefcast:article:${ids[2]}`)!
    const now = after.items.find((i) => i.guid === `briefcast:article:${ids[2]}`)!
    expect(now).toBeDefined()
    expect(now.enclosure!.url).not.toBe(was.enclosure!.url)
    expect(Number(now.enclosure!.length)).toBeGreaterThan(Number(was.enclosure!.length))
    await checkEnclosure(now.enclosure!)
    // the other items did not change
    expect(after.items.filter((i) => i.guid !== now.guid).map((i) => i.enclosure!.url)).toEqual(before.items.filter((i) => i.guid !== now.guid).map((i) => i.enclosure!.url))
  }, 300_000)
})

describe('/api/briefings errors and options', () => {
  it('needs the API key', async () => {
    const r = await fetch(`${url}/api/briefings`)
    expect(r.status).toBe(401)
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
  })

  it('rejects bad requests with VALIDATION_FAILED naming the fields', async () => {
    for (const body of [{}, { articleIds: ['a'], sinceHours: 3 }, { articleIds: ['a'], mode: 'short' }, { articleIds: ['a'], bogus: 1 }]) {
      const r = await api('/api/briefings', { method: 'POST', body: JSON.stringify(body) })
      expect(r.status).toBe(400)
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')
    }
    const bad = await api('/api/briefings', { method: 'POST', body: '{nope' })
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_JSON')
  })

  it('unknown ids: ARTICLE_NOT_FOUND with the ids, or a briefing of the rest with allowPartial', async () => {
    const r = await api('/api/briefings', { method: 'POST', body: JSON.stringify({ articleIds: [ids[0], 'nope-1', 'nope-2'] }) })
    expect(r.status).toBe(404)
    const e = ((await r.json()) as { error: { code: string; message: string; details: { unknownIds: string[] } } }).error
    expect(e.code).toBe('ARTICLE_NOT_FOUND')
    expect(e.details.unknownIds).toEqual(['nope-1', 'nope-2'])
    expect(e.message).toContain('allowPartial')

    const partial = await api('/api/briefings', {
      method: 'POST',
      body: JSON.stringify({ stories: [{ articleId: 'nope-1' }, { articleId: ids[0], mode: 'lede', ledeSeconds: 15 }, { articleId: ids[1], title: 'Money for medical AI' }], allowPartial: true }),
    })
    expect(partial.status).toBe(202)
    const b = (await partial.json()) as BriefingJson
    expect(b.skipped).toEqual([{ articleId: 'nope-1', code: 'ARTICLE_NOT_FOUND', message: 'No article with id "nope-1".' }])
    expect(b.stories.map((s) => s.articleId)).toEqual([ids[0], ids[1]])
    const done = await waitBriefing(b.id)
    expect(done.chapters.slice(1).map((c) => c.title)).toEqual([titles[0], 'Money for medical AI'])
    // lede mode: the first story is much shorter than in the full briefing
    const len = (c: { startMs: number; endMs: number }) => c.endMs - c.startMs
    expect(len(done.chapters[1]!)).toBeLessThan(len(briefing.chapters[1]!) * 0.6)
    const list = (await (await api('/api/briefings')).json()) as { items: { id: string }[]; total: number }
    expect(list.total).toBe(2)
    expect(list.items.map((i) => i.id)).toContain(b.id)
  }, 300_000)

  it('failed articles and empty selections: clear errors', async () => {
    svc.deps.store.articles.setStatus(ids[1]!, 'failed', { error: { code: 'ENGINE_FAILED', message: 'test failure' } })
    try {
      const r = await api('/api/briefings', { method: 'POST', body: JSON.stringify({ articleIds: [ids[0], ids[1]] }) })
      expect(r.status).toBe(422)
      const e = ((await r.json()) as { error: { code: string; message: string; details: { skipped: { articleId: string; code: string }[] } } }).error
      expect(e.code).toBe('BRIEFING_EMPTY')
      expect(e.details.skipped).toEqual([expect.objectContaining({ articleId: ids[1], code: 'ARTICLE_FAILED' })])
      expect(e.message).toContain(ids[1])
      const only = await api('/api/briefings', { method: 'POST', body: JSON.stringify({ articleIds: [ids[1]], allowPartial: true }) })
      expect(only.status).toBe(422)
      expect(((await only.json()) as { error: { code: string } }).error.code).toBe('BRIEFING_EMPTY')
    } finally {
      svc.deps.store.articles.setStatus(ids[1]!, 'ready')
    }
    const empty = await api('/api/briefings', { method: 'POST', body: JSON.stringify({ articleIds: [] }) })
    expect(empty.status).toBe(422)
    expect(((await empty.json()) as { error: { code: string } }).error.code).toBe('BRIEFING_EMPTY')
    const none = await api('/api/briefings', { method: 'POST', body: JSON.stringify({ sinceHours: 2, date: '2001-01-01T06:00:00Z' }) })
    expect(none.status).toBe(422)
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('BRIEFING_EMPTY')
    const missing = await api('/api/briefings/does-not-exist')
    expect(missing.status).toBe(404)
  })

  it('intro and outro jingles from /api/assets frame the briefing', async () => {
    const up = new FormData()
    up.set('kind', 'jingle')
    up.set('file', new Blob([new Uint8Array(toneWav(2, 660))], { type: 'audio/wav' }), 'sting.wav')
    const asset = await fetch(`${url}/api/assets`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: up })
    expect(asset.status).toBe(201)
    const jingle = ((await asset.json()) as { id: string }).id

    const bad = await api('/api/briefings', { method: 'POST', body: JSON.stringify({ articleIds: [ids[0]], introJingle: 'no-such-asset' }) })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')

    const body = { articleIds: [ids[0]], mode: 'lede', ledeSeconds: 10, date: '2026-11-27T06:00:00Z' }
    const plain = await waitBriefing(((await (await api('/api/briefings', { method: 'POST', body: JSON.stringify(body) })).json()) as { id: string }).id)
    const framed = await waitBriefing(
      ((await (await api('/api/briefings', { method: 'POST', body: JSON.stringify({ ...body, introJingle: jingle, outroJingle: jingle }) })).json()) as { id: string }).id,
    )
    const extra = framed.durationMs - plain.durationMs
    expect(extra).toBeGreaterThan(3800) // two 2 s jingles (plus the gap after the intro)
    expect(extra).toBeLessThan(5500)
    const cues = parseVtt(await (await fetch(framed.transcriptUrl)).text())
    expect(cues[0]!.startMs).toBeGreaterThanOrEqual(1900) // speech starts after the intro
    expect(cues[cues.length - 1]!.endMs).toBeLessThan(framed.durationMs - 1500) // and ends before the outro
    expect(framed.chapters[0]!.startMs).toBe(0)
  }, 300_000)
})

/** A mono 16-bit 44.1 kHz WAV of a sine tone with short fades. */
function toneWav(seconds: number, hz: number): Buffer {
  const rate = 44_100
  const n = Math.round(seconds * rate)
  const data = Buffer.alloc(n * 2)
  for (let i = 0; i < n; i++) {
    const fade = Math.min(1, i / 2000, (n - i) / 2000)
    data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 0.3 * fade * 32767), i * 2)
  }
  return wavFromPcm(data, rate)
}
