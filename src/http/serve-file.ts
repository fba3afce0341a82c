/**
 * Serving immutable files with HTTP semantics done carefully (RFC 9110):
 * HEAD, single byte ranges (206; 416 with `Content-Range: bytes * /len`),
 * If-Range, If-None-Match / If-Modified-Since (304), strong ETags, CORS.
 * Multiple ranges are answered with the whole file (200), which RFC 9110
 * section 14.2 allows; players only ever ask for one range.
 *
 * Our own implementation rather than `send`: the files are content-addressed
 * and never change, so a stat per file is cached and the per-request work is
 * a few header writes plus fs.createReadStream, like a plain node server.
 */
import fsCb, { createReadStream, promises as fs } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AppError, toAppError } from '../errors.ts'
import type { BlobStore } from '../storage/types.ts'

export interface ServeFileOptions {
  path: string
  contentType: string
  /** Strong ETag value including quotes, e.g. "\"abc\"". */
  etag: string
  /** Cache-Control header. */
  cacheControl: string
}

interface StatInfo {
  size: number
  mtime: Date
  lastModified: string
  /** An open file, shared by requests for small ranges. */
  fh: fs.FileHandle
  refs: number
  evicted: boolean
}

/**
 * Open files of immutable, content-addressed episodes, with their stat; bounded.
 * A descriptor stays valid after the file is unlinked, so an evicted entry is
 * closed only when its last read finishes.
 */
const openFiles = new Map<string, StatInfo>()
const OPEN_FILES_MAX = 256
const pending = new Map<string, Promise<StatInfo | undefined>>()

function release(info: StatInfo): void {
  info.refs--
  if (info.evicted && info.refs === 0) void info.fh.close().catch(() => {})
}

function evict(file: string): void {
  const info = openFiles.get(file)
  if (!info) return
  openFiles.delete(file)
  info.evicted = true
  if (info.refs === 0) void info.fh.close().catch(() => {})
}

async function openFile(file: string): Promise<StatInfo | undefined> {
  const hit = openFiles.get(file)
  if (hit) return hit
  let p = pending.get(file)
  if (!p) {
    p = (async () => {
      let fh: fs.FileHandle | undefined
      try {
        fh = await fs.open(file, 'r')
        const st = await fh.stat()
        if (!st.isFile()) {
          await fh.close()
          return undefined
        }
        const info: StatInfo = { size: st.size, mtime: st.mtime, lastModified: st.mtime.toUTCString(), fh, refs: 0, evicted: false }
        if (openFiles.size >= OPEN_FILES_MAX) evict(openFiles.keys().next().value!)
        openFiles.set(file, info)
        return info
      } catch {
        await fh?.close().catch(() => {})
        return undefined
      } finally {
        pending.delete(file)
      }
    })()
    pending.set(file, p)
  }
  return await p
}

const forgetListeners = new Set<(file: string) => void>()

/**
 * Forget a file (deleted or replaced): its descriptor closes once in-flight reads finish. With several
 * nodes, src/fleet/file-events.ts tells the other nodes too (`fromFleet`: the news came from another node).
 */
export function forgetFile(file: string, fromFleet = false): void {
  evict(file)
  if (!fromFleet) for (const l of forgetListeners) l(file)
}

/** Be told of every file this process forgets (returns the unsubscribe function). */
export function onForgetFile(listener: (file: string) => void): () => void {
  forgetListeners.add(listener)
  return () => forgetListeners.delete(listener)
}

/** Ranges up to this size are read in one pread into a buffer: cheaper than a stream (open, read, close) per request. */
const SMALL_RANGE = 256 * 1024

export const CORS_EXPOSE = 'Accept-Ranges, Content-Length, Content-Range, ETag, Last-Modified, X-Briefcast-Progressive'

export type ParsedRange = { start: number; end: number } | 'unsatisfiable' | undefined

/**
 * Parse a Range header for a file of `size` bytes. Undefined = serve the whole
 * file (no header, bad syntax, other unit, several ranges).
 */
