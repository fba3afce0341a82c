/**
 * Versioned, immutable episode files: /audio/:articleId/:hash.(mp3|m4a|vtt|chapters.json|timings.json).
 * The hash names the content, so these responses are cached forever.
 */
import { isPublic } from '../../sources/embargo.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import express from 'express'
import { AppError } from '../../errors.ts'
import type { EpisodeRecord } from '../../store/types.ts'
import type { AppDeps } from '../deps.ts'
import { blobStoreFor, keyOf } from '../../storage/index.ts'
import { serveBlobRaw, serveFileRaw, type ServeFileOptions } from '../serve-file.ts'

export const IMMUTABLE = 'public, max-age=31536000, immutable'

/** An episode's (or briefing's) file name: `<hash>.<kind>`; its kind says the media type and which file it is. */
export const FILE_RE = /^([A-Za-z0-9_-]{6,128})\.(mp3|m4a|vtt|chapters\.json|timings\.json)$/

/** The one file-kind table, for /audio/ and /briefings/ (feed.ts). Chapters are application/json+chapters everywhere. */
export const KINDS = {
  mp3: { type: 'audio/mpeg', file: (e: EpisodeRecord) => e.audioFile },
  m4a: { type: 'audio/mp4', file: (e: EpisodeRecord) => e.audioFile },
  vtt: { type: 'text/vtt; charset=utf-8', file: (e: EpisodeRecord) => e.vttFile },
  'chapters.json': { type: 'application/json+chapters; charset=utf-8', file: (e: EpisodeRecord) => e.chaptersFile },
  'timings.json': { type: 'application/json; charset=utf-8', file: (e: EpisodeRecord) => e.timingsFile },
} as const

/** A stored file to serve: its blob key, its path under the cache dir (embedded mode) and its headers. */
export interface StoredFileOptions extends ServeFileOptions {
  key: string
}

/**
 * Serve a stored file wherever it lives: from the cache directory (embedded), proxied from the bucket with
 * the same Range/HEAD/ETag/416 behaviour (S3), or as a redirect to BRIEFCAST_STORAGE_PUBLIC_URL/<key> (a CDN
 * or public bucket; the key names immutable content, so the target is cacheable forever).
 */
export function storedFileServer(deps: Pick<AppDeps, 'config'>): (req: IncomingMessage, res: ServerResponse, opts: StoredFileOptions) => Promise<AppError | undefined> {
  const blobs = blobStoreFor(deps.config)
  const publicBase = deps.config.storage.publicUrl
  if (blobs.kind === 'local') return (req, res, opts) => serveFileRaw(req, res, opts)
  if (publicBase)
    return async (_req, res, opts) => {
      res.statusCode = 302
      res.setHeader('Location', `${publicBase}/${opts.key.split('/').map(encodeURIComponent).join('/')}`)
      res.setHeader('Access-Control-Allow-Origin', '*')
      // The redirect of a versioned URL never changes either, but a day lets an operator move the CDN.
      res.setHeader('Cache-Control', 'public, max-age=86400')
      res.end()
      return undefined
    }
  return (req, res, opts) => serveBlobRaw(req, res, { ...opts, store: blobs })
}

/** Express flavour: errors go to next() and so to the one error middleware. */
export function storedFileHandler(deps: Pick<AppDeps, 'config'>): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, opts: StoredFileOptions) => Promise<void> {
  const serve = storedFileServer(deps)
  return async (req, res, next, opts) => {
    const err = await serve(req, res, opts)
    if (err) next(err)
  }
}

/** Resolve /audio/:id/:file to the file and how to serve it; an AppError when there is no such file. */
function resolveEpisodeFile(deps: AppDeps, cacheDir: string, id: string, fileName: string): StoredFileOptions | AppError {
  const m = FILE_RE.exec(fileName)
  if (!m) return new AppError('NOT_FOUND', 'No such episode file.')
  const [, hash, ext] = m as unknown as [string, string, keyof typeof KINDS]
  const ep = deps.store.episodes.findByArticleAndHash(id, hash)
  if (!ep || ((ext === 'mp3' || ext === 'm4a') && ep.format !== ext)) return new AppError('NOT_FOUND', 'No such episode file; it may have been replaced by a newer version.')
  const article = deps.store.articles.get(id)
  if (article && !isPublic(article)) return new AppError('NOT_FOUND', 'No such episode file.')
  const kind = KINDS[ext]
  return { key: keyOf(kind.file(ep)), path: path.resolve(cacheDir, kind.file(ep)), contentType: kind.type, etag: `"${hash}-${ext}"`, cacheControl: IMMUTABLE }
}

const AUDIO_PATH = /^\/audio\/([A-Za-z0-9_-]{1,64})\/([^/?#]+)(?:\?.*)?$/

/**
 * The hot path (players fetching ranges) served on plain node objects before
 * Express: Express' per-request setup costs a fifth of the throughput here
 * (bench/http.bench.ts). Only successful responses are served here; anything
 * else (no such file, 416, other methods) falls through to the Express app,
 * which produces the same result and the JSON error through the one error
 * middleware.
 */
export function audioFastPath(deps: AppDeps): (req: IncomingMessage, res: ServerResponse, fallback: () => void) => void {
  const cacheDir = path.resolve(deps.config.cacheDir)
  const serve = storedFileServer(deps)
  return (req, res, fallback) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !req.url?.startsWith('/audio/')) return fallback()
    const m = AUDIO_PATH.exec(req.url)
    if (!m) return fallback()
    let opts: StoredFileOptions | AppError
    try {
      opts = resolveEpisodeFile(deps, cacheDir, m[1]!, decodeURIComponent(m[2]!))
    } catch {
      return fallback()
    }
    if (opts instanceof AppError) return fallback()
    serve(req, res, opts).then(
      (err) => {
        if (err) fallback()
      },
      () => fallback(),
    )
  }
}

export function audioRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const cacheDir = path.resolve(deps.config.cacheDir)
  const serveFile = storedFileHandler(deps)

  router.options('/audio/:id/:file', preflight)
  router.get('/audio/:id/:file', async (req, res, next) => {
    const opts = resolveEpisodeFile(deps, cacheDir, req.params.id, req.params.file)
    if (opts instanceof AppError) return next(opts)
    await serveFile(req, res, next, opts)
  })
  // Uploaded assets (cover art, jingles): named by a random id, never rewritten, so immutable too.
  router.options('/assets/:file', preflight)
  router.get('/assets/:file', async (req, res, next) => {
    const m = /^([A-Za-z0-9_-]{6,64})\.(jpg|png|mp3|wav|m4a|ogg|oga|opus|flac|aac|audio)$/.exec(req.params.file)
    const asset = m ? deps.store.assets.get(m[1]!) : undefined
    if (!asset || path.basename(asset.file) !== req.params.file) return next(new AppError('NOT_FOUND', 'No such asset.'))
    await serveFile(req, res, next, { key: keyOf(asset.file), path: path.resolve(cacheDir, asset.file), contentType: asset.mimeType, etag: `"${asset.id}"`, cacheControl: IMMUTABLE })
  })
  return router
}

/** A CORS preflight answer allowing `methods` (Range, conditional headers and Content-Type are always allowed). */
export function preflightFor(methods: string): express.RequestHandler {
  return (_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Access-Control-Allow-Methods', methods)
    res.setHeader('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Modified-Since, If-Range, Content-Type')
    res.setHeader('Access-Control-Max-Age', '86400')
    res.status(204).end()
  }
}

/** CORS preflight for public GET/HEAD resources (Range and conditional headers). */
export const preflight = preflightFor('GET, HEAD, OPTIONS')
