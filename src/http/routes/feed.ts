/**
 * Podcast feeds and briefings:
 *   GET  /feed.xml                 briefings (the show's main feed)
 *   GET  /feeds/articles.xml       one episode per article
 *   GET  /briefings/:id/:hash.(mp3|m4a|vtt|chapters.json|timings.json)   versioned, immutable files
 *   POST /api/briefings            create (and queue the render)       } Bearer API key
 *   GET  /api/briefings[/:id]      list / one                           }
 *   POST /api/briefings/:id/render render again                         }
 *   DELETE /api/briefings/:id                                           }
 *
 * Feeds answer conditional GETs: a strong ETag (hash of the bytes: the XML
 * is a pure function of its inputs) and Last-Modified (the newest change of
 * any item), 304 on If-None-Match / If-Modified-Since.
 */
import path from 'node:path'
import express from 'express'
import { z } from 'zod'
import { AppError } from '../../errors.ts'
import { startBriefingSchedule, type BriefingSchedule } from '../../episodes/schedule.ts'
import type { BriefingRecord } from '../../store/briefings.ts'
import { buildFeed, type FeedItem } from '../../feed/build.ts'
import { DEFAULT_COVER_PREFIX } from '../../feed/cover.ts'
import { articleFeedItem, BriefingService, briefingUrls, firstParagraph } from '../../feed/briefings.ts'
import type { EpisodeRecord } from '../../store/types.ts'
import { sha256 } from '../../util/files.ts'
import { EncodedBody } from '../compress.ts'
import { briefingEtag, checkIfMatch, ifMatchTags } from '../conditional.ts'
import type { AppDeps } from '../deps.ts'
import { keyOf } from '../../storage/index.ts'
import { requireApiKey } from './admin.ts'
import { isPublicArticle } from './listen.ts'
import { FILE_RE, IMMUTABLE, KINDS, preflight, storedFileHandler } from './audio.ts'

const FEED_CACHE_CONTROL = 'public, max-age=300'

const started = new Date()

interface FeedRuntime {
  service: BriefingService
  schedule: BriefingSchedule | undefined
  /** Stop the schedule and start it again from deps.config (run-time settings changed it); no catch-up run. */
  rearm(): void
}
const runtimes = new WeakMap<AppDeps, FeedRuntime>()

/** The briefing service (and schedule) of an app; one per deps, however many routers are built. */
export function feedRuntime(deps: AppDeps): FeedRuntime {
  let rt = runtimes.get(deps)
  if (!rt) {
    const service = new BriefingService(deps)
    const created: FeedRuntime = {
      service,
      schedule: startBriefingSchedule(deps, service),
      rearm() {
        created.schedule?.stop()
        created.schedule = undefined
        created.schedule = startBriefingSchedule(deps, service, { catchUp: false })
      },
    }
    rt = created
    runtimes.set(deps, rt)
  }
  return rt
}

const storyMode = z.enum(['full', 'lede'])
const ledeSeconds = z.number().int().min(5).max(3600)
const articleId = z.string().trim().min(1).max(200)
const createSchema = z
  .object({
    stories: z
      .array(z.object({ articleId, mode: storyMode.optional(), ledeSeconds: ledeSeconds.optional(), title: z.string().trim().min(1).max(500).optional() }).strict())
      .max(100)
      .optional(),
    articleIds: z.array(articleId).max(100).optional(),
    sinceHours: z.number().positive().max(24 * 31).optional(),
    maxStories: z.number().int().min(1).max(100).optional(),
    title: z.string().trim().min(1).max(500).optional(),
    mode: storyMode.optional(),
    ledeSeconds: ledeSeconds.optional(),
    allowPartial: z.boolean().optional(),
    voice: z.string().trim().min(1).optional(),
    language: z.string().trim().min(2).max(35).optional(),
    date: z.iso.datetime({ offset: true }).optional(),
    introJingle: z.string().trim().min(1).optional(),
    outroJingle: z.string().trim().min(1).optional(),
  })
  .strict()
  .refine((b) => [b.stories, b.articleIds, b.sinceHours].filter((x) => x !== undefined).length === 1, {
    message: 'send exactly one of "stories", "articleIds" or "sinceHours"',
  })

const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
})

function validation(error: z.ZodError): AppError {
  const problems = error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
  return new AppError('VALIDATION_FAILED', `Invalid briefing request: ${problems.join('; ')}`, { details: { problems } })
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)
}

/**
 * Send a feed with validators; 304 when the client's copy is current (RFC 9110 section 13).
 * Compressed feeds come from the memo (made once per feed version), each
 * encoding with its own strong ETag; the validators compare against the
 * representation this request selects.
 */
