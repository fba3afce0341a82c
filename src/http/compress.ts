/**
 * HTTP response compression (RFC 9110 section 8.4 and 12.5.3) with node:zlib:
 * brotli when the client accepts it, gzip otherwise, for text-like responses
 * (HTML, XML/RSS, JSON, text/vtt, JavaScript, CSS, SVG) of at least
 * COMPRESS_MIN_BYTES. Never for audio or anything already encoded, never for a
 * Range request or a 206, HEAD, 204 or 304, and never when the response says
 * `Cache-Control: no-transform`.
 *
 * Two ways in:
 * - `compressResponses()`: a wrapper for any response (Express middleware and
 *   plain node objects alike, so the audio fast path's .vtt/.json files get it
 *   too). A whole body given to res.end() (res.send/res.json, small files) is
 *   compressed in one go, off the event loop unless tiny, and sent with its
 *   Content-Length; streamed bodies go through a zlib stream with backpressure.
 *   The ETag of a compressed response is made weak (W/"..."), as nginx does:
 *   the bytes differ from the identity response, but every route here compares
 *   If-None-Match weakly (RFC 9110 13.1.2), so 304s keep working unchanged.
 * - `EncodedBody`: for bodies built once and served many times (the feeds):
 *   each encoding is made once, at the highest quality, and kept beside the
 *   identity bytes, with its own strong ETag.
 *
 * Our own rather than the `compression` package: that one compresses per
 * request (no way to reuse a cached encoding), keeps the identity response's
 * strong ETag on the compressed bytes, compresses 200 answers to Range
 * requests, and would be a new dependency for ~200 lines of code.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import zlib from 'node:zlib'
import { sha256 } from '../util/files.ts'

export type Encoding = 'br' | 'gzip'

/** Below this, the framing and the CPU cost more than the bytes saved. */
export const COMPRESS_MIN_BYTES = 1024
/** Bodies up to this size are compressed synchronously: tens of microseconds, less than a thread-pool round trip. */
const SYNC_MAX_BYTES = 4096
/** Per-request quality: brotli 4 is about as fast as gzip 6 and ~15% smaller (what `compression` 1.8 uses too). */
const DYNAMIC_BROTLI_QUALITY = 4
const DYNAMIC_GZIP_LEVEL = zlib.constants.Z_DEFAULT_COMPRESSION

/**
 * text/* (not event streams: they must flush per event), JSON and XML in any
 * dress (application/rss+xml, application/json+chapters, *+json), JavaScript, SVG.
 */
const COMPRESSIBLE = /^(?:text\/(?!event-stream$)[\w.+-]+|application\/(?:[\w.-]+\+)?(?:json|xml|javascript|ecmascript)(?:\+[\w.-]+)?|application\/x-javascript|image\/svg\+xml)$/

export function isCompressibleType(contentType: string): boolean {
  const semi = contentType.indexOf(';')
  return COMPRESSIBLE.test((semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase())
}

/**
 * The encoding to use for an Accept-Encoding header: the acceptable one (q > 0)
 * with the highest q, brotli on a tie; `*` stands for codings not named.
 * Undefined: send identity.
 */
export function negotiateEncoding(header: string | string[] | undefined): Encoding | undefined {
  if (header === undefined) return undefined
  const value = Array.isArray(header) ? header.join(',') : header
  if (value === '') return undefined
  let br: number | undefined
  let gzip: number | undefined
  let star: number | undefined
  for (const part of value.split(',')) {
    const [rawName, ...params] = part.split(';')
    const name = rawName!.trim().toLowerCase()
    let q = 1
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)
      if (m) q = Number(m[1])
    }
    if (!Number.isFinite(q)) q = 0
    if (name === 'br') br = q
    else if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, q)
    else if (name === '*') star = q
  }
  const qbr = br ?? star ?? 0
  const qgz = gzip ?? star ?? 0
  if (qbr <= 0 && qgz <= 0) return undefined
  return qbr >= qgz ? 'br' : 'gzip'
}

/** Add a field to Vary unless it (or `*`) is there already. */
export function appendVary(res: ServerResponse, field: string): void {
  const current = res.getHeader('Vary')
  const value = Array.isArray(current) ? current.join(', ') : current === undefined ? '' : String(current)
  const lower = field.toLowerCase()
  if (value.split(',').some((f) => f.trim() === '*' || f.trim().toLowerCase() === lower)) return
  res.setHeader('Vary', value.trim() === '' ? field : `${value}, ${field}`)
}

type ZlibOptions = zlib.ZlibOptions | zlib.BrotliOptions

function options(encoding: Encoding, size: number | undefined, best: boolean): ZlibOptions {
  if (encoding === 'gzip') return { level: best ? zlib.constants.Z_BEST_COMPRESSION : DYNAMIC_GZIP_LEVEL }
  const params: Record<number, number> = {
    // Quality 11 costs ~1 s of CPU per MB; above 256 KiB quality 9 keeps a cached feed's first encode short at ~10% more bytes.
    [zlib.constants.BROTLI_PARAM_QUALITY]: best ? (size !== undefined && size <= 256 * 1024 ? 11 : 9) : DYNAMIC_BROTLI_QUALITY,
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
  }
  if (size !== undefined) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = size
  return { params }
}

