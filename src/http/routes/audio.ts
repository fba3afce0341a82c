/**
 * Versioned, immutable episode files: /audio/:articleId/:hash.(mp3|m4a|vtt|chapters.json|timings.json).
 * The hash names the content, so these responses are cached forever.
 */
import path from 'node:path'
import express from 'express'
import { AppError } from '../../errors.ts'
import type { EpisodeRecord } from '../../store/types.ts'
import type { AppDeps } from '../deps.ts'
import { serveFile } from '../serve-file.ts'

export const IMMUTABLE = 'public, max-age=31536000, immutable'

const FILE_RE = /^([A-Za-z0-9_-]{6,128})\.(mp3|m4a|vtt|chapters\.json|timings\.json)$/

const KINDS = {
  mp3: { type: 'audio/mpeg', file: (e: EpisodeRecord) => e.audioFile },
  m4a: { type: 'audio/mp4', file: (e: EpisodeRecord) => e.audioFile },
  vtt: { type: 'text/vtt; charset=utf-8', file: (e: EpisodeRecord) => e.vttFile },
  'chapters.json': { type: 'application/json; charset=utf-8', file: (e: EpisodeRecord) => e.chaptersFile },
  'timings.json': { type: 'application/json; charset=utf-8', file: (e: EpisodeRecord) => e.timingsFile },
} as const

export function audioRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const cacheDir = path.resolve(deps.config.cacheDir)

  router.options('/audio/:id/:file', preflight)
  router.get('/audio/:id/:file', async (req, res, next) => {
    const m = FILE_RE.exec(req.params.file)
    if (!m) return next(new AppError('NOT_FOUND', 'No such episode file.'))
    const [, hash, ext] = m as unknown as [string, string, keyof typeof KINDS]
    const ep = deps.store.episodes.findByArticleAndHash(req.params.id, hash)
    if (!ep || ((ext === 'mp3' || ext === 'm4a') && ep.format !== ext)) return next(new AppError('NOT_FOUND', 'No such episode file; it may have been replaced by a newer version.'))
    const kind = KINDS[ext]
    const abs = path.resolve(cacheDir, kind.file(ep))
    await serveFile(req, res, next, { path: abs, contentType: kind.type, etag: `"${hash}-${ext}"`, cacheControl: IMMUTABLE })
  })
  // Uploaded assets (cover art, jingles): named by a random id, never rewritten, so immutable too.
  router.options('/assets/:file', preflight)
  router.get('/assets/:file', async (req, res, next) => {
    const m = /^([A-Za-z0-9_-]{6,64})\.(jpg|png|mp3|wav|m4a|ogg|oga|opus|flac|aac|audio)$/.exec(req.params.file)
    const asset = m ? deps.store.assets.get(m[1]!) : undefined
    if (!asset || path.basename(asset.file) !== req.params.file) return next(new AppError('NOT_FOUND', 'No such asset.'))
    await serveFile(req, res, next, { path: path.resolve(cacheDir, asset.file), contentType: asset.mimeType, etag: `"${asset.id}"`, cacheControl: IMMUTABLE })
  })
  return router
}

/** CORS preflight for public GET/HEAD resources (Range and conditional headers). */
export function preflight(_req: express.Request, res: express.Response): void {
  res.setHeader('Access-Control-Allow-Origin', '*')
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS')
  res.setHeader('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Modified-Since, If-Range, Content-Type')
  res.setHeader('Access-Control-Max-Age', '86400')
  res.status(204).end()
}
