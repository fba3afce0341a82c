/**
 * Admin API under /api (API key or dashboard session): articles and assets.
 * See docs/api.md and src/http/openapi.ts for the request and response shapes.
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import express from 'express'
import contentType from 'content-type'
import multer from 'multer'
import { AppError } from '../../errors.ts'
import { removeEpisodeFiles } from '../../episodes/render-coordinator.ts'
import { inspectImage } from '../../ingest/image.ts'
import { newArticleId, parseArticleFields, prepareArticle, type ArticleFields, type UploadedFile } from '../../ingest/article.ts'
import { Scripter } from '../../ingest/scripter.ts'
import type { ArticleRecord, ArticleStatus, AssetRecord } from '../../store/types.ts'
import { tempPathFor } from '../../util/files.ts'
import { KeyedLock } from '../../util/keyed-lock.ts'
import { articleEtag, checkIfMatch, ifMatchTags } from '../conditional.ts'
import { requireApiAuth } from '../auth.ts'
import type { AppDeps } from '../deps.ts'
import { embedSnippets } from '../player/snippet.ts'
import { blobStoreFor, keyOf } from '../../storage/index.ts'
import { forgetBlob, forgetFile } from '../serve-file.ts'
import { articleInfo } from './listen.ts'

/**
 * The /api guard: an API key (Bearer) or a dashboard session with its CSRF token;
 * reading needs the viewer role, changing needs editor (see ../auth.ts).
 */
export function requireApiKey(deps: AppDeps): express.RequestHandler {
  return requireApiAuth(deps)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** body-parser's verify hook: the raw bytes must be UTF-8. */
function requireUtf8(_req: unknown, _res: unknown, buf: Buffer): void {
  try {
    utf8.decode(buf)
  } catch {
    throw new AppError('INVALID_ENCODING', 'The JSON body is not valid UTF-8 (it looks like Latin-1 or another legacy encoding).')
  }
}

/** The media type of the Content-Type header, lowercase, without parameters ('' if absent or malformed). */
function mediaType(req: express.Request): string {
  try {
    return contentType.parse(req.get('content-type') ?? '').type
  } catch {
    return ''
  }
}

/** multer (busboy) throws on a multipart type without a boundary; say what to change instead. False when it answered. */
function multipartBoundary(req: express.Request, next: express.NextFunction): boolean {
  let boundary: string | undefined
  try {
    boundary = contentType.parse(req.get('content-type') ?? '').parameters.boundary
  } catch {}
  if (boundary) return true
  next(
    new AppError('VALIDATION_FAILED', 'The multipart/form-data Content-Type has no boundary parameter.', {
      help: 'Let your HTTP client build the body and its header (e.g. curl -F file=@story.md); do not set Content-Type by hand.',
    }),
  )
  return false
}

/** Delete an article, its episodes and (when no other episode shares them) their files; a pending render is cancelled. */
export async function deleteArticle(deps: AppDeps, a: ArticleRecord): Promise<void> {
  const { config, store } = deps
  const cacheDir = path.resolve(config.cacheDir)
  deps.renders.cancel(a.id)
  const episodes = store.episodes.listForArticle(a.id)
  store.db.transaction(() => {
    for (const ep of episodes) store.episodes.delete(ep.id)
    store.articles.delete(a.id)
  })()
  // Files are named by content hash and may be shared with another article of the same content and voice: kept while referenced.
  for (const ep of episodes) {
    await removeEpisodeFiles(config, store, ep)
    for (const f of [ep.audioFile, ep.vttFile, ep.chaptersFile, ep.timingsFile]) forgetFile(path.resolve(cacheDir, f))
  }
  deps.logger.info({ article: a.id }, 'article deleted')
}

export function articleJson(deps: AppDeps, a: ArticleRecord) {
  const ep = a.episodeId !== null ? deps.store.episodes.get(a.episodeId) : undefined
  const info = articleInfo(deps, a, ep)
  return {
    ...info,
    url: a.url,
    author: a.author,
    publishedAt: a.publishedAt,
    voice: a.voice,
    profile: a.profileId,
    excerpt: a.excerpt,
    revision: a.revision,
    // The error of the latest attempt, also while a retry is pending.
    error: a.error,
    listenUrl: deps.urls.listen(a.id),
    /** Paste-ready HTML for the player: { script, iframe }. */
    embed: embedSnippets(deps.urls, a.id),
    episode: ep
      ? { revision: ep.revision, hash: ep.hash, format: ep.format, mimeType: ep.mimeType, bytes: ep.bytes, durationMs: ep.durationMs, loudness: ep.loudness, chapters: ep.chapters, createdAt: ep.createdAt }
      : null,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  }
}

const ARTICLE_STATUSES = new Set<ArticleStatus>(['queued', 'rendering', 'ready', 'failed'])

function intParam(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined || value === '') return def
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new AppError('VALIDATION_FAILED', `${name} must be an integer from ${min} to ${max}.`, { details: { field: name } })
  return n
}