export function parseRange(header: string | undefined, size: number): ParsedRange {
  if (!header) return undefined
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (!m) return undefined
  const [, a, b] = m
  if (a === '' && b === '') return undefined
  if (a === '') {
    const suffix = Number(b)
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(a)
  let end = b === '' ? size - 1 : Number(b)
  if (b !== '' && end < start) return undefined // invalid: ignore (RFC 9110 14.1.1)
  if (start >= size) return 'unsatisfiable'
  end = Math.min(end, size - 1)
  return { start, end }
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  // Weak comparison for If-None-Match (RFC 9110 13.1.2).
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)
}

/** What the conditional and range logic needs to know about the file. */
interface FileFacts {
  size: number
  mtime: Date
  lastModified: string
}

/**
 * Headers, conditionals (304), If-Range and Range (416) for a file of known size and date:
 * the byte span to send, 'done' when the response is complete (304), or the error to hand on.
 */
function prepare(req: IncomingMessage, res: ServerResponse, opts: Omit<ServeFileOptions, 'path'>, info: FileFacts): { start: number; end: number; body: boolean } | 'done' | AppError {
  const { size } = info
  res.setHeader('Access-Control-Allow-Origin', '*')
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE)
  res.setHeader('Accept-Ranges', 'bytes')
  res.setHeader('ETag', opts.etag)
  res.setHeader('Last-Modified', info.lastModified)
  res.setHeader('Cache-Control', opts.cacheControl)

  const inm = req.headers['if-none-match']
  const ims = req.headers['if-modified-since']
  const notModified = inm !== undefined ? etagMatches(inm, opts.etag) : ims !== undefined && !Number.isNaN(Date.parse(ims)) && Math.floor(info.mtime.getTime() / 1000) <= Math.floor(Date.parse(ims) / 1000)
  if (notModified) {
    res.statusCode = 304
    res.end()
    return 'done'
  }

  let range = req.method === 'GET' || req.method === 'HEAD' ? parseRange(req.headers.range, size) : undefined
  const ifRange = req.headers['if-range'] as string | undefined
  if (range !== undefined && ifRange !== undefined) {
    // If-Range with an ETag must match strongly; with a date, the file must not be newer (RFC 9110 13.1.5).
    const ok = ifRange.startsWith('"') || ifRange.startsWith('W/') ? ifRange.trim() === opts.etag : Date.parse(ifRange) >= Math.floor(info.mtime.getTime() / 1000) * 1000
    if (!ok) range = undefined
  }
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${size}`)
    // The error body is JSON, not the file: drop the caching headers meant for the file.
    res.removeHeader('ETag')
    res.removeHeader('Last-Modified')
    res.removeHeader('Cache-Control')
    return new AppError('RANGE_NOT_SATISFIABLE', `The range "${req.headers.range}" is outside the file (${size} bytes).`, { details: { size } })
  }

  let start = 0
  let end = size - 1
  if (range) {
    start = range.start
    end = range.end
    res.statusCode = 206
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`)
  } else {
    res.statusCode = 200
  }
  res.setHeader('Content-Type', opts.contentType)
  res.setHeader('Content-Length', String(size === 0 ? 0 : end - start + 1))
  if (req.method === 'HEAD' || size === 0) {
    res.end()
    return 'done'
  }
  return { start, end, body: true }
}

/**
 * Serve the file. Works on plain node request/response objects (the audio
 * fast path in app.ts uses it before Express). Errors are returned, not
 * written: the caller hands them to the one error middleware.
 */
