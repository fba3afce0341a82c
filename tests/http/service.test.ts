import { readFileSync, existsSync, readdirSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenderProcess } from '../../src/episodes/render-client.ts'
import { wavFromPcm } from '../../src/tts/wav.ts'
import { feedRuntime } from '../../src/http/routes/feed.ts'
import { API_KEY, paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from './helpers.ts'

// Google's auth library would otherwise probe the GCE metadata server over the network (the render child inherits this).
process.env.METADATA_SERVER_DETECTION = 'none'

let svc: TestService
let origin: http.Server
let originUrl: string

beforeAll(async () => {
  // A local "news site" for URL ingest: reachable as localhost (allowlisted) and as 127.0.0.1 (not).
  origin = http.createServer((req, res) => {
    if (req.url === '/story') {
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end(`<!doctype html><html lang="en"><head><title>Fetched story</title></head><body><article><h1>Fetched story</h1>
        <p>This article was fetched from a URL by the service. It has enough text to be read aloud.</p>
        <p>A second paragraph follows, so the extractor has something to work with.</p></article></body></html>`)
    } else if (req.url === '/redirect-private') {
      res.statusCode = 302
      res.setHeader('location', `http://127.0.0.1:${(origin.address() as AddressInfo).port}/story`)
      res.end()
    } else if (req.url === '/huge') {
      res.setHeader('content-type', 'text/html')
      res.end('<p>' + 'x'.repeat(200_000) + '</p>')
    } else {
      res.statusCode = 404
      res.end()
    }
  })
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r))
  originUrl = `http://localhost:${(origin.address() as AddressInfo).port}`
  svc = await startTestService({ 'fetch.allowlist': ['localhost'], 'fetch.maxBytes': 100_000, 'uploads.maxArticleBytes': 64 * 1024 })
})

afterAll(async () => {
  await svc?.stop()
  origin?.close()
})

/** Poll until `get` returns a value (generous: the machine is shared). */
async function until<T>(get: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (let v = get(); ; v = get()) {
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(svc.url + '/healthz')).status).toBe(200)
    const r = await fetch(svc.url + '/readyz')
    expect(r.status).toBe(200)
    const body = (await r.json()) as { checks: Record<string, { ok: boolean }> }
    expect(body.checks.database!.ok).toBe(true)
    expect(body.checks.ffmpeg!.ok).toBe(true)
    expect(body.checks.speech!.ok).toBe(true)
    expect(body.checks.renderer!.ok).toBe(true)
  })
})

