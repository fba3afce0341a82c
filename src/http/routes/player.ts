/**
 * The embeddable player: GET /player.js (and the versioned /player/<hash>.js),
 * the iframe page GET /embed/:id, listen counts POST /listen/:id/events and the
 * admin view GET /api/articles/:id/stats. See docs/player.md.
 */
import express from 'express'
import { z } from 'zod'
import { AppError } from '../../errors.ts'
import type { AppDeps } from '../deps.ts'
import { playerBundle, type PlayerBundle } from '../player/bundle.ts'
import type { ListenEvent } from '../../store/stats.ts'
import { requireApiKey } from './admin.ts'
import { isPublicArticle } from './listen.ts'

/**
 * Sites paste `<script src=".../player.js">` once and never change it, so that URL
 * cannot be immutable: browsers keep it a day, then revalidate in the background
 * (ETag -> 304) while still using the cached copy for a week. The embed page uses
 * the content-addressed /player/<hash>.js, which is immutable.
 */
const PLAYER_CACHE = 'public, max-age=86400, stale-while-revalidate=604800'
const IMMUTABLE = 'public, max-age=31536000, immutable'

const eventSchema = z.union([
  z.object({ event: z.literal('start') }).strict(),
  z.object({ event: z.literal('progress'), percent: z.union([z.literal(25), z.literal(50), z.literal(75), z.literal(100)]) }).strict(),
])

/** Article ids and external ids are short url-safe strings. */
const ID_RE = /^[\w.~-]{1,200}$/

export function playerRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const bundle = playerBundle({ onWarning: (m) => deps.logger.warn(m) })
  const stats = deps.store.listenStats
  const limiter = eventRateLimiter()

  const sendScript = (req: express.Request, res: express.Response, cacheControl: string) => {
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8')
    res.setHeader('Cache-Control', cacheControl)
    res.setHeader('ETag', `"${bundle.hash}"`)
    res.setHeader('Vary', 'Accept-Encoding')
    res.setHeader('Access-Control-Allow-Origin', '*')
    // Sites with Cross-Origin-Embedder-Policy still load it.
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    if (etagMatches(req.headers['if-none-match'], bundle.hash)) {
      res.status(304).end()
      return
    }
    const body = encodeFor(req.headers['accept-encoding'], bundle)
    if (body.encoding) res.setHeader('Content-Encoding', body.encoding)
    res.setHeader('Content-Length', String(body.data.length))
    res.end(req.method === 'HEAD' ? undefined : body.data)
  }

  router.get('/player.js', (req, res) => sendScript(req, res, PLAYER_CACHE))
  router.get('/player/:file', (req, res, next) => {
    const m = /^([0-9a-f]{16})\.js$/.exec(req.params.file)
    if (!m) return next()
    // An old hash (the service was upgraded): send the current script, but do not let it be cached as that version forever.
    if (m[1] !== bundle.hash) {
      res.setHeader('Access-Control-Allow-Origin', '*')
      res.setHeader('Cache-Control', 'no-cache')
      return res.redirect(302, `${deps.urls.base}/player/${bundle.hash}.js`)
    }
    sendScript(req, res, IMMUTABLE)
  })

  router.get('/embed/:id', async (req, res) => {
    const id = req.params.id
    const found = ID_RE.test(id) ? ((await deps.store.articles.get(id)) ?? (await deps.store.articles.getByExternalId(id))) : undefined
    // Cached publicly (max-age): only what every reader may see.
    const article = found && isPublicArticle(found) ? found : undefined
    const theme = req.query.theme === 'light' || req.query.theme === 'dark' ? req.query.theme : undefined
    const color = typeof req.query.color === 'string' && /^(#[0-9a-f]{3,8}|[a-z]{3,20})$/i.test(req.query.color) ? req.query.color : undefined
    const base = deps.urls.base
    // The page is meant to be framed by any site; it only talks to this service.
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; script-src ${base}/player/ 'self'; style-src 'unsafe-inline'; connect-src 'self' ${base}; media-src 'self' ${base}; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors *`,
    )
    res.setHeader('Content-Type', 'text/html; charset=utf-8')
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.setHeader('Referrer-Policy', 'no-referrer')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.status(article ? 200 : 404)
    // The widget itself shows "Audio isn't available" for an unknown id: a framed 404 still looks intentional.
    res.end(
      embedPage({
        articleId: article?.id ?? (ID_RE.test(id) ? id : '-'),
        title: article?.title ?? 'Audio not found',
        language: article?.language ?? 'en',
        scriptUrl: `${base}/player/${bundle.hash}.js`,
        theme,
        color,
      }),
    )
  })

  // Listen counts. The player sends JSON as text/plain: a "simple" CORS request, so no preflight.
  router.post('/listen/:id/events', express.text({ type: () => true, limit: 1024 }), async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Cache-Control', 'no-store')
    const retryAfter = limiter.take(clientKey(req))
    if (retryAfter > 0) {
      res.setHeader('Retry-After', String(retryAfter))
      throw new AppError('RATE_LIMITED', 'Too many listen events from this client; slow down.')
    }
    const event = parseEvent(req.body)
    // The element's article attribute may hold the site's externalId, as info.json accepts.
    const article = (await deps.store.articles.get(req.params.id)) ?? (await deps.store.articles.getByExternalId(req.params.id))
    if (!article || !isPublicArticle(article)) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${req.params.id}".`)
    await stats.record(article.id, event)
    res.status(204).end()
  })

  router.get('/api/articles/:id/stats', requireApiKey(deps), async (req, res) => {
    const id = String(req.params.id)
    const article = (await deps.store.articles.get(id)) ?? (await deps.store.articles.getByExternalId(id))
    if (!article) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${id}".`)
    const daysParam = req.query.days
    let days = 90
    if (daysParam !== undefined) {
      const n = Number(daysParam)
      if (!Number.isInteger(n) || n < 1 || n > 3660) throw new AppError('VALIDATION_FAILED', 'days must be an integer from 1 to 3660.', { details: { field: 'days' } })
      days = n
    }
    res.setHeader('Cache-Control', 'no-store')
    res.json(await stats.forArticle(article.id, { days }))
  })

  return router
}

