/**
 * Public Listen endpoints (docs/api.md):
 *   GET /listen/:id              302 to the versioned audio, or a progressive audio/mpeg stream
 *   GET /listen/:id/info.json    status, progress and URLs
 *   GET /listen/:id/(timings.json|transcript.vtt|chapters.json)  302 to the versioned file
 */
import { once } from 'node:events'
import express from 'express'
import { AppError, toAppError } from '../../errors.ts'
import { RENDER_ARTICLE } from '../../episodes/render-coordinator.ts'
import type { ArticleRecord, EpisodeRecord } from '../../store/types.ts'
import { identify } from '../auth.ts'
import type { AppDeps } from '../deps.ts'
import { CORS_EXPOSE } from '../serve-file.ts'
import { preflight, preflightFor } from './audio.ts'
import { isPublic } from '../../sources/embargo.ts'

/**
 * What readers may see: not a story dated in the future (an embargo), and not
 * one whose render failed before it ever had an episode. The newsroom (a
 * session or an API key) sees everything, with the error.
 */
export function isPublicArticle(a: ArticleRecord, now = Date.now()): boolean {
  return isPublic(a, now) && !(a.status === 'failed' && a.episodeId === null)
}

function isNewsroom(deps: AppDeps, req: express.Request | undefined): boolean {
  if (!req) return true
  try {
    return identify(deps, req) !== undefined
  } catch {
    return false
  }
}

/** The article by id or externalId, as the asking client may see it (404 for what is not public). */
export function findArticle(deps: AppDeps, id: string, req?: express.Request): ArticleRecord {
  const a = deps.store.articles.get(id) ?? deps.store.articles.getByExternalId(id)
  if (!a || (!isPublicArticle(a) && !isNewsroom(deps, req))) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${id}".`)
  return a
}

export interface ArticleInfo {
  id: string
  externalId: string | null
  title: string
  language: string
  status: ArticleRecord['status']
  progress: number
  durationMs: number | null
  audioUrl: string | null
  streamUrl: string
  transcriptUrl: string | null
  chaptersUrl: string | null
  timingsUrl: string | null
  embedUrl: string
  error: { code: string; message: string } | null
}

export function articleInfo(deps: AppDeps, a: ArticleRecord, ep?: EpisodeRecord): ArticleInfo {
  const episode = ep ?? (a.episodeId !== null ? deps.store.episodes.get(a.episodeId) : undefined)
  const { urls } = deps
  return {
    id: a.id,
    externalId: a.externalId,
    title: a.title,
    language: a.language,
    status: a.status,
    progress: a.status === 'ready' ? 1 : a.status === 'rendering' ? a.progress : 0,
    durationMs: episode?.durationMs ?? null,
    audioUrl: episode ? urls.audio(episode) : null,
    streamUrl: urls.listen(a.id),
    transcriptUrl: episode ? urls.transcript(episode) : null,
    chaptersUrl: episode ? urls.chapters(episode) : null,
    timingsUrl: episode ? urls.timings(episode) : null,
    embedUrl: urls.embed(a.id),
    error: a.status === 'failed' && a.error ? publicError(a.error) : null,
  }
}

/**
 * A failed render as the public sees it: the code and a plain message. The stored message may name
 * settings, paths or engine output; it is for the logs and the admin API (GET /api/articles/:id).
 */
export function publicError(error: { code: string }): { code: string; message: string } {
  return { code: error.code, message: 'The audio for this article could not be made; the site has been told.' }
}