/** Compress a whole body: synchronously when tiny, otherwise on the thread pool (never blocking the event loop). */
export function compressBody(body: Buffer, encoding: Encoding, opts: { best?: boolean } = {}): Promise<Buffer> {
  const o = options(encoding, body.length, opts.best ?? false)
  if (body.length <= SYNC_MAX_BYTES) {
    try {
      return Promise.resolve(encoding === 'br' ? zlib.brotliCompressSync(body, o as zlib.BrotliOptions) : zlib.gzipSync(body, o as zlib.ZlibOptions))
    } catch (err) {
      return Promise.reject(err as Error)
    }
  }
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => (err ? reject(err) : resolve(out))
    if (encoding === 'br') zlib.brotliCompress(body, o as zlib.BrotliOptions, done)
    else zlib.gzip(body, o as zlib.ZlibOptions, done)
  })
}

function weaken(etag: string): string {
  return etag.startsWith('W/') ? etag : `W/${etag}`
}

const WRAPPED = Symbol('briefcast.compress')

type Chunk = string | Uint8Array
type Callback = (err?: Error | null) => void
type Patched = {
  writeHead: (...args: unknown[]) => ServerResponse
  write: (chunk: Chunk, encoding?: BufferEncoding | Callback, cb?: Callback) => boolean
  end: (chunk?: Chunk | Callback, encoding?: BufferEncoding | Callback, cb?: Callback) => ServerResponse
  [WRAPPED]?: true
}

const PENDING = 0
const IDENTITY = 1
const STREAM = 2
const BUFFERED = 3

/**
 * Make `res` compress what it sends when that is worth it; call before any
 * handler writes. Idempotent per response. Range requests are left untouched
 * (their answers are byte ranges of the identity representation).
 */
export function compressResponse(req: IncomingMessage, res: ServerResponse): void {
  const r = res as unknown as Patched
  if (r[WRAPPED]) return
  r[WRAPPED] = true
  // The hot audio path: players ask for ranges, which are never compressed, so do not even wrap.
  if (req.headers.range !== undefined) return

  const origWriteHead = r.writeHead
  const origWrite = r.write
  const origEnd = r.end
  let state = PENDING
  let z: zlib.Gzip | zlib.BrotliCompress | undefined

  /** Decide once the status and headers are final; `length` is the whole body's size when end() brought it. */
  const decide = (length?: number): Encoding | undefined => {
    state = IDENTITY
    // Encoded by the route (player.js, the cached feeds): it set Vary and ETag itself.
    if (res.getHeader('Content-Encoding') !== undefined) return undefined
    const status = res.statusCode
    if (status === 304) {
      // The client revalidates the compressed copy we gave it (weak ETag): answer with that ETag (RFC 9110 15.4.5).
      const etag = res.getHeader('ETag')
      const inm = req.headers['if-none-match']
      if (typeof etag === 'string' && !etag.startsWith('W/') && inm?.split(',').some((t) => t.trim() === `W/${etag}`)) {
        res.setHeader('ETag', weaken(etag))
        appendVary(res, 'Accept-Encoding')
      }
      return undefined
    }
    const type = res.getHeader('Content-Type')
    if (typeof type !== 'string' || !isCompressibleType(type)) return undefined
    // The representation depends on Accept-Encoding whether or not this one is compressed.
    appendVary(res, 'Accept-Encoding')
    if (req.method === 'HEAD' || status < 200 || status === 204 || status === 206) return undefined
    const cc = res.getHeader('Cache-Control')
    if (typeof cc === 'string' && /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(cc)) return undefined
    const encoding = negotiateEncoding(req.headers['accept-encoding'])
    if (!encoding) return undefined
    const declared = res.getHeader('Content-Length')
    const size = length ?? (declared === undefined ? undefined : Number(declared))
    if (size !== undefined && size < COMPRESS_MIN_BYTES) return undefined
    return encoding
  }

  const markEncoded = (encoding: Encoding) => {
    res.setHeader('Content-Encoding', encoding)
    res.removeHeader('Content-Length')
    const etag = res.getHeader('ETag')
    if (typeof etag === 'string') res.setHeader('ETag', weaken(etag))
  }

  const startStream = (encoding: Encoding) => {
    markEncoded(encoding)
    state = STREAM
    const stream = encoding === 'br' ? zlib.createBrotliCompress(options(encoding, undefined, false) as zlib.BrotliOptions) : zlib.createGzip(options(encoding, undefined, false) as zlib.ZlibOptions)
    z = stream
    stream.on('data', (data: Buffer) => {
      if (!origWrite.call(res, data)) stream.pause()
    })
    res.on('drain', () => stream.resume())
    // Writers (stream.pipe(res)) wait for res 'drain' when our write returned false: that is the zlib stream's drain.
    stream.on('drain', () => res.emit('drain'))
    stream.once('error', (err) => res.destroy(err))
    res.once('close', () => stream.destroy())
  }

  r.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (state === PENDING) {
      const statusCode = args[0] as number
      const headers = typeof args[1] === 'string' ? args[2] : args[1]
      if (Array.isArray(headers)) {
        // Raw header arrays are not used here; leave such a response alone.
        state = IDENTITY
      } else {
        res.statusCode = statusCode
        if (headers) for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v)
        const encoding = decide()
        if (encoding) startStream(encoding)
        // The headers now live on res (the decision may have removed Content-Length).
        return typeof args[1] === 'string' ? origWriteHead.call(this, statusCode, args[1]) : origWriteHead.call(this, statusCode)
      }
    }
    return origWriteHead.apply(this, args)
  }

  r.write = function (this: ServerResponse, chunk, encoding, cb) {
    if (state === PENDING && !res.headersSent) {
      const enc = decide()
      if (enc) startStream(enc)
    }
    if (state === STREAM) return typeof encoding === 'function' ? z!.write(chunk, encoding) : z!.write(chunk, encoding ?? 'utf8', cb)
    return origWrite.call(this, chunk, encoding as BufferEncoding, cb as Callback)
  }

  r.end = function (this: ServerResponse, chunk, encoding, cb) {
    if (typeof chunk === 'function') {
      cb = chunk
      chunk = undefined
    } else if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    const enc = encoding as BufferEncoding | undefined
    const done = cb as Callback | undefined
    if (state === PENDING && !res.headersSent) {
      const body = chunk === undefined || chunk === null ? undefined : typeof chunk === 'string' ? Buffer.from(chunk, enc ?? 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      const encoding = decide(body?.length ?? 0)
      if (!encoding || !body) return origEnd.call(this, chunk, enc, done)
      state = BUFFERED
      compressBody(body, encoding).then(
        (out) => {
          if (res.destroyed) return
          markEncoded(encoding)
          res.setHeader('Content-Length', String(out.length))
          origEnd.call(res, out, undefined, done)
        },
        () => {
          // Cannot happen with valid options; identity is always acceptable (RFC 9110 12.5.3).
          if (!res.destroyed) origEnd.call(res, body, undefined, done)
        },
      )
      return res
    }
    if (state === STREAM) {
      const stream = z!
      stream.once('end', () => origEnd.call(res, undefined, undefined, done))
      if (chunk !== undefined && chunk !== null) stream.end(chunk, enc ?? 'utf8')
      else stream.end()
      return res
    }
    if (state === BUFFERED) return res
    return origEnd.call(this, chunk, enc, done)
  }
}

