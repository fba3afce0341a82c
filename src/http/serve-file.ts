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
import { createReadStream, promises as fs } from 'node:fs'
import type { NextFunction, Request, Response } from 'express'
import { AppError } from '../errors.ts'

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
}

/** Stat cache for immutable, content-addressed files; bounded. */
const statCache = new Map<string, StatInfo>()
const STAT_CACHE_MAX = 2000

async function statFile(file: string): Promise<StatInfo | undefined> {
  const hit = statCache.get(file)
  if (hit) return hit
  try {
    const st = await fs.stat(file)
    if (!st.isFile()) return undefined
    const info = { size: st.size, mtime: st.mtime, lastModified: st.mtime.toUTCString() }
    if (statCache.size >= STAT_CACHE_MAX) statCache.delete(statCache.keys().next().value!)
    statCache.set(file, info)
    return info
  } catch {
    return undefined
  }
}

/** Forget a file (deleted). */
export function forgetFile(file: string): void {
  statCache.delete(file)
}

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

export async function serveFile(req: Request, res: Response, next: NextFunction, opts: ServeFileOptions): Promise<void> {
  const info = await statFile(opts.path)
  if (!info) return next(new AppError('NOT_FOUND', 'The file is gone; request the article again for its current URL.'))
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
    return
  }

  let range = req.method === 'GET' || req.method === 'HEAD' ? parseRange(req.headers.range, size) : undefined
  const ifRange = req.get('if-range')
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
    return next(new AppError('RANGE_NOT_SATISFIABLE', `The range "${req.headers.range}" is outside the file (${size} bytes).`, { details: { size } }))
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
    return
  }
  const stream = createReadStream(opts.path, { start, end, highWaterMark: 64 * 1024 })
  stream.once('error', (err) => {
    forgetFile(opts.path)
    if (!res.headersSent) {
      res.removeHeader('Content-Length')
      next(err)
    } else res.destroy(err)
  })
  res.once('close', () => stream.destroy())
  stream.pipe(res)
}
