/**
 * The core repositories (articles, episodes, jobs, assets) on Kysely: one
 * query layer for SQLite and PostgreSQL. Each function takes a Kysely instance
 * (the store's, or a transaction's) and returns the repository over it.
 */
import { sql, type Kysely, type Selectable } from 'kysely'
import { AppError } from '../errors.ts'
import type { InputFormat, Script } from '../script/types.ts'
import { urlKey } from '../sources/url-key.ts'
import { publishedMs } from './migrations.ts'
import type { ArticlesTable, AssetsTable, DB, EpisodesTable, JobsTable } from './schema.ts'
import type {
  ArticleRecord,
  ArticleRepository,
  ArticleStatus,
  ArticleUpdate,
  AssetRecord,
  AssetRepository,
  EpisodeRecord,
  EpisodeRepository,
  JobRecord,
  JobRepository,
  JobStatus,
  StoredError,
} from './types.ts'

export const now = () => new Date().toISOString()

export const parseJson = <T>(text: unknown, fallback: T): T => {
  if (typeof text !== 'string' || text === '') return fallback
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

/** A unique or primary-key violation, on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505'
}

/** Rows changed by an UPDATE/DELETE, from Kysely's result. */
export const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint } | { numUpdatedRows?: bigint; numDeletedRows?: bigint }[]) => {
  const one = Array.isArray(r) ? r[0] : r
  return Number(one?.numUpdatedRows ?? one?.numDeletedRows ?? 0n)
}

const ARTICLE_COLUMNS = [
  'id',
  'external_id',
  'url',
  'title',
  'author',
  'published_at',
  'language',
  'voice',
  'profile_id',
  'source_format',
  'content_hash',
  'excerpt',
  'revision',
  'status',
  'progress',
  'error_json',
  'episode_id',
  'created_at',
  'updated_at',
] as const

type ArticleRow = Pick<Selectable<ArticlesTable>, (typeof ARTICLE_COLUMNS)[number]>

