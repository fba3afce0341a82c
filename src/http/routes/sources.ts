/**
 * Sources and webhooks (docs/publishing.md):
 *   GET/POST /api/sources, GET/PATCH/DELETE /api/sources/:id, GET /api/sources/:id/items,
 *   POST /api/sources/:id/poll                         Bearer API key
 *   POST /api/hooks/:source                            signed with the source's secret (no API key)
 */
import express from 'express'
import { z } from 'zod'
import { sourceConfigSchema } from '../../config.ts'
import { AppError, toAppError } from '../../errors.ts'
import { newSecret, sourceFromConfig, sourcesRuntime } from '../../sources/runtime.ts'
import { entryAllowed } from '../../sources/parse.ts'
import { isPublic } from '../../sources/embargo.ts'
import { verifySignature } from '../../sources/signature.ts'
import { urlKey } from '../../sources/url-key.ts'
import type { SourceRecord } from '../../store/sources.ts'
import type { ArticleRecord } from '../../store/types.ts'
import { sha256 } from '../../util/files.ts'
import type { AppDeps } from '../deps.ts'
import { CORS_EXPOSE } from '../serve-file.ts'
import { requireApiAuth } from '../auth.ts'
import { preflight } from './audio.ts'
import { articleInfo } from './listen.ts'