export function listenRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const cors = (res: express.Response) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE)
  }

  // Listen events (the player router's POST /listen/:id/events): a cross-origin POST with
  // Content-Type: application/json is preflighted, and the preflight must allow POST.
  router.options('/listen/:id/events', preflightFor('POST, OPTIONS'))
  router.options(['/listen/:id', '/listen/:id/:file'], preflight)

  router.get('/listen/:id/info.json', (req, res) => {
    const a = findArticle(deps, req.params.id, req)
    cors(res)
    res.setHeader('Cache-Control', 'no-cache')
    res.json(articleInfo(deps, a))
  })

  const redirects: Record<string, (ep: EpisodeRecord) => string> = {
    'timings.json': (ep) => deps.urls.timings(ep),
    'transcript.vtt': (ep) => deps.urls.transcript(ep),
    'chapters.json': (ep) => deps.urls.chapters(ep),
  }
  router.get('/listen/:id/:file', (req, res, next) => {
    const to = redirects[req.params.file]
    if (!to) return next()
    const a = findArticle(deps, req.params.id, req)
    const ep = a.episodeId !== null ? deps.store.episodes.get(a.episodeId) : undefined
    cors(res)
    if (!ep) throw new AppError('EPISODE_NOT_READY', `The episode of "${a.id}" is not ready yet (status: ${a.status}).`, { status: 404 })
    res.setHeader('Cache-Control', 'no-cache')
    res.redirect(302, to(ep))
  })

  router.get('/listen/:id', async (req, res) => {
    let a = findArticle(deps, req.params.id, req)
    cors(res)
    const redirectToEpisode = (article: ArticleRecord): boolean => {
      const ep = article.episodeId !== null ? deps.store.episodes.get(article.episodeId) : undefined
      if (!ep) return false
      // The current (or, during a re-render, the previous) episode: its versioned URL is immutable and cacheable.
      res.setHeader('Cache-Control', 'no-cache')
      res.redirect(302, deps.urls.audio(ep))
      return true
    }
    if (redirectToEpisode(a)) return
    if (a.status === 'failed') {
      throw new AppError('EPISODE_NOT_READY', `The audio for "${a.title}" could not be made.`, {
        status: 503,
        help: 'Fix the article (PUT /api/articles/:id) to render it again; GET /api/articles/:id has the error.',
        details: { error: a.error ? publicError(a.error) : null },
      })
    }
    let flight = await deps.renders.join(a.id)
    if (!flight) {
      // The render may have been published while we asked the queue.
      a = findArticle(deps, a.id)
      if (redirectToEpisode(a)) return
    }
    if (!flight && a.status !== 'failed') {
      // A queued article without a job (in-process: should not happen, they are written together; with Redis:
      // the enqueue of a POST that just answered is still on its way, or was lost to an outage): enqueue
      // (deduplicated per revision) and join.
      if (!(await deps.jobs.findActive(RENDER_ARTICLE, a.id))) await deps.renders.enqueueNow(a)
      flight = await deps.renders.join(a.id)
    }
    // No flight while a job is active: the service is stopping, or a render is settling this very moment.
    if (!flight) throw new AppError('EPISODE_NOT_READY', 'The episode is not ready and cannot be streamed right now; retry shortly.', { status: 503 })

    const controller = new AbortController()
    res.once('close', () => controller.abort())
    flight.readers++
    try {
      const pieces = flight.read(controller.signal)
      // Wait for the first piece before sending headers, so a render that fails at once still gets a JSON error.
      const first = await pieces.next()
      res.status(200)
      res.setHeader('Content-Type', 'audio/mpeg')
      res.setHeader('Cache-Control', 'no-store')
      res.setHeader('X-Briefcast-Progressive', '1')
      if (req.method === 'HEAD') {
        res.end()
        return
      }
      res.flushHeaders()
      if (!first.done) {
        if (!res.write(first.value)) await once(res, 'drain', { signal: controller.signal })
        for await (const piece of pieces) {
          if (!res.write(piece)) await once(res, 'drain', { signal: controller.signal })
        }
      }
      res.end()
    } catch (err) {
      if (controller.signal.aborted) return // the reader left
      const e = toAppError(err)
      if (res.headersSent) {
        deps.logger.warn({ article: a.id, code: e.code }, 'progressive stream ended by a failed render')
        res.destroy()
        return
      }
      deps.logger.warn({ article: a.id, code: e.code, message: e.message }, 'render failed while a listener waited')
      throw new AppError('EPISODE_NOT_READY', `The audio for "${a.title}" could not be made.`, { status: 503, details: { error: publicError(e) } })
    } finally {
      flight.readers--
    }
  })
  return router
}
