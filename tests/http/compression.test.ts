/**
 * Response compression: the real service on port 0 with one rendered article
 * (espeak-ng + ffmpeg), read over raw HTTP (node:http, so nothing decodes for
 * us) and decoded here; plus the middleware on a bare node server for the
 * streaming paths (backpressure, prompt flushing of audio and event streams).
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compressResponse, EncodedBody, isCompressibleType, negotiateEncoding } from '../../src/http/compress.ts'
import { API_KEY, paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from './helpers.ts'

process.env.METADATA_SERVER_DETECTION = 'none'

interface Raw {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

function rawRequest(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

function decode(r: Raw): Buffer {
  const enc = r.headers['content-encoding']
  if (enc === 'gzip') return zlib.gunzipSync(r.body)
  if (enc === 'br') return zlib.brotliDecompressSync(r.body)
  if (enc === undefined) return r.body
  throw new Error(`unexpected content-encoding ${enc}`)
}

const varies = (r: Raw) => /(^|,)\s*accept-encoding\s*(,|$)/i.test(String(r.headers.vary ?? ''))

let svc: TestService
let articleId: string
let ep: { hash: string; audioFile: string }
const auth = { authorization: `Bearer ${API_KEY}` }

beforeAll(async () => {
  svc = await startTestService()
  const r = await postJson(svc, '/api/articles', { title: 'Compression check', text: paragraphs(8, 'The harbour board met on Monday') })
  expect(r.status).toBe(201)
  articleId = ((await r.json()) as { id: string }).id
  const a = await waitForArticle(svc, articleId, ready, 180_000)
  expect(a.status).toBe('ready')
  const record = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(articleId))!.episodeId!))!
  ep = { hash: record.hash, audioFile: path.resolve(svc.dir, 'cache', record.audioFile) }
}, 240_000)

afterAll(async () => {
  await svc?.stop()
})

describe('compressible responses of the service', () => {
  it('feeds: gzip or br when accepted, identity otherwise, exactly the same XML, Vary on all', async () => {
    for (const feed of ['/feed.xml', '/feeds/articles.xml']) {
      const plain = await rawRequest(svc.url + feed)
      expect(plain.status).toBe(200)
      expect(plain.headers['content-encoding']).toBeUndefined()
      expect(varies(plain)).toBe(true)
      expect(Number(plain.headers['content-length'])).toBe(plain.body.length)
      expect(plain.body.length).toBeGreaterThan(1024)
      expect(plain.body.toString('utf8')).toContain('<rss')

      const gz = await rawRequest(svc.url + feed, { 'accept-encoding': 'gzip' })
      expect(gz.headers['content-encoding']).toBe('gzip')
      expect(varies(gz)).toBe(true)
      expect(Number(gz.headers['content-length'])).toBe(gz.body.length)
      expect(gz.body.length).toBeLessThan(plain.body.length)
      expect(decode(gz).equals(plain.body)).toBe(true)

      const br = await rawRequest(svc.url + feed, { 'accept-encoding': 'gzip, deflate, br' })
      expect(br.headers['content-encoding']).toBe('br')
      expect(decode(br).equals(plain.body)).toBe(true)

      // q-values: gzip preferred over br, and br refused.
      expect((await rawRequest(svc.url + feed, { 'accept-encoding': 'br;q=0.5, gzip' })).headers['content-encoding']).toBe('gzip')
      expect((await rawRequest(svc.url + feed, { 'accept-encoding': 'br;q=0, *' })).headers['content-encoding']).toBe('gzip')
      expect((await rawRequest(svc.url + feed, { 'accept-encoding': 'identity' })).headers['content-encoding']).toBeUndefined()
      // A Range request never gets a compressed answer.
      const ranged = await rawRequest(svc.url + feed, { 'accept-encoding': 'gzip, br', range: 'bytes=0-99' })
      expect(ranged.headers['content-encoding']).toBeUndefined()
      expect(ranged.body.equals(plain.body) || ranged.body.equals(plain.body.subarray(0, 100))).toBe(true)
    }
  })

  it('feeds: each encoding has its own strong ETag, and 304s work for each', async () => {
    const url = svc.url + '/feed.xml'
    const plain = await rawRequest(url)
    const gz = await rawRequest(url, { 'accept-encoding': 'gzip' })
    const br = await rawRequest(url, { 'accept-encoding': 'br' })
    const tags = [plain, gz, br].map((r) => String(r.headers.etag))
    for (const t of tags) expect(t).toMatch(/^"[0-9a-f]{32}"$/)
    expect(new Set(tags).size).toBe(3)
    // The same representation again: the same ETag (the encodings are cached, not redone differently).
    const gz2 = await rawRequest(url, { 'accept-encoding': 'gzip' })
    expect(gz2.headers.etag).toBe(gz.headers.etag)
    expect(gz2.body.equals(gz.body)).toBe(true)

    const notModified = await rawRequest(url, { 'accept-encoding': 'gzip', 'if-none-match': String(gz.headers.etag) })
    expect(notModified.status).toBe(304)
    expect(notModified.body.length).toBe(0)
    expect(notModified.headers.etag).toBe(gz.headers.etag)
    expect(varies(notModified)).toBe(true)
    expect((await rawRequest(url, { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })).status).toBe(304)
    expect((await rawRequest(url, { 'if-none-match': String(plain.headers.etag) })).status).toBe(304)
    // The validator names one representation: a client asking for another one gets it in full.
    const other = await rawRequest(url, { 'if-none-match': String(gz.headers.etag) })
    expect(other.status).toBe(200)
    expect(other.headers['content-encoding']).toBeUndefined()
    expect(other.body.equals(plain.body)).toBe(true)
    // Last-Modified still works with compression.
    const byDate = await rawRequest(url, { 'accept-encoding': 'gzip', 'if-modified-since': String(gz.headers['last-modified']) })
    expect(byDate.status).toBe(304)

    // HEAD describes the GET it stands for.
    const head = await rawRequest(url, { 'accept-encoding': 'gzip' }, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.headers['content-encoding']).toBe('gzip')
    expect(head.headers['content-length']).toBe(String(gz.body.length))
    expect(head.headers.etag).toBe(gz.headers.etag)
  })

  it('home page HTML and JSON API responses decompress to exactly the identity body', async () => {
    for (const [url, headers] of [
      [svc.url + '/', {}],
      [svc.url + `/api/articles/${articleId}`, auth],
      [svc.url + '/api/articles', auth],
    ] as const) {
      const plain = await rawRequest(url, headers)
      expect(plain.status).toBe(200)
      expect(plain.headers['content-encoding']).toBeUndefined()
      expect(varies(plain)).toBe(true)
      expect(plain.body.length).toBeGreaterThan(1024)
      for (const enc of ['gzip', 'br']) {
        const r = await rawRequest(url, { ...headers, 'accept-encoding': enc })
        expect(r.status).toBe(200)
        expect(r.headers['content-encoding']).toBe(enc)
        expect(varies(r)).toBe(true)
        expect(r.headers['content-length']).toBe(String(r.body.length))
        expect(r.body.length).toBeLessThan(plain.body.length)
        expect(decode(r).toString('utf8')).toBe(plain.body.toString('utf8'))
      }
    }
    // JSON is really JSON after decoding.
    const json = JSON.parse(decode(await rawRequest(svc.url + `/api/articles/${articleId}`, { ...auth, 'accept-encoding': 'gzip' })).toString('utf8')) as { id: string }
    expect(json.id).toBe(articleId)
  })

  it('small responses are sent as they are, with Vary', async () => {
    const r = await rawRequest(svc.url + '/healthz', { 'accept-encoding': 'gzip, br' })
    expect(r.status).toBe(200)
    expect(r.body.length).toBeLessThan(1024)
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(varies(r)).toBe(true)
    const err = await rawRequest(svc.url + '/no/such/page', { 'accept-encoding': 'gzip' })
    expect(err.status).toBe(404)
    expect(err.headers['content-encoding']).toBeUndefined()
    expect((JSON.parse(err.body.toString('utf8')) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
  })

  it('transcripts, chapters and timings (the audio fast path) are compressed, with weak ETags that still revalidate', async () => {
    for (const ext of ['vtt', 'timings.json', 'chapters.json']) {
      const url = `${svc.url}/audio/${articleId}/${ep.hash}.${ext}`
      const plain = await rawRequest(url)
      expect(plain.status).toBe(200)
      expect(plain.headers['content-encoding']).toBeUndefined()
      const etag = String(plain.headers.etag)
      expect(etag).toMatch(/^"/)
      const gz = await rawRequest(url, { 'accept-encoding': 'gzip' })
      expect(gz.status).toBe(200)
      expect(decode(gz).equals(plain.body)).toBe(true)
      if (plain.body.length < 1024) {
        expect(gz.headers['content-encoding']).toBeUndefined()
        continue
      }
      expect(gz.headers['content-encoding']).toBe('gzip')
      expect(varies(gz)).toBe(true)
      // Not the identity's strong ETag on different bytes.
      expect(gz.headers.etag).toBe(`W/${etag}`)
      const again = await rawRequest(url, { 'accept-encoding': 'gzip', 'if-none-match': String(gz.headers.etag) })
      expect(again.status).toBe(304)
      expect(again.headers.etag).toBe(`W/${etag}`)
      expect((await rawRequest(url, { 'if-none-match': etag })).status).toBe(304)
      // A byte range of a transcript (large enough to be worth compressing): the identity bytes, never compressed.
      const part = await rawRequest(url, { 'accept-encoding': 'gzip', range: 'bytes=1-' })
      expect(part.status).toBe(206)
      expect(part.headers['content-encoding']).toBeUndefined()
      expect(part.headers.etag).toBe(etag)
      expect(part.body.equals(plain.body.subarray(1))).toBe(true)
    }
    // The transcript really was worth compressing (paragraphs(8) makes several KB of cues).
    expect((await rawRequest(`${svc.url}/audio/${articleId}/${ep.hash}.vtt`, { 'accept-encoding': 'br' })).headers['content-encoding']).toBe('br')
  })

  it('audio is never compressed; ranges, If-Range and 304 on audio stay byte-exact', async () => {
    const file = readFileSync(ep.audioFile)
    const url = `${svc.url}/audio/${articleId}/${ep.hash}.mp3`
    const full = await rawRequest(url, { 'accept-encoding': 'gzip, deflate, br' })
    expect(full.status).toBe(200)
    expect(full.headers['content-type']).toBe('audio/mpeg')
    expect(full.headers['content-encoding']).toBeUndefined()
    expect(full.headers['content-length']).toBe(String(file.length))
    expect(full.body.equals(file)).toBe(true)
    const etag = String(full.headers.etag)
    expect(etag).toMatch(/^"/)

    const part = await rawRequest(url, { 'accept-encoding': 'gzip, br', range: 'bytes=100-5099' })
    expect(part.status).toBe(206)
    expect(part.headers['content-encoding']).toBeUndefined()
    expect(part.headers['content-range']).toBe(`bytes 100-5099/${file.length}`)
    expect(part.body.equals(file.subarray(100, 5100))).toBe(true)
    const ifRange = await rawRequest(url, { 'accept-encoding': 'gzip', range: 'bytes=0-9', 'if-range': etag })
    expect(ifRange.status).toBe(206)
    expect(ifRange.body.equals(file.subarray(0, 10))).toBe(true)
    const cond = await rawRequest(url, { 'accept-encoding': 'gzip', 'if-none-match': etag })
    expect(cond.status).toBe(304)
    expect(cond.headers.etag).toBe(etag)
    // HEAD and GET through the Express route (not the fast path) behave the same.
    const head = await rawRequest(url, { 'accept-encoding': 'gzip' }, 'HEAD')
    expect(head.headers['content-encoding']).toBeUndefined()
    expect(head.headers['content-length']).toBe(String(file.length))
  })
})

/** A bare node server with the middleware, for paths the service has no route for. */
async function bareServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    compressResponse(req, res)
    handler(req, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

/** Deterministic, partly compressible text of n bytes. */
function text(n: number): Buffer {
  const words = ['alpha', 'harbour', 'council', 'budget', 'tuesday', 'ferry', 'timetable', 'vote']
  let s = ''
  let x = 12345
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    s += words[x % words.length] + (x % 7 === 0 ? '.\n' : ' ') + (x % 13 === 0 ? String(x) : '')
  }
  return Buffer.from(s.slice(0, n))
}

