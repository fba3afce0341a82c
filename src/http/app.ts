/**
 * The Express app: public Listen/audio routes, the admin API, the player and
 * feed routers (owned by their helpers), the home page, and one error handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import express from 'express'
import { countEpisodeDownload } from '../admin/downloads.ts'
import { compressResponse, compressResponses } from './compress.ts'
import type { AppDeps } from './deps.ts'
import { errorHandler, notFound } from './error-handler.ts'
import { closeAfterEarlyAnswer } from './limits.ts'
import { setSecurityHeaders } from './security.ts'
import { openapiRouter } from './openapi.ts'
import { accountsRouter } from './routes/accounts.ts'
import { adminRouter } from './routes/admin.ts'
import { audioFastPath, audioRouter } from './routes/audio.ts'
import { dashboardRouter } from './routes/dashboard.ts'
import { feedRouter } from './routes/feed.ts'
import { figuresRouter } from './routes/figures.ts'
import { healthRouter } from './routes/health.ts'
import { lexiconRouter } from './routes/lexicon.ts'
import { homeRouter } from './routes/home.ts'
import { listenRouter } from './routes/listen.ts'
import { playerRouter } from './routes/player.ts'
import { voicesRouter } from './routes/voices.ts'
import { sourcesRouter } from './routes/sources.ts'
import { settingsRouter } from './routes/settings.ts'
import { applySettings, settingsApplied } from '../admin/settings.ts'

/**
 * A request listener for http.createServer: the audio fast path first
 * (see audioFastPath), then the Express app.
 */
export function createRequestHandler(deps: AppDeps): { app: express.Express; handle: (req: IncomingMessage, res: ServerResponse) => void } {
  const app = createApp(deps)
  const fast = audioFastPath(deps)
  const downloads = deps.store.downloads
  const onCountError = (err: unknown) => deps.logger.warn({ err }, 'could not count a download')
  const episodeOf = (articleId: string, hash: string) => deps.store.episodes.findByArticleAndHash(articleId, hash)
  return {
    app,
    handle: (req, res) => {
      closeAfterEarlyAnswer(req, res)
      setSecurityHeaders(req, res)
      // Podcast downloads (IAB-style) of episode files, whichever path serves them.
      countEpisodeDownload(downloads, episodeOf, req, res, onCountError)
      // Before the fast path too: its transcripts and JSON files are compressed like any other text.
      compressResponse(req, res)
      fast(req, res, () => app(req, res))
    },
  }
}

export function createApp(deps: AppDeps): express.Express {
  // Run-time settings changed in the dashboard (src/admin/settings.ts) apply from the start: createDeps applies them
  // before the app exists; deps built otherwise get them as soon as the store answers.
  if (!settingsApplied(deps)) void applySettings(deps).catch((err: unknown) => deps.logger.warn({ err }, 'cannot apply the stored run-time settings'))
  const app = express()
  app.disable('x-powered-by')
  // Behind a proxy the operator sets publicUrl; we never build URLs from Host headers.
  app.set('etag', false)
  app.set('query parser', 'simple')
  // Client addresses (req.ip: the listen-event rate limit) come from X-Forwarded-For only through these proxies.
  app.set('trust proxy', deps.config.server.trustProxy)

  app.use(requestLog(deps))
  app.use(compressResponses())
  app.use(healthRouter(deps))
  app.use(openapiRouter(deps))
  app.use(audioRouter(deps))
  app.use(listenRouter(deps))
  app.use(playerRouter(deps))
  app.use(feedRouter(deps))
  app.use(sourcesRouter(deps))
  app.use(accountsRouter(deps))
  app.use(settingsRouter(deps))
  app.use('/api/lexicon', lexiconRouter(deps))
  app.use(figuresRouter(deps))
  app.use(voicesRouter(deps))
  app.use('/api', adminRouter(deps))
  app.use(dashboardRouter(deps))
  app.use(homeRouter(deps))
  app.use(notFound)
  app.use(errorHandler(deps.logger))
  return app
}

/** One structured log line per request, at debug for hot public paths so busy sites are not flooded. */
function requestLog(deps: AppDeps): express.RequestHandler {
  const log = deps.logger
  return (req, res, next) => {
    if (!log.isLevelEnabled('debug') && !req.path.startsWith('/api')) return next()
    const start = process.hrtime.bigint()
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      log[req.path.startsWith('/api') ? 'info' : 'debug']({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request')
    })
    next()
  }
}