export function toArticle(r: ArticleRow): ArticleRecord {
  return {
    id: r.id,
    externalId: r.external_id ?? null,
    url: r.url ?? null,
    title: r.title,
    author: r.author ?? null,
    publishedAt: r.published_at ?? null,
    language: r.language,
    voice: r.voice ?? null,
    profileId: r.profile_id,
    sourceFormat: (r.source_format as InputFormat | null) ?? null,
    contentHash: r.content_hash,
    excerpt: r.excerpt ?? null,
    revision: Number(r.revision),
    status: r.status as ArticleStatus,
    progress: Number(r.progress),
    error: parseJson<StoredError | null>(r.error_json, null),
    episodeId: r.episode_id === null || r.episode_id === undefined ? null : Number(r.episode_id),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

function duplicateExternalId(err: unknown, externalId: string | null): never {
  if (isUniqueViolation(err))
    throw new AppError('CONFLICT', `An article with externalId "${externalId}" already exists.`, {
      help: 'Edit it with PUT /api/articles/:id, or use another externalId.',
    })
  throw err
}

export function articleRepository(db: Kysely<DB>): ArticleRepository {
  const byId = (id: string) => db.selectFrom('articles').select(ARTICLE_COLUMNS).where('id', '=', id).executeTakeFirst()
  return {
    async insert(a) {
      const t = now()
      try {
        await db
          .insertInto('articles')
          .values({
            id: a.id,
            ...articleColumns(a),
            revision: 1,
            status: 'queued',
            progress: 0,
            created_at: t,
            updated_at: t,
          })
          .execute()
      } catch (err) {
        duplicateExternalId(err, a.externalId)
      }
      return toArticle((await byId(a.id))!)
    },
    async update(id, a, expectedRevision) {
      let n = 0
      try {
        let q = db
          .updateTable('articles')
          .set((eb) => ({
            ...articleColumns(a),
            revision: eb('revision', '+', 1),
            status: 'queued',
            progress: 0,
            error_json: null,
            updated_at: now(),
          }))
          .where('id', '=', id)
        if (expectedRevision !== undefined) q = q.where('revision', '=', expectedRevision)
        n = changed(await q.execute())
      } catch (err) {
        duplicateExternalId(err, a.externalId)
      }
      if (n === 0) {
        const r = await byId(id)
        if (!r) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${id}".`)
        throw new AppError('PRECONDITION_FAILED', `Article "${id}" was edited meanwhile (revision ${String(r.revision)}, not ${expectedRevision}).`, {
          details: { revision: Number(r.revision) },
        })
      }
      return toArticle((await byId(id))!)
    },
    async get(id) {
      const r = await byId(id)
      return r ? toArticle(r) : undefined
    },
    async getByExternalId(externalId) {
      const r = await db.selectFrom('articles').select(ARTICLE_COLUMNS).where('external_id', '=', externalId).executeTakeFirst()
      return r ? toArticle(r) : undefined
    },
    async list({ limit, offset, status, search }) {
      let q = db.selectFrom('articles')
      if (status) q = q.where('status', '=', status)
      if (search) {
        // LIKE is case-sensitive on PostgreSQL and not on SQLite: lower() on both sides, the same everywhere.
        const like = `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
        const has = (col: 'title' | 'external_id' | 'author') => sql<boolean>`lower(${sql.ref(col)}) LIKE ${like} ESCAPE '\\'`
        q = q.where((eb) => eb.or([has('title'), has('external_id'), has('author'), eb('id', '=', search)]))
      }
      const rows = await q.select(ARTICLE_COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute()
      const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return { items: rows.map(toArticle), total: Number(total.n) }
    },
    async getScript(id) {
      const r = await db.selectFrom('articles').select(['script_json', 'revision', 'profile_id']).where('id', '=', id).executeTakeFirst()
      return r ? { script: JSON.parse(r.script_json) as Script, revision: Number(r.revision), profileId: r.profile_id } : undefined
    },
    async getSource(id) {
      const r = await db.selectFrom('articles').select(['source', 'source_format']).where('id', '=', id).executeTakeFirst()
      return r ? { source: Buffer.from(r.source), format: (r.source_format as InputFormat | null) ?? null } : undefined
    },
    async setStatus(id, status, fields = {}) {
      await db
        .updateTable('articles')
        .set({
          status,
          ...(fields.progress !== undefined ? { progress: fields.progress } : {}),
          ...(fields.error !== undefined ? { error_json: fields.error ? JSON.stringify(fields.error) : null } : {}),
          updated_at: now(),
        })
        .where('id', '=', id)
        .execute()
    },
    async setProgress(id, progress) {
      await db.updateTable('articles').set({ progress }).where('id', '=', id).execute()
    },
    async publishEpisode(id, revision, episodeId) {
      const r = await db
        .updateTable('articles')
        .set({ episode_id: episodeId, status: 'ready', progress: 1, error_json: null, updated_at: now() })
        .where('id', '=', id)
        .where('revision', '=', revision)
        .executeTakeFirst()
      return changed(r) > 0
    },
    async delete(id) {
      return changed(await db.deleteFrom('articles').where('id', '=', id).executeTakeFirst()) > 0
    },
    async idsByUrlKey(key, limit) {
      const rows = await db.selectFrom('articles').select('id').where('url_key', '=', key).orderBy('updated_at', 'desc').orderBy('id').limit(limit).execute()
      return rows.map((r) => r.id)
    },
  }
}

export function toEpisode(r: Selectable<EpisodesTable>): EpisodeRecord {
  return {
    id: Number(r.id),
    articleId: r.article_id ?? null,
    revision: Number(r.revision),
    hash: r.hash,
    format: r.format as 'mp3' | 'm4a',
    mimeType: r.mime_type,
    audioFile: r.audio_file,
    vttFile: r.vtt_file,
    chaptersFile: r.chapters_file,
    timingsFile: r.timings_file,
    bytes: Number(r.bytes),
    durationMs: Number(r.duration_ms),
    chapters: parseJson(r.chapters_json, []),
    loudness: parseJson(r.loudness_json, { integratedLufs: 0, truePeakDb: 0 }),
    stats: parseJson(r.stats_json, {}),
    createdAt: r.created_at,
  }
}

const EPISODE_PREFIXED = [
  'e.id as e_id',
  'e.article_id as e_article_id',
  'e.revision as e_revision',
  'e.hash as e_hash',
  'e.format as e_format',
  'e.mime_type as e_mime_type',
  'e.audio_file as e_audio_file',
  'e.vtt_file as e_vtt_file',
  'e.chapters_file as e_chapters_file',
  'e.timings_file as e_timings_file',
  'e.bytes as e_bytes',
  'e.duration_ms as e_duration_ms',
  'e.chapters_json as e_chapters_json',
  'e.loudness_json as e_loudness_json',
  'e.stats_json as e_stats_json',
  'e.created_at as e_created_at',
] as const

/** Rows of a join with the episode's columns prefixed e_ (listPublished, briefings' feed). */
export function unprefixEpisode(r: Record<string, unknown>): EpisodeRecord {
  const e: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(r)) if (k.startsWith('e_')) e[k.slice(2)] = v
  return toEpisode(e as unknown as Selectable<EpisodesTable>)
}
export { EPISODE_PREFIXED }

export function episodeRepository(db: Kysely<DB>): EpisodeRepository {
  return {
    async insert(ep) {
      const r = await db
        .insertInto('episodes')
        .values({
          article_id: ep.articleId,
          revision: ep.revision,
          hash: ep.hash,
          format: ep.format,
          mime_type: ep.mimeType,
          audio_file: ep.audioFile,
          vtt_file: ep.vttFile,
          chapters_file: ep.chaptersFile,
          timings_file: ep.timingsFile,
          bytes: ep.bytes,
          duration_ms: ep.durationMs,
          chapters_json: JSON.stringify(ep.chapters),
          loudness_json: JSON.stringify(ep.loudness),
          stats_json: JSON.stringify(ep.stats),
          created_at: now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return toEpisode(r)
    },
    async get(id) {
      const r = await db.selectFrom('episodes').selectAll().where('id', '=', id).executeTakeFirst()
      return r ? toEpisode(r) : undefined
    },
    async findByArticleAndHash(articleId, hash) {
      const r = await db.selectFrom('episodes').selectAll().where('article_id', '=', articleId).where('hash', '=', hash).orderBy('id', 'desc').limit(1).executeTakeFirst()
      return r ? toEpisode(r) : undefined
    },
    async listForArticle(articleId) {
      return (await db.selectFrom('episodes').selectAll().where('article_id', '=', articleId).orderBy('id', 'desc').execute()).map(toEpisode)
    },
    async countByHash(hash) {
      const r = await db.selectFrom('episodes').select((eb) => eb.fn.countAll<number>().as('n')).where('hash', '=', hash).executeTakeFirstOrThrow()
      return Number(r.n)
    },
    async delete(id) {
      await db.deleteFrom('episodes').where('id', '=', id).execute()
    },
    async listPublished({ limit, offset = 0 }) {
      const t = Date.now()
      const rows = await db
        .selectFrom('articles as a')
        .innerJoin('episodes as e', 'e.id', 'a.episode_id')
        .select(ARTICLE_COLUMNS.map((c) => `a.${c}` as const))
        .select(EPISODE_PREFIXED)
        // embargo (src/sources/embargo.ts): a publication time in the future keeps the article out of every feed
        .where((eb) => eb.or([eb('a.published_ms', 'is', null), eb('a.published_ms', '<=', t)]))
        .orderBy(sql`COALESCE(a.published_at, a.created_at)`, 'desc')
        .orderBy('a.id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute()
      return rows.map((r) => ({ article: toArticle(r), episode: unprefixEpisode(r) }))
    },
  }
}

function toJob(r: Selectable<JobsTable>): JobRecord {
  return {
    id: Number(r.id),
    kind: r.kind,
    subjectId: r.subject_id,
    payload: parseJson(r.payload_json, {}),
    status: r.status as JobStatus,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    runAfter: Number(r.run_after),
    progress: Number(r.progress),
    error: parseJson<StoredError | null>(r.error_json, null),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at ?? null,
    finishedAt: r.finished_at ?? null,
  }
}

export function jobRepository(db: Kysely<DB>): JobRepository {
  return {
    async enqueue({ kind, subjectId, payload = {}, maxAttempts, runAfter = Date.now() }) {
      const t = now()
      const r = await db
        .insertInto('jobs')
        .values({ kind, subject_id: subjectId, payload_json: JSON.stringify(payload), status: 'queued', attempts: 0, max_attempts: maxAttempts, run_after: runAfter, created_at: t, updated_at: t })
        .returningAll()
        .executeTakeFirstOrThrow()
      return toJob(r)
    },
    async get(id) {
      const r = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
      return r ? toJob(r) : undefined
    },
    async listRunnable(at, limit) {
      const rows = await db
        .selectFrom('jobs')
        .selectAll()
        .where('status', '=', 'queued')
        .where('run_after', '<=', at)
        .orderBy('priority', 'desc')
        .orderBy('run_after')
        .orderBy('id')
        .limit(limit)
        .execute()
      return rows.map(toJob)
    },
    async listForSubject(kind, subjectId) {
      const rows = await db.selectFrom('jobs').selectAll().where('kind', '=', kind).where('subject_id', '=', subjectId).orderBy('id', 'desc').execute()
      return rows.map(toJob)
    },
    async findActive(kind, subjectId) {
      const r = await db
        .selectFrom('jobs')
        .selectAll()
        .where('kind', '=', kind)
        .where('subject_id', '=', subjectId)
        .where('status', 'in', ['queued', 'running'])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()
      return r ? toJob(r) : undefined
    },
    async prioritize(kind, subjectId) {
      const r = await db.updateTable('jobs').set({ priority: 1, updated_at: now() }).where('kind', '=', kind).where('subject_id', '=', subjectId).where('status', '=', 'queued').executeTakeFirst()
      return changed(r) > 0
    },
    async claim(id) {
      // One atomic conditional UPDATE ... RETURNING: of two concurrent claims (threads, processes or nodes) exactly one gets the row.
      const t = now()
      const r = await db
        .updateTable('jobs')
        .set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), started_at: t, updated_at: t }))
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .returningAll()
        .executeTakeFirst()
      return r ? toJob(r) : undefined
    },
    async setProgress(id, progress) {
      await db.updateTable('jobs').set({ progress, updated_at: now() }).where('id', '=', id).execute()
    },
    async complete(id) {
      const t = now()
      await db.updateTable('jobs').set({ status: 'done', progress: 1, error_json: null, finished_at: t, updated_at: t }).where('id', '=', id).execute()
    },
    async retryLater(id, error, runAfter) {
      await db
        .updateTable('jobs')
        .set({ status: 'queued', error_json: JSON.stringify(error), run_after: runAfter, updated_at: now() })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute()
    },
    async fail(id, error) {
      const t = now()
      await db.updateTable('jobs').set({ status: 'failed', error_json: JSON.stringify(error), finished_at: t, updated_at: t }).where('id', '=', id).execute()
    },
    async cancelForSubject(kind, subjectId) {
      const t = now()
      const r = await db
        .updateTable('jobs')
        .set({ status: 'cancelled', finished_at: t, updated_at: t })
        .where('kind', '=', kind)
        .where('subject_id', '=', subjectId)
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst()
      return changed(r)
    },
    async requeueInterrupted() {
      // An interrupted attempt did not fail on its own; give it back so a crash loop cannot exhaust the retries silently.
      const r = await db
        .updateTable('jobs')
        .set({ status: 'queued', attempts: sql<number>`CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END`, updated_at: now() })
        .where('status', '=', 'running')
        .executeTakeFirst()
      return changed(r)
    },
    async nextRunAfter() {
      const r = await db.selectFrom('jobs').select((eb) => eb.fn.min('run_after').as('t')).where('status', '=', 'queued').executeTakeFirst()
      return r?.t === null || r?.t === undefined ? undefined : Number(r.t)
    },
    async counts() {
      const out: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 }
      const rows = await db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute()
      for (const r of rows) out[r.status as JobStatus] = Number(r.n)
      return out
    },
  }
}

function toAsset(r: Selectable<AssetsTable>): AssetRecord {
  return {
    id: r.id,
    kind: r.kind as AssetRecord['kind'],
    file: r.file,
    originalName: r.original_name ?? null,
    mimeType: r.mime_type,
    bytes: Number(r.bytes),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    width: r.width ?? null,
    height: r.height ?? null,
    createdAt: r.created_at,
  }
}

export function assetRepository(db: Kysely<DB>): AssetRepository {
  return {
    async insert(a) {
      const r = await db
        .insertInto('assets')
        .values({
          id: a.id,
          kind: a.kind,
          file: a.file,
          original_name: a.originalName,
          mime_type: a.mimeType,
          bytes: a.bytes,
          duration_ms: a.durationMs,
          width: a.width,
          height: a.height,
          created_at: a.createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return toAsset(r)
    },
    async get(id) {
      const r = await db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirst()
      return r ? toAsset(r) : undefined
    },
    async list(kind) {
      let q = db.selectFrom('assets').selectAll()
      if (kind) q = q.where('kind', '=', kind)
      return (await q.orderBy('created_at', 'desc').execute()).map(toAsset)
    },
    async delete(id) {
      return changed(await db.deleteFrom('assets').where('id', '=', id).executeTakeFirst()) > 0
    },
  }
}

/** The columns an insert and an edit both write from the article's content and metadata (keys derived here, once). */
function articleColumns(a: ArticleUpdate) {
  return {
    external_id: a.externalId,
    url: a.url,
    url_key: urlKey(a.url),
    title: a.title,
    author: a.author,
    published_at: a.publishedAt,
    published_ms: publishedMs(a.publishedAt),
    language: a.language,
    voice: a.voice,
    profile_id: a.profileId,
    source: Buffer.from(a.source),
    source_format: a.sourceFormat,
    content_hash: a.contentHash,
    script_json: JSON.stringify(a.script),
    excerpt: a.excerpt,
  }
}