describe('the middleware on streamed bodies', () => {
  it('compresses a piped multi-megabyte body with backpressure and decodes to the same bytes', async () => {
    const body = text(3 * 1024 * 1024)
    const srv = await bareServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json; charset=utf-8')
      res.setHeader('Content-Length', String(body.length))
      res.setHeader('ETag', '"big"')
      Readable.from((function* () {
        for (let i = 0; i < body.length; i += 16 * 1024) yield body.subarray(i, i + 16 * 1024)
      })()).pipe(res)
    })
    try {
      for (const enc of ['gzip', 'br']) {
        const r = await rawRequest(srv.url, { 'accept-encoding': enc })
        expect(r.headers['content-encoding']).toBe(enc)
        expect(r.headers['content-length']).toBeUndefined()
        expect(r.headers['transfer-encoding']).toBe('chunked')
        expect(r.headers.etag).toBe('W/"big"')
        expect(decode(r).equals(body)).toBe(true)
      }
      const plain = await rawRequest(srv.url)
      expect(plain.headers['content-encoding']).toBeUndefined()
      expect(plain.headers['content-length']).toBe(String(body.length))
      expect(plain.body.equals(body)).toBe(true)
    } finally {
      await srv.close()
    }
  })

  it('writeHead with a header object, a large whole body sent at once (async path), and no-transform', async () => {
    const body = text(200 * 1024)
    const srv = await bareServer((req, res) => {
      if (req.url === '/no-transform') {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-transform' })
        res.end(body)
        return
      }
      if (req.url === '/svg') {
        res.setHeader('Content-Type', 'image/svg+xml')
        res.end(body.toString('latin1'), 'latin1')
        return
      }
      res.writeHead(200, { 'Content-Type': 'text/css', 'Content-Length': String(body.length) })
      res.write(body.subarray(0, 1000))
      res.end(body.subarray(1000))
    })
    try {
      const css = await rawRequest(srv.url, { 'accept-encoding': 'gzip' })
      expect(css.headers['content-encoding']).toBe('gzip')
      expect(css.headers['content-length']).toBeUndefined()
      expect(decode(css).equals(body)).toBe(true)
      const svg = await rawRequest(srv.url + '/svg', { 'accept-encoding': 'br' })
      expect(svg.headers['content-encoding']).toBe('br')
      expect(svg.headers['content-length']).toBe(String(svg.body.length))
      expect(decode(svg).equals(body)).toBe(true)
      const nt = await rawRequest(srv.url + '/no-transform', { 'accept-encoding': 'gzip' })
      expect(nt.headers['content-encoding']).toBeUndefined()
      expect(nt.body.equals(body)).toBe(true)
    } finally {
      await srv.close()
    }
  })

  it('streamed audio and event streams are never compressed and each piece arrives before the next is written', async () => {
    const pieces = 5
    const piece = text(4096)
    let release: (() => void) | undefined
    const srv = await bareServer(async (req, res) => {
      res.setHeader('Content-Type', req.url === '/events' ? 'text/event-stream' : 'audio/mpeg')
      res.setHeader('Cache-Control', 'no-store')
      res.flushHeaders()
      for (let i = 0; i < pieces; i++) {
        res.write(piece)
        // The client acknowledges each piece: a buffering (compressing) response would never deliver it, and the test would time out.
        await new Promise<void>((r) => (release = r))
      }
      res.end()
    })
    try {
      for (const p of ['/audio', '/events']) {
        const got = await new Promise<{ headers: http.IncomingHttpHeaders; bytes: number }>((resolve, reject) => {
          http
            .get(srv.url + p, { headers: { 'accept-encoding': 'gzip, br' } }, (res) => {
              let bytes = 0
              res.on('data', (c: Buffer) => {
                bytes += c.length
                if (bytes % piece.length === 0) release?.()
              })
              res.on('end', () => resolve({ headers: res.headers, bytes }))
              res.on('error', reject)
            })
            .on('error', reject)
        })
        expect(got.headers['content-encoding']).toBeUndefined()
        expect(got.bytes).toBe(pieces * piece.length)
      }
    } finally {
      await srv.close()
    }
  }, 30_000)
})