async function sendFeed(req: express.Request, res: express.Response, feed: { body: EncodedBody }, lastModified: Date): Promise<void> {
  const { encoding, etag } = feed.body.select(req)
  res.setHeader('Access-Control-Allow-Origin', '*')
  res.setHeader('Access-Control-Expose-Headers', 'ETag, Last-Modified')
  res.setHeader('Vary', 'Accept-Encoding')
  res.setHeader('ETag', etag)
  res.setHeader('Last-Modified', lastModified.toUTCString())
  res.setHeader('Cache-Control', FEED_CACHE_CONTROL)
  const inm = req.headers['if-none-match']
  const ims = req.headers['if-modified-since']
  const notModified =
    inm !== undefined
      ? etagMatches(inm, etag)
      : ims !== undefined && !Number.isNaN(Date.parse(ims)) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(Date.parse(ims) / 1000)
  if (notModified) {
    res.status(304).end()
    return
  }
  const body = await feed.body.bytes(encoding)
  res.status(200)
  res.setHeader('Content-Type', 'application/rss+xml; charset=utf-8')
  if (encoding) res.setHeader('Content-Encoding', encoding)
  res.setHeader('Content-Length', String(body.length))
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** Second precision, never before the epoch, never in the future: what Last-Modified can carry. */
function httpDate(ms: number): Date {
  const t = Number.isFinite(ms) && ms > 0 ? Math.min(ms, Date.now()) : started.getTime()
  return new Date(Math.floor(t / 1000) * 1000)
}

export function briefingJson(deps: AppDeps, b: BriefingRecord, ep: EpisodeRecord | undefined) {
  const urls = briefingUrls(deps.config.publicUrl)
  return {
    id: b.id,
    title: b.title,
    origin: b.origin,
    day: b.day,
    language: b.language,
    voice: b.profileId,
    status: b.status,
    progress: b.status === 'ready' ? 1 : b.progress,
    error: b.error,
    publishedAt: b.publishedAt,
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
    stories: b.stories,
    skipped: b.skipped,
    durationMs: ep?.durationMs ?? null,
    bytes: ep?.bytes ?? null,
    audioUrl: ep ? urls.audio(b, ep) : null,
    transcriptUrl: ep ? urls.transcript(b, ep) : null,
    chaptersUrl: ep ? urls.chapters(b, ep) : null,
    timingsUrl: ep ? urls.timings(b, ep) : null,
    chapters: ep?.chapters ?? null,
    loudness: ep?.loudness ?? null,
    feedGuid: `briefcast:briefing:${b.id}`,
  }
}

export function feedRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const { service } = feedRuntime(deps)
  // Read deps.config per request where run-time settings apply (show metadata, feed.itemLimit: src/admin/settings.ts).
  const { config: startConfig } = deps
  const cacheDir = path.resolve(startConfig.cacheDir)
  const serveFile = storedFileHandler(deps)
  const base = startConfig.publicUrl.replace(/\/+$/, '')

  /** Show metadata; without a configured cover, the newest cover uploaded to /api/assets. */
  const show = async () => {
    const { config } = deps
    if (config.show.imageUrl) return config.show
    // An uploaded cover wins over the generated default (src/feed/cover.ts).
    const covers = await deps.store.assets.list('cover')
    const cover = covers.find((c) => !c.id.startsWith(DEFAULT_COVER_PREFIX)) ?? covers[0]
    return cover ? { ...config.show, imageUrl: `${base}/assets/${encodeURIComponent(path.basename(cover.file))}` } : config.show
  }

  /**
   * Podcast apps poll feeds often and mostly get the same bytes: the XML is a
   * pure function of its inputs, so keep the last one per feed and rebuild
   * only when the inputs' fingerprint changes (building 100 items costs
   * milliseconds of event-loop time; the fingerprint, microseconds).
   */
  const memo = new Map<string, { key: string; etag: string; body: EncodedBody }>()
  const cached = (name: string, inputs: unknown, build: () => string) => {
    const key = sha256(JSON.stringify(inputs))
    const hit = memo.get(name)
    if (hit && hit.key === key) return hit
    const xml = build()
    const etag = `"${sha256(xml).slice(0, 32)}"`
    const entry = { key, etag, body: new EncodedBody(xml, etag) }
    memo.set(name, entry)
    return entry
  }

  router.get('/feed.xml', async (req, res) => {
    const { config } = deps
    const { items, lastModified } = await service.feedItems(config.feed.itemLimit)
    const modified = httpDate(lastModified.getTime())
    const meta = await show()
    const options = {
      feedUrl: `${base}/feed.xml`,
      ...(config.show.guid ? { guid: config.show.guid } : {}),
      itemLimit: config.feed.itemLimit,
      lastBuildDate: modified,
      ttlMinutes: 60,
    }
    await sendFeed(req, res, cached('feed', [meta, items, options], () => buildFeed(meta, items, options)), modified)
  })

  router.get('/feeds/articles.xml', async (req, res) => {
    const { config } = deps
    // Embargoed stories (dated in the future) stay out until their time.
    const rows = (await deps.store.episodes.listPublished({ limit: config.feed.itemLimit })).filter(({ article }) => isPublicArticle(article))
    let latest = 0
    const items: FeedItem[] = []
    for (const { article, episode } of rows) {
      // An embargoed article that just went public changes the feed at its publication time.
      latest = Math.max(latest, Date.parse(episode.createdAt), Date.parse(article.updatedAt), article.publishedAt ? Date.parse(article.publishedAt) || 0 : 0)
      items.push(articleFeedItem(article, episode, deps, article.excerpt ? undefined : firstParagraph((await deps.store.articles.getScript(article.id))?.script)))
    }
    const modified = httpDate(latest)
    const meta = await show()
    const options = {
      feedUrl: `${base}/feeds/articles.xml`,
      title: `${config.show.title}: all articles`,
      itemLimit: config.feed.itemLimit,
      lastBuildDate: modified,
      ttlMinutes: 60,
    }
    await sendFeed(req, res, cached('articles', [meta, items, options], () => buildFeed(meta, items, options)), modified)
  })

  router.options('/briefings/:id/:file', preflight)
  router.get('/briefings/:id/:file', async (req, res, next) => {
    const m = FILE_RE.exec(req.params.file)
    if (!m) return next(new AppError('NOT_FOUND', 'No such briefing file.'))
    const [, hash, ext] = m as unknown as [string, string, keyof typeof KINDS]
    const b = await service.repo.get(req.params.id)
    const ep = b?.episodeId != null ? await deps.store.episodes.get(b.episodeId) : undefined
    if (!ep || ep.hash !== hash || ((ext === 'mp3' || ext === 'm4a') && ep.format !== ext))
      return next(new AppError('NOT_FOUND', 'No such briefing file; it may have been replaced by a newer render.'))
    const kind = KINDS[ext]
    await serveFile(req, res, next, { key: keyOf(kind.file(ep)), path: path.resolve(cacheDir, kind.file(ep)), contentType: kind.type, etag: `"${hash}-${ext}"`, cacheControl: IMMUTABLE })
  })

  const admin = express.Router()
  admin.use(requireApiKey(deps))
  admin.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })
  admin.post('/', express.json({ limit: '256kb' }), async (req, res) => {
    const parsed = createSchema.safeParse(req.body ?? {})
    if (!parsed.success) throw validation(parsed.error)
    const b = await service.create(parsed.data)
    res.status(202).location(`${base}/api/briefings/${b.id}`).json(briefingJson(deps, b, undefined))
  })
  admin.get('/', async (req, res) => {
    const parsed = listSchema.safeParse(req.query)
    if (!parsed.success) throw validation(parsed.error)
    const { items, total } = await service.repo.list(parsed.data)
    const withEpisodes = await Promise.all(items.map(async (b) => briefingJson(deps, b, (await service.withEpisode(b)).episode)))
    res.json({ items: withEpisodes, total, limit: parsed.data.limit, offset: parsed.data.offset })
  })
  admin.get('/:id', async (req, res) => {
    const b = await service.repo.get(req.params.id)
    if (!b) throw new AppError('NOT_FOUND', `No briefing with id "${req.params.id}".`)
    res.setHeader('ETag', briefingEtag(b))
    res.json(briefingJson(deps, b, (await service.withEpisode(b)).episode))
  })
  // If-Match is checked right before the change.
  const ifMatches = async (req: express.Request) => {
    const b = await service.repo.get(req.params.id as string)
    if (b) checkIfMatch(ifMatchTags(req), briefingEtag(b), `Briefing "${b.id}"`)
  }
  admin.post('/:id/render', async (req, res) => {
    await ifMatches(req)
    const b = await service.rerender(req.params.id)
    res.status(202).json(briefingJson(deps, b, (await service.withEpisode(b)).episode))
  })
  admin.delete('/:id', async (req, res) => {
    await ifMatches(req)
    if (!(await service.delete(req.params.id))) throw new AppError('NOT_FOUND', `No briefing with id "${req.params.id}".`)
    res.status(204).end()
  })
  router.use('/api/briefings', admin)
  return router
}