describe('bad input', () => {
  it('401 without or with a wrong API key', async () => {
    let r = await fetch(svc.url + '/api/articles')
    expect(r.status).toBe(401)
    expect((await errorOf(r)).code).toBe('UNAUTHORIZED')
    expect(r.headers.get('www-authenticate')).toMatch(/Bearer/)
    r = await fetch(svc.url + '/api/articles', { headers: { authorization: 'Bearer wrong-key-wrong-key' } })
    expect(r.status).toBe(401)
  })

  it('400 INVALID_JSON for malformed JSON', async () => {
    const r = await svc.api('/api/articles', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title": "x", ' })
    expect(r.status).toBe(400)
    expect((await errorOf(r)).code).toBe('INVALID_JSON')
  })

  it('415 for a wrong content type', async () => {
    const r = await svc.api('/api/articles', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' })
    expect(r.status).toBe(415)
    expect((await errorOf(r)).code).toBe('UNSUPPORTED_MEDIA_TYPE')
  })

  it('400 VALIDATION_FAILED for bad fields, naming them', async () => {
    const r = await postJson(svc, '/api/articles', { text: 'Hi there.', publishedAt: 'yesterday', language: '123', bogus: 1 })
    expect(r.status).toBe(400)
    const e = await errorOf(r)
    expect(e.code).toBe('VALIDATION_FAILED')
    expect(e.message).toMatch(/publishedAt/)
    expect(e.message).toMatch(/language/)
  })

  it('400 EMPTY_INPUT without content', async () => {
    const r = await postJson(svc, '/api/articles', { title: 'Nothing' })
    expect(r.status).toBe(400)
    expect((await errorOf(r)).code).toBe('EMPTY_INPUT')
  })

  it('413 for an upload over the limit, 415 for an unsupported file', async () => {
    let fd = new FormData()
    fd.append('file', new Blob(['word '.repeat(20_000)], { type: 'text/plain' }), 'big.txt')
    let r = await svc.api('/api/articles', { method: 'POST', body: fd })
    expect(r.status).toBe(413)
    expect((await errorOf(r)).code).toBe('FILE_TOO_LARGE')
    fd = new FormData()
    fd.append('html', '<p>' + 'word '.repeat(20_000) + '</p>')
    r = await svc.api('/api/articles', { method: 'POST', body: fd })
    expect(r.status).toBe(413)
    fd = new FormData()
    fd.append('file', new Blob([Buffer.from('%PDF-1.4 binary')], { type: 'application/pdf' }), 'paper.pdf')
    r = await svc.api('/api/articles', { method: 'POST', body: fd })
    expect(r.status).toBe(415)
    expect((await errorOf(r)).code).toBe('UNSUPPORTED_MEDIA_TYPE')
    // A .txt that is really a PDF is caught by the converter.
    fd = new FormData()
    fd.append('file', new Blob([Buffer.from('%PDF-1.4 binary')], { type: 'text/plain' }), 'paper.txt')
    r = await svc.api('/api/articles', { method: 'POST', body: fd })
    expect(r.status).toBe(415)
    expect((await errorOf(r)).code).toBe('BINARY_INPUT')
  })

  it('413 for a JSON body over the limit', async () => {
    const r = await postJson(svc, '/api/articles', { text: 'word '.repeat(40_000) })
    expect(r.status).toBe(413)
  })

  it('404 for unknown articles and routes, as JSON', async () => {
    let r = await svc.api('/api/articles/nope')
    expect(r.status).toBe(404)
    expect((await errorOf(r)).code).toBe('ARTICLE_NOT_FOUND')
    r = await fetch(svc.url + '/listen/nope')
    expect(r.status).toBe(404)
    r = await fetch(svc.url + '/listen/nope/info.json')
    expect(r.status).toBe(404)
    r = await fetch(svc.url + '/no/such/route')
    expect(r.status).toBe(404)
    expect((await errorOf(r)).code).toBe('NOT_FOUND')
    r = await fetch(svc.url + '/audio/nope/0123456789abcdef.mp3')
    expect(r.status).toBe(404)
  })

  it('422 URL_NOT_ALLOWED for a private address, also after a redirect', async () => {
    const port = (origin.address() as AddressInfo).port
    let r = await postJson(svc, '/api/articles', { url: `http://127.0.0.1:${port}/story` })
    expect(r.status).toBe(422)
    expect((await errorOf(r)).code).toBe('URL_NOT_ALLOWED')
    r = await postJson(svc, '/api/articles', { url: `${originUrl}/redirect-private` })
    expect(r.status).toBe(422)
    expect((await errorOf(r)).code).toBe('URL_NOT_ALLOWED')
    r = await postJson(svc, '/api/articles', { url: 'http://169.254.169.254/latest/meta-data/' })
    expect(r.status).toBe(422)
  })

  it('413 for a fetched page over the size limit, 502 for a failing URL', async () => {
    let r = await postJson(svc, '/api/articles', { url: `${originUrl}/huge` })
    expect(r.status).toBe(413)
    r = await postJson(svc, '/api/articles', { url: `${originUrl}/missing` })
    expect(r.status).toBe(502)
    expect((await errorOf(r)).code).toBe('FETCH_FAILED')
  })

  it('answers malformed paths, queries, bodies and headers with JSON errors', async () => {
    const raw = (method: string, pathname: string, headers: Record<string, string> = {}, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const u = new URL(svc.url)
        const req = http.request({ host: u.hostname, port: u.port, method, path: pathname, headers }, (res) => {
          let data = ''
          res.on('data', (d) => (data += d))
          res.on('end', () => resolve({ status: res.statusCode!, body: data }))
        })
        req.on('error', reject)
        req.end(body)
      })
    for (const p of ['/listen/%E0%A4%A', '/audio/%zz/abc.mp3', '/audio/x/%E0%A4%A.mp3']) {
      const r = await raw('GET', p)
      expect(r.status, p).toBeGreaterThanOrEqual(400)
      expect(r.status, p).toBeLessThan(500)
      expect(JSON.parse(r.body).error.code).toBeTruthy()
    }
    const auth = { authorization: `Bearer ${API_KEY}` }
    expect((await raw('GET', '/api/articles?limit=abc&limit=2', auth)).status).toBe(400)
    expect((await raw('GET', '/api/articles?status=ready&status=failed', auth)).status).toBe(400)
    for (const body of ['[1,2]', '"text"', 'null', '{"text": 5}', '{"html": "<p>a</p>", "text": "b"}']) {
      const r = await raw('POST', '/api/articles', { ...auth, 'content-type': 'application/json' }, body)
      expect(r.status, body).toBe(400)
      expect(['INVALID_JSON', 'VALIDATION_FAILED']).toContain(JSON.parse(r.body).error.code)
    }
    const boundary = 'xyz'
    const broken = await raw('POST', '/api/articles', { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nunterminated`)
    expect(broken.status).toBeGreaterThanOrEqual(400)
    expect(broken.status).toBeLessThan(500)
    const r = await raw('GET', '/healthz')
    expect(r.status).toBe(200) // still alive
  })

  it('leaves no rows behind after rejected requests', async () => {
    const r = await svc.api('/api/articles')
    const body = (await r.json()) as { total: number }
    const count = svc.deps.store.db.prepare('SELECT COUNT(*) AS n FROM articles').get() as { n: number }
    expect(body.total).toBe(count.n)
    expect(count.n).toBe(0)
  })
})

describe('articles', () => {
  let id: string
  let audioUrl: string
  let audioFile: string

  it('ingests JSON, renders, and serves the episode', async () => {
    const r = await postJson(svc, '/api/articles', { externalId: 'cms-1', title: 'Budget talks <continue>', text: paragraphs(3), author: 'Ana Lima', publishedAt: '2026-05-01T08:00:00Z', language: 'en' })
    expect(r.status).toBe(201)
    const created = (await r.json()) as Record<string, string>
    id = created.id!
    expect(r.headers.get('location')).toBe(`/api/articles/${id}`)
    expect(['queued', 'rendering']).toContain(created.status)
    const done = await waitForArticle(svc, id, ready)
    expect(done.status).toBe('ready')
    expect(done.progress).toBe(1)
    expect(done.durationMs).toBeGreaterThan(3000)
    expect(Array.isArray(done.segments)).toBe(true)
    expect((done.segments as unknown[]).length).toBeGreaterThan(2)
    audioUrl = done.audioUrl as string
    expect(audioUrl).toMatch(new RegExp(`/audio/${id}/[A-Za-z0-9_-]+\\.mp3$`))
    const ep = svc.deps.store.episodes.get(svc.deps.store.articles.get(id)!.episodeId!)!
    audioFile = path.join(svc.config.cacheDir, ep.audioFile)
    expect(readFileSync(audioFile).length).toBe(ep.bytes)
  })

  it('admin routes accept the externalId too', async () => {
    const r = await svc.api('/api/articles/cms-1')
    expect(r.status).toBe(200)
    expect(((await r.json()) as { id: string }).id).toBe(id)
  })

  it('409 CONFLICT for a duplicate externalId', async () => {
    const r = await postJson(svc, '/api/articles', { externalId: 'cms-1', text: 'Again.' })
    expect(r.status).toBe(409)
  })

  it('lists articles, paged', async () => {
    const r = await svc.api('/api/articles?limit=1&offset=0')
    const body = (await r.json()) as { items: { id: string }[]; total: number; nextOffset: number | null }
    expect(body.items).toHaveLength(1)
    expect(body.total).toBeGreaterThanOrEqual(1)
    const bad = await svc.api('/api/articles?limit=0')
    expect(bad.status).toBe(400)
  })

  it('Listen: 302 to the immutable versioned URL; info.json per the contract', async () => {
    const r = await fetch(svc.url + `/listen/${id}`, { redirect: 'manual' })
    expect(r.status).toBe(302)
    expect(r.headers.get('location')).toBe(audioUrl)
    expect(r.headers.get('access-control-allow-origin')).toBe('*')
    const byExternal = await fetch(svc.url + `/listen/cms-1`, { redirect: 'manual' })
    expect(byExternal.headers.get('location')).toBe(audioUrl)
    const info = (await (await fetch(svc.url + `/listen/${id}/info.json`)).json()) as Record<string, unknown>
    expect(Object.keys(info).sort()).toEqual(
      ['id', 'externalId', 'title', 'language', 'status', 'progress', 'durationMs', 'audioUrl', 'streamUrl', 'transcriptUrl', 'chaptersUrl', 'timingsUrl', 'embedUrl', 'error'].sort(),
    )
    expect(info.status).toBe('ready')
    expect(info.title).toBe('Budget talks <continue>')
    for (const [file, key] of [['transcript.vtt', 'transcriptUrl'], ['chapters.json', 'chaptersUrl'], ['timings.json', 'timingsUrl']] as const) {
      const red = await fetch(svc.url + `/listen/${id}/${file}`, { redirect: 'manual' })
      expect(red.status).toBe(302)
      expect(red.headers.get('location')).toBe(info[key])
    }
  })

  it('serves the whole file, ranges, HEAD and conditionals byte for byte', async () => {
    const file = readFileSync(audioFile)
    const full = await fetch(audioUrl)
    expect(full.status).toBe(200)
    expect(full.headers.get('content-type')).toBe('audio/mpeg')
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(full.headers.get('accept-ranges')).toBe('bytes')
    expect(full.headers.get('access-control-allow-origin')).toBe('*')
    expect(Number(full.headers.get('content-length'))).toBe(file.length)
    expect(Buffer.from(await full.arrayBuffer()).equals(file)).toBe(true)
    const etag = full.headers.get('etag')!
    const lastModified = full.headers.get('last-modified')!
    expect(etag).toMatch(/^"/)

    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-65635', 100, 65635],
      [`bytes=${file.length - 500}-`, file.length - 500, file.length - 1],
      ['bytes=-1000', file.length - 1000, file.length - 1],
      [`bytes=10-${file.length + 1000}`, 10, file.length - 1],
    ]
    for (const [range, start, end] of cases) {
      const r = await fetch(audioUrl, { headers: { range } })
      expect(r.status, range).toBe(206)
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${file.length}`)
      expect(Number(r.headers.get('content-length'))).toBe(end - start + 1)
      expect(Buffer.from(await r.arrayBuffer()).equals(file.subarray(start, end + 1)), range).toBe(true)
    }

    const past = await fetch(audioUrl, { headers: { range: `bytes=${file.length}-` } })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${file.length}`)
    expect((await errorOf(past)).code).toBe('RANGE_NOT_SATISFIABLE')

    // Unparseable and multi-range requests get the whole file.
    const multi = await fetch(audioUrl, { headers: { range: 'bytes=0-1,5-6' } })
    expect(multi.status).toBe(200)
    expect(Buffer.from(await multi.arrayBuffer()).equals(file)).toBe(true)

    const head = await fetch(audioUrl, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(Number(head.headers.get('content-length'))).toBe(file.length)
    expect((await head.arrayBuffer()).byteLength).toBe(0)
    const headRange = await fetch(audioUrl, { method: 'HEAD', headers: { range: 'bytes=0-99' } })
    expect(headRange.status).toBe(206)
    expect(headRange.headers.get('content-length')).toBe('100')

    const cond = await fetch(audioUrl, { headers: { 'if-none-match': etag } })
    expect(cond.status).toBe(304)
    expect(cond.headers.get('etag')).toBe(etag)
    const since = await fetch(audioUrl, { headers: { 'if-modified-since': lastModified } })
    expect(since.status).toBe(304)
    const other = await fetch(audioUrl, { headers: { 'if-none-match': '"something-else"' } })
    expect(other.status).toBe(200)
    await other.arrayBuffer()
    // If-Range with a stale validator: the whole file instead of the range.
    const ifRange = await fetch(audioUrl, { headers: { range: 'bytes=0-9', 'if-range': '"stale"' } })
    expect(ifRange.status).toBe(200)
    expect(Buffer.from(await ifRange.arrayBuffer()).equals(file)).toBe(true)
    const ifRangeOk = await fetch(audioUrl, { headers: { range: 'bytes=0-9', 'if-range': etag } })
    expect(ifRangeOk.status).toBe(206)
    await ifRangeOk.arrayBuffer()

    const pre = await fetch(audioUrl, { method: 'OPTIONS', headers: { origin: 'https://news.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' } })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Range/)
  })

  it('serves transcript, chapters and timings with their types', async () => {
    const info = (await (await fetch(svc.url + `/listen/${id}/info.json`)).json()) as Record<string, string>
    const vtt = await fetch(info.transcriptUrl!)
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/)
    expect(await vtt.text()).toMatch(/^WEBVTT/)
    const ch = await fetch(info.chaptersUrl!)
    expect(ch.headers.get('content-type')).toMatch(/^application\/json/)
    expect(ch.headers.get('cache-control')).toMatch(/immutable/)
    await ch.json()
    const tm = await fetch(info.timingsUrl!)
    await tm.json()
  })

  it('an edit re-renders with the clip cache while the old episode stays served', async () => {
    const before = svc.deps.store.articles.get(id)!
    // The render must still be running while Listen is checked, however fast the machine: freeze the render
    // process (SIGSTOP) until the check is done; the job is sent to it and waits.
    const renderProcess = (svc.deps as unknown as { renderProcess: RenderProcess }).renderProcess
    renderProcess.start()
    const pid = await until(() => renderProcess.pid)
    process.kill(pid, 'SIGSTOP')
    try {
      const r = await postJson(svc, `/api/articles/${id}`, { text: paragraphs(3) + '\n\nOne more paragraph was added at the end of the story.' }, 'PUT')
      expect(r.status).toBe(200)
      const edited = (await r.json()) as Record<string, unknown>
      expect(edited.revision).toBe(2)
      expect(edited.title).toBe('Budget talks <continue>') // kept: not sent
      // Until the new render completes, Listen still redirects to the old file.
      await until(() => (svc.deps.store.articles.get(id)!.status === 'rendering' ? true : undefined))
      const l = await fetch(svc.url + `/listen/${id}`, { redirect: 'manual' })
      expect(l.status).toBe(302)
      expect(l.headers.get('location')).toBe(audioUrl)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    const done = await waitForArticle(svc, id, (a) => ready(a) && a.revision === 2 && (a.episode as { revision: number } | null)?.revision === 2)
    expect(done.status).toBe('ready')
    expect(done.audioUrl).not.toBe(audioUrl)
    const ep = svc.deps.store.episodes.get(svc.deps.store.articles.get(id)!.episodeId!)!
    expect(ep.stats.cached).toBeGreaterThan(0)
    expect(ep.stats.synthesized).toBeLessThan(ep.stats.segments!)
    expect(before.episodeId).not.toBe(ep.id)
    // The previous version's immutable URL keeps working for readers halfway through it.
    expect((await fetch(audioUrl, { method: 'HEAD' })).status).toBe(200)
  })

  it('ingests a multipart upload and a URL', async () => {
    const fd = new FormData()
    fd.append('file', new Blob(['# Uploaded story\n\nThis story was uploaded as a Markdown file. It is short.'], { type: 'text/markdown' }), 'story.md')
    fd.append('author', 'Uploader')
    let r = await svc.api('/api/articles', { method: 'POST', body: fd })
    expect(r.status).toBe(201)
    const up = (await r.json()) as Record<string, string>
    expect(up.title).toBe('Uploaded story')
    expect(up.author).toBe('Uploader')
    r = await postJson(svc, '/api/articles', { url: `${originUrl}/story` })
    expect(r.status).toBe(201)
    const fetched = (await r.json()) as Record<string, string>
    expect(fetched.title).toBe('Fetched story')
    expect(fetched.url).toBe(`${originUrl}/story`)
  })

  it('DELETE removes the article and its episode files', async () => {
    const eps = svc.deps.store.episodes.listForArticle(id)
    expect(eps.length).toBeGreaterThan(0)
    const files = eps.map((e) => path.join(svc.config.cacheDir, e.audioFile))
    for (const f of files) expect(existsSync(f)).toBe(true)
    const r = await svc.api(`/api/articles/${id}`, { method: 'DELETE' })
    expect(r.status).toBe(204)
    for (const f of files) expect(existsSync(f)).toBe(false)
    expect(readdirSync(path.dirname(files[0]!)).some((n) => eps.some((e) => n.startsWith(e.hash)))).toBe(false)
    expect((await svc.api(`/api/articles/${id}`)).status).toBe(404)
    expect((await fetch(audioUrl)).status).toBe(404)
    expect((await svc.api(`/api/articles/${id}`, { method: 'DELETE' })).status).toBe(404)
  })
})

describe('failed renders', () => {
  it('retries, then ends failed with the error; Listen answers with it as JSON', async () => {
    // A Google voice without credentials: the engine fails on every attempt (no fallback engine configured).
    const r = await postJson(svc, '/api/articles', { title: 'Will fail', text: 'This one cannot be spoken by the configured voice.', voice: 'google-en-us' })
    expect(r.status).toBe(201)
    const { id } = (await r.json()) as { id: string }
    const failed = await waitForArticle(svc, id, ready)
    expect(failed.status).toBe('failed')
    const err = failed.error as { code: string; message: string }
    expect(err.code).toBe('MISSING_CREDENTIALS')
    expect(err.message.length).toBeGreaterThan(0)
    const jobs = svc.deps.store.db.prepare("SELECT status, attempts, max_attempts FROM jobs WHERE subject_id = ?").all(id) as { status: string; attempts: number; max_attempts: number }[]
    expect(jobs).toHaveLength(1)
    expect(jobs[0]!.status).toBe('failed')
    // Permanent (4xx) errors fail at once; engine/credential errors use every attempt.
    expect(jobs[0]!.attempts === 1 || jobs[0]!.attempts === jobs[0]!.max_attempts).toBe(true)
    // Failed stories are never public: readers get a 404, the newsroom (a key) the error.
    expect((await fetch(svc.url + `/listen/${id}`)).status).toBe(404)
    expect((await fetch(svc.url + `/listen/${id}/info.json`)).status).toBe(404)
    const listen = await svc.api(`/listen/${id}`)
    expect(listen.status).toBe(503)
    const body = (await listen.json()) as { error: { code: string; details: { error: { code: string } } } }
    expect(body.error.code).toBe('EPISODE_NOT_READY')
    expect(body.error.details.error.code).toBe(err.code)
    const info = (await (await svc.api(`/listen/${id}/info.json`)).json()) as { status: string; error: { code: string } }
    expect(info.status).toBe('failed')
    expect(info.error.code).toBe(err.code)
  })

  it('400 for an unknown voice profile', async () => {
    const r = await postJson(svc, '/api/articles', { text: 'Hello there.', voice: 'no-such-voice' })
    expect(r.status).toBe(400)
    expect((await errorOf(r)).code).toBe('UNKNOWN_PROFILE')
  })
})

describe('progressive listening', () => {
  it('50 concurrent listens of a new article cause one render and all hear the same audio', async () => {
    const r = await postJson(svc, '/api/articles', { title: 'Fifty readers', text: paragraphs(6, 'Fifty readers arrived at once') })
    const { id } = (await r.json()) as { id: string }
    const bodies = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await fetch(svc.url + `/listen/${id}`, { redirect: 'manual' })
        if (res.status === 302) return { progressive: false, body: Buffer.from(await (await fetch(res.headers.get('location')!)).arrayBuffer()) }
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toBe('audio/mpeg')
        expect(res.headers.get('content-length')).toBeNull()
        expect(res.headers.get('x-briefcast-progressive')).toBe('1')
        return { progressive: true, body: Buffer.from(await res.arrayBuffer()) }
      }),
    )
    await waitForArticle(svc, id, ready)
    expect(svc.deps.renders.rendersByArticle.get(id)).toBe(1)
    const streamed = bodies.filter((b) => b.progressive)
    expect(streamed.length).toBeGreaterThan(0)
    for (const b of streamed) expect(b.body.equals(streamed[0]!.body)).toBe(true)
    // The streamed pieces are the episode's audio frames: the final file contains them, in order.
    const a = svc.deps.store.articles.get(id)!
    const ep = svc.deps.store.episodes.get(a.episodeId!)!
    const file = readFileSync(path.join(svc.config.cacheDir, ep.audioFile))
    expect(file.indexOf(streamed[0]!.body)).toBeGreaterThanOrEqual(0)
  })
})

describe('CORS for listen events', () => {
  it('preflights a cross-origin JSON POST /listen/:id/events, which then counts', async () => {
    const r = await postJson(svc, '/api/articles', { title: 'Counted', text: 'A short story to count listens of.' })
    const { id } = (await r.json()) as { id: string }
    const origin = 'https://news.example'
    // What a browser sends before fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}}).
    const pre = await fetch(svc.url + `/listen/${id}/events`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    expect(pre.headers.get('access-control-allow-methods')!.split(/,\s*/)).toContain('POST')
    expect(pre.headers.get('access-control-allow-headers')!.toLowerCase().split(/,\s*/)).toContain('content-type')
    const post = await fetch(svc.url + `/listen/${id}/events`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ event: 'start' }) })
    expect(post.status).toBe(204)
    expect(post.headers.get('access-control-allow-origin')).toBe('*')
    const stats = (await (await svc.api(`/api/articles/${id}/stats`)).json()) as { totals: { starts: number } }
    expect(stats.totals.starts).toBe(1)
    // The other Listen URLs stay read-only.
    const listenPre = await fetch(svc.url + `/listen/${id}/info.json`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } })
    expect(listenPre.status).toBe(204)
    expect(listenPre.headers.get('access-control-allow-methods')).not.toMatch(/POST/)
  })
})

describe('shutdown', () => {
  it('close() stops the daily-briefing schedule', async () => {
    const other = await startTestService({ 'briefing.schedule': '0 6 * * *' })
    const schedule = feedRuntime(other.deps).schedule
    try {
      expect(schedule).toBeDefined()
      expect(schedule!.nextRun()).toBeInstanceOf(Date)
    } finally {
      await other.stop()
    }
    // A stopped cron job has no next run (and its timer no longer fires).
    expect(schedule!.nextRun()).toBeNull()
  })
})

describe('assets', () => {
  /** A real (decodable) PNG: grey 8-bit pixels, one zlib stream; covers are decoded in full before they are accepted. */
  const png = (w: number, h: number) => {
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4)
      len.writeUInt32BE(data.length)
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
      const crc = Buffer.alloc(4)
      crc.writeUInt32BE(zlib.crc32(body))
      return Buffer.concat([len, body, crc])
    }
    const ihdr = Buffer.alloc(13)
    ihdr.writeUInt32BE(w, 0)
    ihdr.writeUInt32BE(h, 4)
    ihdr.set([8, 0, 0, 0, 0], 8) // 8-bit greyscale
    const rows = Buffer.alloc(h * (w + 1), 0x80)
    for (let y = 0; y < h; y++) rows[y * (w + 1)] = 0 // filter type "none"
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))])
  }
  const wav = (seconds: number) => {
    const rate = 16000
    const n = rate * seconds
    const pcm = Buffer.alloc(n * 2)
    for (let i = 0; i < n; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2)
    return wavFromPcm(pcm, rate)
  }
  const upload = (kind: string, data: Buffer, name: string, type: string) => {
    const fd = new FormData()
    fd.append('kind', kind)
    fd.append('file', new Blob([new Uint8Array(data)], { type }), name)
    return svc.api('/api/assets', { method: 'POST', body: fd })
  }

  /** A real PNG of w x h made by ffmpeg. */
  const realPng = async (w: number, h: number) => {
    const out = path.join(svc.dir, `cover-${w}x${h}.png`)
    await svc.deps.ffmpeg.runner(svc.deps.ffmpeg.paths.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `color=c=0x336699:s=${w}x${h}`, '-frames:v', '1', out])
    return readFileSync(out)
  }

  it('accepts square cover art of 1400-3000 px, decoded in full, and serves it; refuses other sizes and broken images', async () => {
    const good = await realPng(1400, 1400)
    const r = await upload('cover', good, 'cover.png', 'image/png')
    expect(r.status).toBe(201)
    const a = (await r.json()) as { id: string; width: number; height: number; url: string; warnings: string[]; mimeType: string }
    expect(a.width).toBe(1400)
    expect(a.mimeType).toBe('image/png')
    expect(a.warnings).toEqual([])
    const served = await fetch(a.url)
    expect(served.status).toBe(200)
    expect(Buffer.from(await served.arrayBuffer()).equals(good)).toBe(true)
    for (const [w, h] of [[1000, 1000], [1400, 1500], [3200, 3200]] as const) {
      const small = await upload('cover', await realPng(w, h), 'c.png', 'image/png')
      expect(small.status, `${w}x${h}`).toBe(422)
      expect((await errorOf(small)).code).toBe('COVER_SIZE')
    }
    // A PNG header that claims 1400x1400 with nothing behind it: the full decode refuses it.
    // (the signature and the IHDR chunk of a real PNG: 8 + 25 bytes).
    const headerOnly = await upload('cover', png(1400, 1400).subarray(0, 33), 'cover.png', 'image/png')
    expect(headerOnly.status).toBe(415)
    expect((await errorOf(headerOnly)).code).toBe('INVALID_IMAGE')
    const truncated = await upload('cover', good.subarray(0, Math.floor(good.length / 2)), 'cover.png', 'image/png')
    expect(truncated.status).toBe(415)
    const bad = await upload('cover', Buffer.from('GIF89a not supported'), 'x.gif', 'image/gif')
    expect(bad.status).toBe(415)
    expect((await errorOf(bad)).code).toBe('INVALID_IMAGE')
    expect(readdirSync(path.join(svc.config.cacheDir, 'assets')).filter((f) => f.includes('.tmp'))).toEqual([])
  })

  it('accepts a jingle checked with ffprobe and rejects non-audio', async () => {
    const r = await upload('jingle', wav(1), 'jingle.wav', 'audio/wav')
    expect(r.status).toBe(201)
    const a = (await r.json()) as { durationMs: number; id: string }
    expect(a.durationMs).toBeGreaterThan(900)
    const bad = await upload('jingle', Buffer.from('definitely not audio '.repeat(100)), 'jingle.mp3', 'audio/mpeg')
    expect(bad.status).toBe(415)
    expect((await errorOf(bad)).code).toBe('INVALID_AUDIO')
    // The rejected upload left no file behind.
    const files = readdirSync(path.join(svc.config.cacheDir, 'assets'))
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
    // The generated default cover, the uploaded cover and the jingle.
    expect(files).toHaveLength(3)
    const list = (await (await svc.api('/api/assets')).json()) as { items: unknown[] }
    expect(list.items).toHaveLength(3)
    expect((await svc.api(`/api/assets/${a.id}`, { method: 'DELETE' })).status).toBe(204)
    expect(readdirSync(path.join(svc.config.cacheDir, 'assets'))).toHaveLength(2)
  })

  it('rejects a wrong kind and a non-multipart request', async () => {
    expect((await upload('poster', png(10, 10), 'p.png', 'image/png')).status).toBe(400)
    const r = await postJson(svc, '/api/assets', { kind: 'cover' })
    expect(r.status).toBe(415)
  })
})

describe('home page', () => {
  it('is public and shows the show, its feeds and the player, escaped, but nothing unpublished', async () => {
    const evil = '<img src=x onerror=alert(1)>'
    const r = await postJson(svc, '/api/articles', { title: evil, text: 'A harmless body for an evil title.' })
    const { id } = (await r.json()) as { id: string }
    await waitForArticle(svc, id, ready)
    const page = await fetch(svc.url + '/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/)
    const html = await page.text()
    expect(html).not.toContain(evil)
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;') // published: listed, escaped
    expect(html).toContain(`${svc.url}/feed.xml`)
    expect(html).toContain(`${svc.url}/feeds/articles.xml`)
    expect(html).toContain(`${svc.url}/player.js`)
    expect(html).toContain('&lt;briefcast-player article=')
    expect(html).toContain('href="/admin"')
  })
})

describe('the API key', () => {
  it('the API key is required for the form endpoint', async () => {
    const r = await fetch(svc.url + '/api/articles', { method: 'POST', body: new FormData() })
    expect(r.status).toBe(401)
    expect(API_KEY.length).toBeGreaterThan(16)
  })
})