export function adminRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const { config, store } = deps
  const scripter = new Scripter()
  const edits = new KeyedLock()
  const cacheDir = path.resolve(config.cacheDir)
  const blobs = blobStoreFor(config)

  router.use(requireApiKey(deps))

  // JSON bodies may carry a whole article; allow the article limit plus room for the other fields.
  // JSON is UTF-8 (RFC 8259 8.1): other bytes are refused, not decoded into replacement characters.
  const json = express.json({ limit: config.uploads.maxArticleBytes + 64 * 1024, strict: true, verify: requireUtf8 })
  const articleUpload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: config.uploads.maxArticleBytes, files: 1, fields: 20, fieldSize: config.uploads.maxArticleBytes, parts: 30 },
  }).single('file')
  const assetUpload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: config.uploads.maxAssetBytes, files: 1, fields: 5, fieldSize: 1024, parts: 10 },
  }).single('file')

  /** JSON or multipart only; anything else is 415 with a message naming what to send. */
  const articleBody: express.RequestHandler = (req, res, next) => {
    if (req.is('application/json')) return json(req, res, next)
    if (req.is('multipart/form-data')) return multipartBoundary(req, next) && articleUpload(req, res, next)
    // A JSON or multipart type without any body (no Content-Length, no Transfer-Encoding): req.is() is null then.
    if (['application/json', 'multipart/form-data'].includes(mediaType(req)))
      return next(new AppError('EMPTY_INPUT', `The request has a Content-Type of ${req.get('content-type')} but no body.`))
    next(
      new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the article as application/json or multipart/form-data, not ${req.get('content-type') ?? 'an empty body'}.`),
    )
  }

  const readArticleRequest = (req: express.Request): { fields: ArticleFields; file?: UploadedFile; raw: Record<string, unknown> } => {
    const raw = (req.body ?? {}) as Record<string, unknown>
    // Multipart fields arrive as strings (and an empty string means "not given").
    const cleaned = req.is('multipart/form-data') ? Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== '')) : raw
    const fields = parseArticleFields(cleaned)
    return { fields, file: req.file, raw: cleaned }
  }

  router.post('/articles', articleBody, async (req, res) => {
    const { fields, file } = readArticleRequest(req)
    if (fields.externalId) {
      // Equal to another article's id, it would shadow that article wherever an id or an externalId is accepted.
      const existing = store.articles.getByExternalId(fields.externalId) ?? store.articles.get(fields.externalId)
      if (existing)
        throw new AppError('CONFLICT', existing.id === fields.externalId ? `externalId "${fields.externalId}" is another article's id.` : `An article with externalId "${fields.externalId}" already exists (id ${existing.id}).`, {
          help: `Edit it with PUT /api/articles/${existing.id}.`,
          details: { id: existing.id },
        })
    }
    const prepared = await prepareArticle(fields, file, { config, speech: deps.speech, scripter })
    let id = newArticleId()
    // Nor may a new id equal an existing externalId (72 random bits: this loop runs once).
    while (store.articles.getByExternalId(id)) id = newArticleId()
    // The row and its render job are written together: a crash cannot leave an article without a job.
    const article = store.db.transaction(() => {
      const a = store.articles.insert({ id, ...prepared })
      deps.renders.enqueue(a)
      return a
    })()
    deps.logger.info({ article: id, externalId: article.externalId, segments: prepared.script.segments.length }, 'article ingested')
    res.status(201).location(`/api/articles/${id}`).setHeader('ETag', articleEtag(article))
    res.json(articleJson(deps, store.articles.get(id)!))
  })

  router.get('/articles', (req, res) => {
    const limit = intParam(req.query.limit, 'limit', 20, 1, 100)
    const offset = intParam(req.query.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER)
    const status = req.query.status as string | undefined
    if (status !== undefined && !ARTICLE_STATUSES.has(status as ArticleStatus))
      throw new AppError('VALIDATION_FAILED', 'status must be one of queued, rendering, ready, failed.', { details: { field: 'status' } })
    const page = store.articles.list({ limit, offset, status: status as ArticleStatus | undefined })
    res.json({
      items: page.items.map((a) => articleJson(deps, a)),
      total: page.total,
      limit,
      offset,
      nextOffset: offset + page.items.length < page.total ? offset + page.items.length : null,
    })
  })

  // By our id, or by the site's externalId (a CMS may only know its own id).
  const loadArticle = (id: string): ArticleRecord => {
    const a = store.articles.get(id) ?? store.articles.getByExternalId(id)
    if (!a) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${id}".`)
    return a
  }

  router.get('/articles/:id', async (req, res) => {
    const a = loadArticle(req.params.id)
    const body = articleJson(deps, a)
    let segments: unknown = null
    const ep = a.episodeId !== null ? store.episodes.get(a.episodeId) : undefined
    if (ep) {
      try {
        const timings = JSON.parse((await blobStoreFor(config).getBuffer(keyOf(ep.timingsFile))).toString('utf8')) as { segments?: unknown }
        segments = timings.segments ?? timings
      } catch (err) {
        deps.logger.warn({ err, article: a.id }, 'cannot read the timings file')
      }
    }
    const job = await deps.jobs.findActive('render-article', a.id)
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('ETag', articleEtag(a))
    res.json({ ...body, segments, job: job ? { id: job.id, status: job.status, attempts: job.attempts, maxAttempts: job.maxAttempts, runAfter: new Date(job.runAfter).toISOString(), error: job.error } : null })
  })

  /**
   * An edit may send only what changed: absent fields keep their stored values, the content too.
   * Edits of one article run one at a time (the merge reads the latest stored state, then the
   * conversion is awaited), and the write checks the revision the merge was based on, so no
   * edit overwrites a field it did not send. With If-Match, a stale revision is 412 instead.
   */
  router.put('/articles/:id', articleBody, async (req, res) => {
    const ifMatch = ifMatchTags(req)
    const target = loadArticle(String(req.params.id))
    const { fields, file, raw } = readArticleRequest(req)
    const updated = await edits.run(target.id, async () => {
      for (let attempt = 1; ; attempt++) {
        const current = store.articles.get(target.id)
        if (!current) throw new AppError('ARTICLE_NOT_FOUND', `Article "${target.id}" was deleted meanwhile.`)
        checkIfMatch(ifMatch, articleEtag(current), `Article "${current.id}"`)
        const merged: ArticleFields = {
          ...fields,
          externalId: 'externalId' in raw ? fields.externalId : current.externalId,
          url: 'url' in raw ? fields.url : current.url,
          title: 'title' in raw ? fields.title : current.title,
          author: 'author' in raw ? fields.author : current.author,
          publishedAt: 'publishedAt' in raw ? fields.publishedAt : current.publishedAt,
          language: 'language' in raw ? fields.language : current.language,
          voice: 'voice' in raw ? fields.voice : current.voice,
        }
        let upload = file
        const hasBody = file || fields.html !== undefined || fields.markdown !== undefined || fields.text !== undefined
        if (!hasBody && !('url' in raw && fields.url)) {
          const source = store.articles.getSource(current.id)!
          const format = source.format ?? 'text'
          const ext = { html: '.html', markdown: '.md', text: '.txt', json: '.json' }[format]
          upload = { buffer: source.source, originalname: `stored${ext}`, mimetype: 'application/octet-stream' }
        }
        if (merged.externalId && merged.externalId !== current.externalId) {
          const other = store.articles.getByExternalId(merged.externalId) ?? store.articles.get(merged.externalId)
          if (other && other.id !== current.id) throw new AppError('CONFLICT', `externalId "${merged.externalId}" belongs to article ${other.id}.`, { details: { id: other.id } })
        }
        const prepared = await prepareArticle(merged, upload, { config, speech: deps.speech, scripter })
        try {
          return store.db.transaction(() => {
            const a = store.articles.update(current.id, prepared, current.revision)
            deps.renders.enqueue(a)
            return a
          })()
        } catch (err) {
          // Another process wrote this article meanwhile: merge again with its state (unless the client named a revision).
          if (err instanceof AppError && err.code === 'PRECONDITION_FAILED' && !ifMatch && attempt < 5) continue
          throw err
        }
      }
    })
    deps.logger.info({ article: updated.id, revision: updated.revision }, 'article edited')
    res.setHeader('ETag', articleEtag(updated))
    res.json(articleJson(deps, updated))
  })

  router.delete('/articles/:id', async (req, res) => {
    const ifMatch = ifMatchTags(req)
    const target = loadArticle(req.params.id)
    const a = await edits.run(target.id, async () => {
      const current = store.articles.get(target.id)
      if (!current) throw new AppError('ARTICLE_NOT_FOUND', `Article "${target.id}" was deleted meanwhile.`)
      checkIfMatch(ifMatch, articleEtag(current), `Article "${current.id}"`)
      deps.renders.cancel(current.id)
      return current
    })
    await deleteArticle(deps, a)
    res.status(204).end()
  })

  // ---- assets: jingles and cover art ----

  const assetJson = (a: AssetRecord) => {
    const warnings: string[] = []
    if (a.kind === 'cover' && a.width !== null && a.height !== null) {
      if (a.width !== a.height) warnings.push(`Cover art should be square; this one is ${a.width}x${a.height}.`)
      if (Math.min(a.width, a.height) < 1400 || Math.max(a.width, a.height) > 3000)
        warnings.push(`Podcast directories require cover art from 1400x1400 to 3000x3000 pixels; this one is ${a.width}x${a.height}.`)
    }
    return { ...a, url: `${deps.urls.base}/assets/${path.basename(a.file)}`, warnings }
  }

  router.post('/assets', (req, res, next) => {
    if (!req.is('multipart/form-data'))
      return next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Upload assets as multipart/form-data with a "file" field and a "kind" field (jingle or cover).'))
    if (multipartBoundary(req, next)) assetUpload(req, res, next)
  }, async (req, res) => {
    const kind = (req.body as Record<string, unknown> | undefined)?.kind
    if (kind !== 'jingle' && kind !== 'cover') throw new AppError('VALIDATION_FAILED', 'kind must be "jingle" or "cover".', { details: { field: 'kind' } })
    const file = req.file
    if (!file || file.size === 0) throw new AppError('VALIDATION_FAILED', 'Send the asset as a non-empty "file" field.', { details: { field: 'file' } })
    const id = randomBytes(9).toString('base64url')
    const dir = path.join(cacheDir, 'assets')
    let record: AssetRecord
    if (kind === 'cover') {
      const img = inspectImage(file.buffer)
      if (img.width !== img.height || img.width < 1400 || img.width > 3000)
        throw new AppError('COVER_SIZE', `Podcast directories take square cover art from 1400x1400 to 3000x3000 pixels; this one is ${img.width}x${img.height}.`, { details: { width: img.width, height: img.height } })
      const rel = path.join('assets', `${id}.${img.type === 'jpeg' ? 'jpg' : 'png'}`)
      const target = path.join(cacheDir, rel)
      const tmp = tempPathFor(target)
      await fs.mkdir(path.dirname(target), { recursive: true })
      try {
        // The header says JPEG or PNG; only a full decode shows the rest is an image (podcast apps would choke on it).
        await fs.writeFile(tmp, file.buffer)
        await deps.ffmpeg.checkImage(tmp).catch((err: unknown) => {
          throw new AppError('INVALID_IMAGE', `"${file.originalname}" has a ${img.type.toUpperCase()} header but cannot be decoded as an image.`, { cause: err })
        })
        await fs.rename(tmp, target)
      } finally {
        await fs.rm(tmp, { force: true })
      }
      record = { id, kind, file: rel, originalName: file.originalname || null, mimeType: img.mimeType, bytes: file.size, durationMs: null, width: img.width, height: img.height, createdAt: new Date().toISOString() }
    } else {
      // Probe a temp copy with ffprobe; only a readable audio file is renamed into place.
      await fs.mkdir(dir, { recursive: true })
      const ext = (path.extname(file.originalname).toLowerCase().match(/^\.(mp3|wav|m4a|ogg|oga|opus|flac|aac)$/)?.[1]) ?? 'audio'
      const rel = path.join('assets', `${id}.${ext}`)
      const target = path.join(cacheDir, rel)
      const tmp = tempPathFor(target)
      try {
        await fs.writeFile(tmp, file.buffer)
        let probe
        try {
          probe = await deps.ffmpeg.probe(tmp)
        } catch (err) {
          throw new AppError('INVALID_AUDIO', `"${file.originalname}" is not an audio file ffmpeg can read.`, { cause: err })
        }
        if (!probe.audio || !(probe.durationMs > 0)) throw new AppError('INVALID_AUDIO', `"${file.originalname}" has no audio stream.`)
        await fs.rename(tmp, target)
        const mimeType = { mp3: 'audio/mpeg', wav: 'audio/wav', m4a: 'audio/mp4', aac: 'audio/aac', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', flac: 'audio/flac' }[ext] ?? 'application/octet-stream'
        record = { id, kind, file: rel, originalName: file.originalname || null, mimeType, bytes: file.size, durationMs: Math.round(probe.durationMs), width: null, height: null, createdAt: new Date().toISOString() }
      } finally {
        await fs.rm(tmp, { force: true })
      }
    }
    try {
      // With object storage the asset is uploaded (the local file stays as the read-through copy) before its row exists.
      await blobs.putFile(keyOf(record.file), path.join(cacheDir, record.file), { contentType: record.mimeType })
      store.assets.insert(record)
    } catch (err) {
      await fs.rm(path.join(cacheDir, record.file), { force: true })
      await blobs.delete(keyOf(record.file)).catch(() => {})
      throw err
    }
    res.status(201).location(`/api/assets/${id}`).json(assetJson(record))
  })

  router.get('/assets', (req, res) => {
    const kind = req.query.kind as string | undefined
    if (kind !== undefined && kind !== 'jingle' && kind !== 'cover') throw new AppError('VALIDATION_FAILED', 'kind must be "jingle" or "cover".')
    res.json({ items: store.assets.list(kind).map(assetJson) })
  })

  router.get('/assets/:id', (req, res) => {
    const a = store.assets.get(req.params.id)
    if (!a) throw new AppError('NOT_FOUND', `No asset with id "${req.params.id}".`)
    res.json(assetJson(a))
  })

  router.delete('/assets/:id', async (req, res) => {
    const a = store.assets.get(req.params.id)
    if (!a) throw new AppError('NOT_FOUND', `No asset with id "${req.params.id}".`)
    store.assets.delete(a.id)
    await fs.rm(path.join(cacheDir, a.file), { force: true })
    await blobs.delete(keyOf(a.file))
    forgetFile(path.join(cacheDir, a.file))
    forgetBlob(keyOf(a.file))
    res.status(204).end()
  })

  return router
}