export async function serveFileRaw(req: IncomingMessage, res: ServerResponse, opts: ServeFileOptions): Promise<AppError | undefined> {
  const info = await openFile(opts.path)
  if (!info) return new AppError('NOT_FOUND', 'The file is gone; request the article again for its current URL.')
  const span = prepare(req, res, opts, info)
  if (span === 'done') return undefined
  if (span instanceof AppError) return span
  const { start, end } = span
  const length = end - start + 1
  if (length <= SMALL_RANGE) {
    info.refs++
    const buf = Buffer.allocUnsafe(length)
    fsCb.read(info.fh.fd, buf, 0, length, start, (err, bytesRead) => {
      release(info)
      if (err || bytesRead !== length) {
        // The file changed or vanished under us: never send a short or wrong body.
        forgetFile(opts.path)
        res.destroy(err ?? new Error('short read'))
        return
      }
      res.end(buf)
    })
    return undefined
  }
  const stream = createReadStream(opts.path, { start, end, highWaterMark: 64 * 1024 })
  stream.once('error', (err) => {
    // Opened after the headers were decided: cut the response rather than send a wrong body.
    forgetFile(opts.path)
    res.destroy(err)
  })
  res.once('close', () => stream.destroy())
  stream.pipe(res)
  return undefined
}

export interface ServeBlobOptions extends Omit<ServeFileOptions, 'path'> {
  store: BlobStore
  key: string
}

/**
 * Size and date of stored objects (immutable: named by content or random id), so a ranged GET through
 * the API node costs one request to the bucket, not two. Bounded; forgotten when the object is deleted.
 */
const blobFacts = new Map<string, FileFacts>()
const BLOB_FACTS_MAX = 4096

/** Forget what is known about a stored object (deleted). */
export function forgetBlob(key: string): void {
  blobFacts.delete(key)
}

async function blobInfo(store: BlobStore, key: string): Promise<FileFacts | undefined> {
  const id = key
  const hit = blobFacts.get(id)
  if (hit) return hit
  const head = await store.head(key)
  if (!head) return undefined
  const facts = { size: head.size, mtime: head.lastModified, lastModified: head.lastModified.toUTCString() }
  if (blobFacts.size >= BLOB_FACTS_MAX) blobFacts.delete(blobFacts.keys().next().value!)
  blobFacts.set(id, facts)
  return facts
}

/**
 * The same HTTP semantics for an object in a blob store (S3): the API node proxies the byte range
 * from the bucket. Errors before the first byte (no such object, bucket down) are returned like
 * serveFileRaw's; a failure mid-body cuts the response (never a short body presented as whole).
 */
export async function serveBlobRaw(req: IncomingMessage, res: ServerResponse, opts: ServeBlobOptions): Promise<AppError | undefined> {
  let info: FileFacts | undefined
  try {
    info = await blobInfo(opts.store, opts.key)
  } catch (err) {
    return toAppError(err)
  }
  if (!info) return new AppError('NOT_FOUND', 'The file is gone; request the article again for its current URL.')
  const span = prepare(req, res, opts, info)
  if (span === 'done') return undefined
  if (span instanceof AppError) return span
  const controller = new AbortController()
  const onClose = () => controller.abort()
  res.once('close', onClose)
  let body: Readable
  try {
    body = await opts.store.get(opts.key, span.start === 0 && span.end === info.size - 1 ? undefined : { start: span.start, end: span.end }, controller.signal)
  } catch (err) {
    res.off('close', onClose)
    if (res.headersSent || controller.signal.aborted) {
      res.destroy()
      return undefined
    }
    const e = toAppError(err)
    if (e.code === 'NOT_FOUND') forgetBlob(opts.key)
    // The headers set for the file do not belong on the JSON error.
    for (const h of ['ETag', 'Last-Modified', 'Cache-Control', 'Content-Range', 'Content-Length', 'Content-Type']) res.removeHeader(h)
    return e
  }
  const expected = span.end - span.start + 1
  let sent = 0
  body.on('data', (c: Buffer) => {
    sent += c.length
  })
  pipeline(body, res).then(
    () => {
      if (sent !== expected) res.destroy(new Error('short body from the object storage'))
    },
    () => res.destroy(),
  )
  return undefined
}

/** Express flavour: errors go to next() and so to the one error middleware. */
export async function serveFile(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, opts: ServeFileOptions): Promise<void> {
  const err = await serveFileRaw(req, res, opts)
  if (err) next(err)
}