function parseEvent(body: unknown): ListenEvent {
  let json: unknown
  try {
    json = JSON.parse(typeof body === 'string' ? body : '')
  } catch {
    throw new AppError('INVALID_JSON', 'Send {"event":"start"} or {"event":"progress","percent":25|50|75|100} as JSON.')
  }
  const parsed = eventSchema.safeParse(json)
  if (!parsed.success)
    throw new AppError('VALIDATION_FAILED', 'Send {"event":"start"} or {"event":"progress","percent":25|50|75|100}.', {
      details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    })
  return parsed.data
}

function etagMatches(header: string | undefined, hash: string): boolean {
  if (!header) return false
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '')
    return v === '*' || v === `"${hash}"`
  })
}

/** "br" / "gzip" listed in Accept-Encoding and not refused with q=0. */
const ACCEPTS = {
  br: /(^|,)\s*br\s*(;\s*q=(?!0(\.0*)?\s*($|,))[\d.]+)?\s*($|,)/,
  gzip: /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*($|,))[\d.]+)?\s*($|,)/,
}

function encodeFor(accept: string | undefined, bundle: PlayerBundle): { data: Buffer; encoding?: string } {
  const a = (accept ?? '').toLowerCase()
  if (ACCEPTS.br.test(a)) return { data: bundle.brotli, encoding: 'br' }
  if (ACCEPTS.gzip.test(a)) return { data: bundle.gzip, encoding: 'gzip' }
  return { data: bundle.code }
}

/**
 * The client's address, used only as an in-memory rate-limit key; never stored or logged.
 * req.ip honours BRIEFCAST_TRUST_PROXY: behind a proxy it is the reader's address, not the proxy's.
 */
function clientKey(req: express.Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown'
}

/**
 * A light token bucket per client: a listener sends at most 5 events per player, so
 * a burst of 60 and 1 token per second refill never bothers a real page with a few
 * players, and stops a loop from inflating counts. Memory only; idle buckets expire.
 */
export function eventRateLimiter(options: { burst?: number; perSecond?: number; maxClients?: number } = {}) {
  const burst = options.burst ?? 60
  const perSecond = options.perSecond ?? 1
  const maxClients = options.maxClients ?? 50_000
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    /** 0 when allowed, else seconds to wait. */
    take(key: string, now = Date.now()): number {
      let b = buckets.get(key)
      if (b) {
        b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond)
        b.at = now
      } else {
        if (buckets.size >= maxClients) {
          // Drop full (idle) buckets first; they carry no state worth keeping.
          for (const [k, v] of buckets) if (v.tokens + ((now - v.at) / 1000) * perSecond >= burst) buckets.delete(k)
          if (buckets.size >= maxClients) buckets.clear()
        }
        b = { tokens: burst, at: now }
        buckets.set(key, b)
      }
      if (b.tokens < 1) return Math.ceil((1 - b.tokens) / perSecond)
      b.tokens -= 1
      return 0
    },
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function embedPage(p: { articleId: string; title: string; language: string; scriptUrl: string; theme?: string; color?: string }): string {
  const attrs = [`article="${escapeHtml(p.articleId)}"`]
  if (p.theme) attrs.push(`theme="${p.theme}"`)
  if (p.color) attrs.push(`color="${escapeHtml(p.color)}"`)
  return `<!doctype html>
<html lang="${escapeHtml(p.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
<title>Listen: ${escapeHtml(p.title)}</title>
<style>html,body{margin:0;background:transparent}body{padding:2px 4px}briefcast-player{margin:0;max-width:none}</style>
<script src="${escapeHtml(p.scriptUrl)}" defer></script>
</head>
<body>
<main><briefcast-player ${attrs.join(' ')}></briefcast-player></main>
</body>
</html>
`
}