describe('building blocks', () => {
  it('negotiates Accept-Encoding with q-values, preferring br on a tie', () => {
    expect(negotiateEncoding(undefined)).toBeUndefined()
    expect(negotiateEncoding('')).toBeUndefined()
    expect(negotiateEncoding('identity')).toBeUndefined()
    expect(negotiateEncoding('gzip, deflate')).toBe('gzip')
    expect(negotiateEncoding('gzip, deflate, br')).toBe('br')
    expect(negotiateEncoding('br;q=0.8, gzip;q=0.9')).toBe('gzip')
    expect(negotiateEncoding('gzip;q=0, br;q=0')).toBeUndefined()
    expect(negotiateEncoding('*')).toBe('br')
    expect(negotiateEncoding('*;q=0.5, br;q=0')).toBe('gzip')
    expect(negotiateEncoding('X-GZIP')).toBe('gzip')
    expect(negotiateEncoding('identity;q=1, *;q=0')).toBeUndefined()
  })

  it('knows which types are text', () => {
    for (const t of ['text/html; charset=utf-8', 'application/rss+xml; charset=utf-8', 'application/json', 'application/json+chapters; charset=utf-8', 'text/vtt; charset=utf-8', 'text/javascript', 'text/css', 'image/svg+xml', 'application/ld+json'])
      expect(isCompressibleType(t), t).toBe(true)
    for (const t of ['audio/mpeg', 'audio/mp4', 'image/png', 'image/jpeg', 'application/gzip', 'application/zip', 'application/octet-stream', 'text/event-stream', 'video/mp4'])
      expect(isCompressibleType(t), t).toBe(false)
  })

  it('EncodedBody encodes once per encoding and keeps identity for ranges and small bodies', async () => {
    const big = new EncodedBody(text(50_000).toString('utf8'), '"0123456789abcdef0123456789abcdef"')
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage
    expect(big.select(req({})).encoding).toBeUndefined()
    expect(big.select(req({ 'accept-encoding': 'gzip', range: 'bytes=0-1' })).encoding).toBeUndefined()
    const sel = big.select(req({ 'accept-encoding': 'gzip, br' }))
    expect(sel.encoding).toBe('br')
    expect(sel.etag).toMatch(/^"[0-9a-f]{32}"$/)
    expect(sel.etag).not.toBe(big.etag)
    const a = big.bytes('br')
    expect(big.bytes('br')).toBe(a)
    expect(zlib.brotliDecompressSync(await a).equals(big.identity)).toBe(true)
    expect(zlib.gunzipSync(await big.bytes('gzip')).equals(big.identity)).toBe(true)
    const small = new EncodedBody('<rss/>', '"s"')
    expect(small.select(req({ 'accept-encoding': 'gzip' }))).toEqual({ encoding: undefined, etag: '"s"' })
  })
})