/** Express flavour of compressResponse. */
export function compressResponses(): (req: IncomingMessage, res: ServerResponse, next?: () => void) => void {
  return (req, res, next) => {
    compressResponse(req, res)
    next?.()
  }
}

export interface Representation {
  /** Undefined: identity. */
  encoding: Encoding | undefined
  /** Strong ETag of exactly these bytes' representation. */
  etag: string
}

/**
 * A body built once and served many times (a feed): its encodings are made
 * lazily, once each, at the best quality, off the event loop, and kept beside it.
 * Each representation has its own strong ETag (RFC 9110 8.8.3: an ETag names
 * one representation); the compressed ones are derived from the identity ETag,
 * so a 304 needs no compression.
 */
export class EncodedBody {
  readonly identity: Buffer
  private readonly encoded = new Map<Encoding, Promise<Buffer>>()
  private readonly etags: Record<Encoding, string>

  constructor(
    body: Buffer | string,
    readonly etag: string,
  ) {
    this.identity = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
    const bare = etag.replace(/^W\//, '').replaceAll('"', '')
    const derive = (e: Encoding) => `"${sha256(`${bare}\0${e}`).slice(0, Math.max(16, bare.length))}"`
    this.etags = { br: derive('br'), gzip: derive('gzip') }
  }

  /** The representation this request gets: identity for a Range request, a small body or no acceptable coding. */
  select(req: IncomingMessage): Representation {
    const encoding = req.headers.range === undefined && this.identity.length >= COMPRESS_MIN_BYTES ? negotiateEncoding(req.headers['accept-encoding']) : undefined
    return { encoding, etag: encoding ? this.etags[encoding] : this.etag }
  }

  /** The bytes of a representation; a failed encode is forgotten (tried again next time). */
  bytes(encoding: Encoding | undefined): Promise<Buffer> {
    if (!encoding) return Promise.resolve(this.identity)
    let p = this.encoded.get(encoding)
    if (!p) {
      p = compressBody(this.identity, encoding, { best: true })
      p.catch(() => this.encoded.delete(encoding))
      this.encoded.set(encoding, p)
    }
    return p
  }
}