function validation(error: z.ZodError, what: string): AppError {
  const problems = error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }))
  return new AppError('VALIDATION_FAILED', `Invalid ${what}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { details: { problems } })
}

export function sourceJson(deps: AppDeps, s: SourceRecord) {
  return {
    id: s.id,
    kind: s.kind,
    url: s.url,
    origin: s.origin,
    enabled: s.enabled,
    intervalSeconds: s.intervalSeconds,
    voice: s.options.voice ?? null,
    language: s.options.language ?? null,
    storyMode: s.options.storyMode ?? null,
    include: s.options.include ?? null,
    exclude: s.options.exclude ?? null,
    webhookUrl: `${deps.urls.base}/api/hooks/${encodeURIComponent(s.id)}`,
    hasSecret: s.secretSealed !== null,
    status: {
      polls: s.polls,
      notModified: s.notModified,
      bytesFetched: s.bytesFetched,
      itemsSeen: s.itemsSeen,
      itemsIngested: s.itemsIngested,
      failures: s.failures,
      lastPollAt: s.lastPollAt,
      lastSuccessAt: s.lastSuccessAt,
      lastErrorAt: s.lastErrorAt,
      lastError: s.lastError,
      nextPollAt: s.kind === 'webhook' || !s.enabled ? null : new Date(s.nextPollAt).toISOString(),
    },
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  }
}

const createSchema = sourceConfigSchema.and(z.object({ secret: z.string().optional() }))
const patchSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }).nullable().optional(),
    kind: z.enum(['feed', 'sitemap', 'webhook']).optional(),
    intervalSeconds: z.number().int().min(1).max(86_400).optional(),
    enabled: z.boolean().optional(),
    voice: z.string().trim().regex(/^[A-Za-z0-9_.-]{1,100}$/).nullable().optional(),
    language: z.string().trim().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/).nullable().optional(),
    storyMode: z.enum(['full', 'lede']).nullable().optional(),
    include: z.object({ categories: z.array(z.string()).optional(), paths: z.array(z.string().startsWith('/')).optional() }).strict().nullable().optional(),
    exclude: z.object({ categories: z.array(z.string()).optional(), paths: z.array(z.string().startsWith('/')).optional() }).strict().nullable().optional(),
    /** true: make a new secret (returned once). */
    rotateSecret: z.boolean().optional(),
  })
  .strict()

const hookSchema = z
  .object({
    event: z.enum(['upsert', 'create', 'update', 'publish', 'delete', 'unpublish']),
    externalId: z.string().trim().min(1).max(200),
    url: z.url({ protocol: /^https?$/ }).nullish(),
    title: z.string().max(1000).nullish(),
    html: z.string().nullish(),
    markdown: z.string().nullish(),
    text: z.string().nullish(),
    publishedAt: z.string().nullish(),
    author: z.string().max(500).nullish(),
    language: z.string().nullish(),
    categories: z.array(z.string().max(200)).max(100).nullish(),
  })
  .strict()

const DELIVERY_RE = /^[\x21-\x7e]{1,200}$/
const KEEP_DELIVERIES_MS = 24 * 3600 * 1000

export function sourcesRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const rt = sourcesRuntime(deps)
  const { repo } = rt
  const { config } = deps

  const load = async (id: string) => {
    const s = await repo.get(id)
    if (!s) throw new AppError('SOURCE_NOT_FOUND', `No source with id "${id}".`)
    return s
  }

  // ---- webhooks: authenticated by the signature, so mounted before the API key check ----
  const inflight = new Map<string, Promise<{ status: number; body: unknown }>>()
  router.post('/api/hooks/:source', express.raw({ type: () => true, limit: config.uploads.maxArticleBytes + 64 * 1024 }), async (req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    const source = await repo.get(req.params.source)
    if (!source || !source.secretSealed || !source.enabled) throw new AppError('SOURCE_NOT_FOUND', `No source "${req.params.source}" takes webhooks.`, { help: 'Create the source with POST /api/sources; its secret is shown once.' })
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const check = verifySignature(req.get('briefcast-signature'), rt.secrets.open(source.secretSealed), body, config.sources.webhookToleranceSeconds)
    if (!check.ok) {
      deps.logger.warn({ source: source.id, reason: check.reason }, 'webhook signature rejected')
      throw new AppError('INVALID_SIGNATURE', check.reason)
    }
    const deliveryId = req.get('briefcast-delivery')
    if (!deliveryId || !DELIVERY_RE.test(deliveryId))
      throw new AppError('VALIDATION_FAILED', 'Send a Briefcast-Delivery header: a unique id per delivery (1-200 printable characters), the same on every retry of it.', { details: { field: 'Briefcast-Delivery' } })
    const key = `${source.id}\n${deliveryId}`
    const done = await repo.delivery(source.id, deliveryId)
    if (done) {
      res.setHeader('Briefcast-Replayed', 'true')
      res.status(done.status).json(done.body)
      return
    }
    let p = inflight.get(key)
    const first = !p
    if (!p) {
      p = handleDelivery(source, deliveryId, body)
      inflight.set(key, p)
      void p.finally(() => inflight.delete(key)).catch(() => {})
    }
    const out = await p
    if (!first) res.setHeader('Briefcast-Replayed', 'true')
    res.status(out.status).json(out.body)
  })

  /** The delivery is recorded once answered, so a retry gets the same answer without doing the work twice. */
  async function handleDelivery(source: SourceRecord, deliveryId: string, body: Buffer): Promise<{ status: number; body: unknown }> {
    let out: { status: number; body: unknown }
    try {
      let json: unknown
      try {
        json = JSON.parse(body.toString('utf8'))
      } catch {
        throw new AppError('INVALID_JSON', 'The webhook body must be JSON: {"event": "upsert" | "delete", "externalId", ...}.')
      }
      const parsed = hookSchema.safeParse(json)
      if (!parsed.success) throw validation(parsed.error, 'webhook')
      const h = parsed.data
      const itemKey = `hook:${h.externalId}`
      if (h.event === 'delete' || h.event === 'unpublish') {
        const removed = await rt.ingest.remove(source, itemKey, h.externalId)
        out = { status: 200, body: { event: h.event, externalId: h.externalId, action: removed ? 'deleted' : 'absent' } }
      } else {
        const allowed = entryAllowed(
          { key: itemKey, link: h.url ?? null, title: null, html: null, summary: null, categories: h.categories ?? [], publishedAt: null, updatedAt: null, author: null, language: null },
          source.options,
        )
        if (!allowed) out = { status: 200, body: { event: h.event, externalId: h.externalId, action: 'excluded' } }
        else {
          const { action, article } = await rt.ingest.upsert(
            source,
            itemKey,
            { externalId: h.externalId, url: h.url ?? null, title: h.title ?? null, html: h.html, markdown: h.markdown, text: h.text, publishedAt: h.publishedAt ?? null, author: h.author ?? null, language: h.language ?? null },
            sha256(JSON.stringify(h)),
            { revive: true },
          )
          out = { status: action === 'created' ? 201 : 200, body: { event: h.event, externalId: h.externalId, action, articleId: article?.id ?? null, listenUrl: article ? deps.urls.listen(article.id) : null } }
        }
      }
    } catch (err) {
      const e = toAppError(err)
      if (e.status >= 500) throw e // not recorded: a retry of this delivery may succeed
      out = { status: e.status, body: { error: e.toJSON() } }
    }
    await repo.recordDelivery(source.id, deliveryId, out.status, out.body, KEEP_DELIVERIES_MS)
    return out
  }

  // ---- the player's lookup by page URL (public, like info.json) ----
  router.options('/lookup.json', preflight)
  router.get('/lookup.json', async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE)
    const url = typeof req.query.url === 'string' ? req.query.url : ''
    const key = urlKey(url)
    if (!key) throw new AppError('VALIDATION_FAILED', 'Send the page address as ?url=<absolute http(s) URL>.', { details: { field: 'url' } })
    let found: ArticleRecord | undefined
    for (const id of await deps.store.articles.idsByUrlKey(key, 5)) {
      const a = await deps.store.articles.get(id)
      if (a && isPublic(a)) {
        found = a
        break
      }
    }
    if (!found) throw new AppError('ARTICLE_NOT_FOUND', `No article for the page ${url}.`, { help: 'Publish the story through a source, or send its url with POST /api/articles.' })
    res.setHeader('Cache-Control', 'no-cache')
    res.json(await articleInfo(deps, found))
  })

  // ---- admin ----
  const admin = express.Router()
  // Reading: viewer and up; adding, changing, polling and deleting sources: admin (docs/admin.md).
  const readers = requireApiAuth(deps, 'viewer')
  const admins = requireApiAuth(deps, 'admin')
  admin.use((req, res, next) => (req.method === 'GET' || req.method === 'HEAD' ? readers : admins)(req, res, next))
  admin.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })
  const json = express.json({ limit: '64kb' })

  admin.get('/', async (_req, res) => {
    res.json({ items: (await repo.list()).map((s) => sourceJson(deps, s)) })
  })

  admin.post('/', json, async (req, res) => {
    const parsed = createSchema.safeParse(req.body ?? {})
    if (!parsed.success) throw validation(parsed.error, 'source')
    const secret = parsed.data.secret ?? newSecret()
    // deps.config, not the start-up config: the default interval is a run-time setting (src/admin/settings.ts).
    const s = await repo.insert(sourceFromConfig(parsed.data, 'api', deps.config.sources, rt.secrets.seal(secret)))
    rt.poller.wake()
    // The secret is shown once; it is stored sealed (docs/publishing.md) and never logged.
    res.status(201).location(`/api/sources/${s.id}`).json({ ...sourceJson(deps, s), secret })
  })

  admin.get('/:id', async (req, res) => {
    res.json(sourceJson(deps, await load(req.params.id)))
  })

  admin.get('/:id/items', async (req, res) => {
    const s = await load(req.params.id)
    res.json({ items: await repo.items(s.id, 200) })
  })

  admin.patch('/:id', json, async (req, res) => {
    const s = await load(req.params.id)
    const parsed = patchSchema.safeParse(req.body ?? {})
    if (!parsed.success) throw validation(parsed.error, 'source')
    const p = parsed.data
    const options = { ...s.options }
    for (const k of ['voice', 'language', 'storyMode', 'include', 'exclude'] as const) {
      if (!(k in p)) continue
      if (p[k] === null) delete options[k]
      else (options as Record<string, unknown>)[k] = p[k]
    }
    const url = p.url === undefined ? s.url : p.url
    const kind = p.kind ?? (url ? (s.kind === 'webhook' ? 'feed' : s.kind) : 'webhook')
    if (kind !== 'webhook' && !url) throw new AppError('VALIDATION_FAILED', 'A feed or sitemap source needs a url.', { details: { field: 'url' } })
    const secret = p.rotateSecret ? newSecret() : undefined
    const updated = await repo.update(s.id, {
      kind,
      url,
      origin: s.origin,
      options,
      intervalSeconds: p.intervalSeconds ?? s.intervalSeconds,
      enabled: p.enabled ?? s.enabled,
      secretSealed: secret ? rt.secrets.seal(secret) : s.secretSealed,
    })
    rt.poller.wake()
    res.json({ ...sourceJson(deps, updated), ...(secret ? { secret } : {}) })
  })

  admin.delete('/:id', async (req, res) => {
    if (!(await repo.delete((await load(req.params.id)).id))) throw new AppError('SOURCE_NOT_FOUND', `No source with id "${req.params.id}".`)
    res.status(204).end()
  })

  admin.post('/:id/poll', async (req, res) => {
    const s = await load(req.params.id)
    if (s.kind === 'webhook' || !s.url) throw new AppError('VALIDATION_FAILED', `Source "${s.id}" takes webhooks only; there is nothing to poll.`)
    const result = await rt.poller.poll(s.id)
    rt.poller.wake()
    res.json({ result, source: sourceJson(deps, (await repo.get(s.id))!) })
  })

  router.use('/api/sources', admin)
  return router
}
