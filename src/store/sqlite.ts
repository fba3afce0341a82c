/**
 * SQLite implementation of the repositories (better-sqlite3, WAL).
 * better-sqlite3 is synchronous; every statement here is a short indexed
 * lookup or write, so it does not hold the event loop for long. Prepared
 * statements are created once per store.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { AppError } from '../errors.ts'
import type { InputFormat, Script } from '../script/types.ts'
import { urlKey } from '../sources/url-key.ts'
import { migrate, migrations as defaultMigrations, type Migration } from './migrations.ts'
import type {
  ArticleRecord,
  ArticleRepository,
  ArticleStatus,
  AssetRecord,
  AssetRepository,
  EpisodeRecord,
  EpisodeRepository,
  JobRecord,
  JobRepository,
  JobStatus,
  Store,
  StoredError,
} from './types.ts'

type Row = Record<string, unknown>

const now = () => new Date().toISOString()
/** A JSON column's value, or `fallback` when it is empty or not JSON (every store reads its JSON columns so). */
export const parseJson = <T>(text: unknown, fallback: T): T => {
  if (typeof text !== 'string' || text === '') return fallback
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

export interface OpenStoreOptions {
  /** File path, or ':memory:'. */
  file: string
  migrations?: readonly Migration[]
}

export function openStore(options: OpenStoreOptions): Store {
  if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true })
  let db: Database.Database
  try {
    db = new Database(options.file)
  } catch (err) {
    throw new AppError('OUTPUT_NOT_WRITABLE', `Cannot open the database ${options.file}: ${(err as Error).message}`, { cause: err })
  }
  // WAL: readers (HTTP) never wait for the writer (jobs); NORMAL sync is durable across process crashes in WAL mode.
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db, options.migrations ?? defaultMigrations)
  backfillUrlKeys(db)
  let open = true
  return {
    db,
    articles: articleRepository(db),
    episodes: episodeRepository(db),
    jobs: jobRepository(db),
    assets: assetRepository(db),
    isOpen: () => open && db.open,
    close() {
      if (!open) return
      open = false
      try {
        db.pragma('wal_checkpoint(TRUNCATE)')
      } catch {}
      db.close()
    },
  }
}

const ARTICLE_COLUMNS = `id, external_id, url, title, author, published_at, language, voice, profile_id, source_format, content_hash,
  excerpt, revision, status, progress, error_json, episode_id, created_at, updated_at`

export function toArticle(r: Row): ArticleRecord {
  return {
    id: r.id as string,
    externalId: (r.external_id as string | null) ?? null,
    url: (r.url as string | null) ?? null,
    title: r.title as string,
    author: (r.author as string | null) ?? null,
    publishedAt: (r.published_at as string | null) ?? null,
    language: r.language as string,
    voice: (r.voice as string | null) ?? null,
    profileId: r.profile_id as string,
    sourceFormat: (r.source_format as InputFormat | null) ?? null,
    contentHash: r.content_hash as string,
    excerpt: (r.excerpt as string | null) ?? null,
    revision: r.revision as number,
    status: r.status as ArticleStatus,
    progress: r.progress as number,
    error: parseJson<StoredError | null>(r.error_json, null),
    episodeId: (r.episode_id as number | null) ?? null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  }
}

function uniqueViolation(err: unknown, externalId: string | null): never {
  if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
    throw new AppError('CONFLICT', `An article with externalId "${externalId}" already exists.`, {
      help: 'Edit it with PUT /api/articles/:id, or use another externalId.',
    })
  throw err
}

function articleRepository(db: Database.Database): ArticleRepository {
  const getStmt = db.prepare(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE id = ?`)
  const getExt = db.prepare(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE external_id = ?`)
  const insertStmt = db.prepare(`INSERT INTO articles (id, external_id, url, title, author, published_at, language, voice, profile_id,
      source, source_format, content_hash, script_json, excerpt, revision, status, progress, created_at, updated_at, url_key)
    VALUES (@id, @externalId, @url, @title, @author, @publishedAt, @language, @voice, @profileId,
      @source, @sourceFormat, @contentHash, @scriptJson, @excerpt, 1, 'queued', 0, @now, @now, @urlKey)`)
  const updateStmt = db.prepare(`UPDATE articles SET external_id = @externalId, url = @url, url_key = @urlKey, title = @title, author = @author,
      published_at = @publishedAt, language = @language, voice = @voice, profile_id = @profileId, source = @source,
      source_format = @sourceFormat, content_hash = @contentHash, script_json = @scriptJson, excerpt = @excerpt,
      revision = revision + 1, status = 'queued', progress = 0, error_json = NULL, updated_at = @now
    WHERE id = @id AND (@expectedRevision IS NULL OR revision = @expectedRevision)`)
  const setStatusStmt = db.prepare(`UPDATE articles SET status = @status, progress = COALESCE(@progress, progress),
      error_json = CASE WHEN @setError THEN @errorJson ELSE error_json END, updated_at = @now WHERE id = @id`)
  const setProgressStmt = db.prepare('UPDATE articles SET progress = ? WHERE id = ?')
  const publishStmt = db.prepare(`UPDATE articles SET episode_id = @episodeId, status = 'ready', progress = 1, error_json = NULL,
      updated_at = @now WHERE id = @id AND revision = @revision`)
  const deleteStmt = db.prepare('DELETE FROM articles WHERE id = ?')
  const scriptStmt = db.prepare('SELECT script_json, revision, profile_id FROM articles WHERE id = ?')
  const sourceStmt = db.prepare('SELECT source, source_format FROM articles WHERE id = ?')

  return {
    insert(a) {
      const params = { ...a, urlKey: urlKey(a.url), scriptJson: JSON.stringify(a.script), source: Buffer.from(a.source), now: now() }
      delete (params as Partial<typeof params>).script
      try {
        insertStmt.run(params)
      } catch (err) {
        uniqueViolation(err, a.externalId)
      }
      return toArticle(getStmt.get(a.id) as Row)
    },
    update(id, a, expectedRevision) {
      const params = { ...a, id, urlKey: urlKey(a.url), expectedRevision: expectedRevision ?? null, scriptJson: JSON.stringify(a.script), source: Buffer.from(a.source), now: now() }
      delete (params as Partial<typeof params>).script
      let changes = 0
      try {
        changes = updateStmt.run(params).changes
      } catch (err) {
        uniqueViolation(err, a.externalId)
      }
      if (changes === 0) {
        const r = getStmt.get(id) as Row | undefined
        if (!r) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${id}".`)
        throw new AppError('PRECONDITION_FAILED', `Article "${id}" was edited meanwhile (revision ${String(r.revision)}, not ${expectedRevision}).`, {
          details: { revision: r.revision },
        })
      }
      return toArticle(getStmt.get(id) as Row)
    },
    get(id) {
      const r = getStmt.get(id) as Row | undefined
      return r ? toArticle(r) : undefined
    },
    getByExternalId(externalId) {
      const r = getExt.get(externalId) as Row | undefined
      return r ? toArticle(r) : undefined
    },
    list({ limit, offset, status }) {
      const where = status ? 'WHERE status = ?' : ''
      const args = status ? [status] : []
      const rows = db.prepare(`SELECT ${ARTICLE_COLUMNS} FROM articles ${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`).all(...args, limit, offset) as Row[]
      const total = (db.prepare(`SELECT COUNT(*) AS n FROM articles ${where}`).get(...args) as { n: number }).n
      return { items: rows.map(toArticle), total }
    },
    getScript(id) {
      const r = scriptStmt.get(id) as { script_json: string; revision: number; profile_id: string } | undefined
      return r ? { script: JSON.parse(r.script_json) as Script, revision: r.revision, profileId: r.profile_id } : undefined
    },
    getSource(id) {
      const r = sourceStmt.get(id) as { source: Buffer; source_format: InputFormat | null } | undefined
      return r ? { source: r.source, format: r.source_format } : undefined
    },
    setStatus(id, status, fields = {}) {
      setStatusStmt.run({
        id,
        status,
        progress: fields.progress ?? null,
        setError: fields.error === undefined ? 0 : 1,
        errorJson: fields.error ? JSON.stringify(fields.error) : null,
        now: now(),
      })
    },
    setProgress(id, progress) {
      setProgressStmt.run(progress, id)
    },
    publishEpisode(id, revision, episodeId) {
      return publishStmt.run({ id, revision, episodeId, now: now() }).changes > 0
    },
    delete(id) {
      return deleteStmt.run(id).changes > 0
    },
  }
}

const EPISODE_COLUMNS = `e.id AS e_id, e.article_id AS e_article_id, e.revision AS e_revision, e.hash AS e_hash, e.format AS e_format,
  e.mime_type AS e_mime_type, e.audio_file AS e_audio_file, e.vtt_file AS e_vtt_file, e.chapters_file AS e_chapters_file,
  e.timings_file AS e_timings_file, e.bytes AS e_bytes, e.duration_ms AS e_duration_ms, e.chapters_json AS e_chapters_json,
  e.loudness_json AS e_loudness_json, e.stats_json AS e_stats_json, e.created_at AS e_created_at`

function toEpisode(r: Row): EpisodeRecord {
  return {
    id: r.e_id as number,
    articleId: (r.e_article_id as string | null) ?? null,
    revision: r.e_revision as number,
    hash: r.e_hash as string,
    format: r.e_format as 'mp3' | 'm4a',
    mimeType: r.e_mime_type as string,
    audioFile: r.e_audio_file as string,
    vttFile: r.e_vtt_file as string,
    chaptersFile: r.e_chapters_file as string,
    timingsFile: r.e_timings_file as string,
    bytes: r.e_bytes as number,
    durationMs: r.e_duration_ms as number,
    chapters: parseJson(r.e_chapters_json, []),
    loudness: parseJson(r.e_loudness_json, { integratedLufs: 0, truePeakDb: 0 }),
    stats: parseJson(r.e_stats_json, {}),
    createdAt: r.e_created_at as string,
  }
}

function episodeRepository(db: Database.Database): EpisodeRepository {
  const insertStmt = db.prepare(`INSERT INTO episodes (article_id, revision, hash, format, mime_type, audio_file, vtt_file, chapters_file,
      timings_file, bytes, duration_ms, chapters_json, loudness_json, stats_json, created_at)
    VALUES (@articleId, @revision, @hash, @format, @mimeType, @audioFile, @vttFile, @chaptersFile, @timingsFile, @bytes, @durationMs,
      @chaptersJson, @loudnessJson, @statsJson, @now)`)
  const getStmt = db.prepare(`SELECT ${EPISODE_COLUMNS} FROM episodes e WHERE e.id = ?`)
  const byHash = db.prepare(`SELECT ${EPISODE_COLUMNS} FROM episodes e WHERE e.article_id = ? AND e.hash = ? ORDER BY e.id DESC LIMIT 1`)
  const forArticle = db.prepare(`SELECT ${EPISODE_COLUMNS} FROM episodes e WHERE e.article_id = ? ORDER BY e.id DESC`)
  const countHash = db.prepare('SELECT COUNT(*) AS n FROM episodes WHERE hash = ?')
  const deleteStmt = db.prepare('DELETE FROM episodes WHERE id = ?')
  const published = db.prepare(`SELECT a.id, a.external_id, a.url, a.title, a.author, a.published_at, a.language, a.voice, a.profile_id,
      a.source_format, a.content_hash, a.excerpt, a.revision, a.status, a.progress, a.error_json, a.episode_id, a.created_at, a.updated_at,
      ${EPISODE_COLUMNS}
    FROM articles a JOIN episodes e ON e.id = a.episode_id
    -- embargo (src/sources/embargo.ts): a publication time in the future keeps the article out of every feed
    WHERE a.published_at IS NULL OR COALESCE(julianday(a.published_at) <= julianday('now'), 1)
    ORDER BY COALESCE(a.published_at, a.created_at) DESC, a.id DESC LIMIT ? OFFSET ?`)
  return {
    insert(ep) {
      const info = insertStmt.run({
        ...ep,
        chaptersJson: JSON.stringify(ep.chapters),
        loudnessJson: JSON.stringify(ep.loudness),
        statsJson: JSON.stringify(ep.stats),
        now: now(),
      })
      return toEpisode(getStmt.get(Number(info.lastInsertRowid)) as Row)
    },
    get(id) {
      const r = getStmt.get(id) as Row | undefined
      return r ? toEpisode(r) : undefined
    },
    findByArticleAndHash(articleId, hash) {
      const r = byHash.get(articleId, hash) as Row | undefined
      return r ? toEpisode(r) : undefined
    },
    listForArticle(articleId) {
      return (forArticle.all(articleId) as Row[]).map(toEpisode)
    },
    countByHash(hash) {
      return (countHash.get(hash) as { n: number }).n
    },
    delete(id) {
      deleteStmt.run(id)
    },
    listPublished({ limit, offset = 0 }) {
      return (published.all(limit, offset) as Row[]).map((r) => ({ article: toArticle(r), episode: toEpisode(r) }))
    },
  }
}

function toJob(r: Row): JobRecord {
  return {
    id: r.id as number,
    kind: r.kind as string,
    subjectId: r.subject_id as string,
    payload: parseJson(r.payload_json, {}),
    status: r.status as JobStatus,
    attempts: r.attempts as number,
    maxAttempts: r.max_attempts as number,
    runAfter: r.run_after as number,
    progress: r.progress as number,
    error: parseJson<StoredError | null>(r.error_json, null),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    startedAt: (r.started_at as string | null) ?? null,
    finishedAt: (r.finished_at as string | null) ?? null,
  }
}

function jobRepository(db: Database.Database): JobRepository {
  const insertStmt = db.prepare(`INSERT INTO jobs (kind, subject_id, payload_json, status, attempts, max_attempts, run_after, created_at, updated_at)
    VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, ?)`)
  const getStmt = db.prepare('SELECT * FROM jobs WHERE id = ?')
  const runnable = db.prepare(`SELECT * FROM jobs WHERE status = 'queued' AND run_after <= ? ORDER BY priority DESC, run_after, id LIMIT ?`)
  const prioritizeStmt = db.prepare(`UPDATE jobs SET priority = 1, updated_at = ? WHERE kind = ? AND subject_id = ? AND status = 'queued'`)
  const active = db.prepare(`SELECT * FROM jobs WHERE kind = ? AND subject_id = ? AND status IN ('queued','running') ORDER BY id DESC LIMIT 1`)
  const claimStmt = db.prepare(`UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?, updated_at = ?
    WHERE id = ? AND status = 'queued'`)
  const progressStmt = db.prepare('UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ?')
  const completeStmt = db.prepare(`UPDATE jobs SET status = 'done', progress = 1, error_json = NULL, finished_at = ?, updated_at = ? WHERE id = ?`)
  const retryStmt = db.prepare(`UPDATE jobs SET status = 'queued', error_json = ?, run_after = ?, updated_at = ? WHERE id = ? AND status = 'running'`)
  const failStmt = db.prepare(`UPDATE jobs SET status = 'failed', error_json = ?, finished_at = ?, updated_at = ? WHERE id = ?`)
  const cancelStmt = db.prepare(`UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE kind = ? AND subject_id = ?
    AND status IN ('queued','running')`)
  // An interrupted attempt did not fail on its own; give it back so a crash loop cannot exhaust the retries silently.
  const requeueStmt = db.prepare(`UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), updated_at = ? WHERE status = 'running'`)
  const nextStmt = db.prepare(`SELECT MIN(run_after) AS t FROM jobs WHERE status = 'queued'`)
  const countsStmt = db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status')
  return {
    enqueue({ kind, subjectId, payload = {}, maxAttempts, runAfter = Date.now() }) {
      const t = now()
      const info = insertStmt.run(kind, subjectId, JSON.stringify(payload), maxAttempts, runAfter, t, t)
      return toJob(getStmt.get(Number(info.lastInsertRowid)) as Row)
    },
    get(id) {
      const r = getStmt.get(id) as Row | undefined
      return r ? toJob(r) : undefined
    },
    listRunnable(at, limit) {
      return (runnable.all(at, limit) as Row[]).map(toJob)
    },
    findActive(kind, subjectId) {
      const r = active.get(kind, subjectId) as Row | undefined
      return r ? toJob(r) : undefined
    },
    prioritize(kind, subjectId) {
      return prioritizeStmt.run(now(), kind, subjectId).changes > 0
    },
    claim(id) {
      const t = now()
      if (claimStmt.run(t, t, id).changes === 0) return undefined
      return toJob(getStmt.get(id) as Row)
    },
    setProgress(id, progress) {
      progressStmt.run(progress, now(), id)
    },
    complete(id) {
      const t = now()
      completeStmt.run(t, t, id)
    },
    retryLater(id, error, runAfter) {
      retryStmt.run(JSON.stringify(error), runAfter, now(), id)
    },
    fail(id, error) {
      const t = now()
      failStmt.run(JSON.stringify(error), t, t, id)
    },
    cancelForSubject(kind, subjectId) {
      const t = now()
      return cancelStmt.run(t, t, kind, subjectId).changes
    },
    requeueInterrupted() {
      return requeueStmt.run(now()).changes
    },
    nextRunAfter() {
      const r = nextStmt.get() as { t: number | null }
      return r.t ?? undefined
    },
    counts() {
      const out: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 }
      for (const r of countsStmt.all() as { status: JobStatus; n: number }[]) out[r.status] = r.n
      return out
    },
  }
}

function toAsset(r: Row): AssetRecord {
  return {
    id: r.id as string,
    kind: r.kind as AssetRecord['kind'],
    file: r.file as string,
    originalName: (r.original_name as string | null) ?? null,
    mimeType: r.mime_type as string,
    bytes: r.bytes as number,
    durationMs: (r.duration_ms as number | null) ?? null,
    width: (r.width as number | null) ?? null,
    height: (r.height as number | null) ?? null,
    createdAt: r.created_at as string,
  }
}

function assetRepository(db: Database.Database): AssetRepository {
  const insertStmt = db.prepare(`INSERT INTO assets (id, kind, file, original_name, mime_type, bytes, duration_ms, width, height, created_at)
    VALUES (@id, @kind, @file, @originalName, @mimeType, @bytes, @durationMs, @width, @height, @createdAt)`)
  const getStmt = db.prepare('SELECT * FROM assets WHERE id = ?')
  return {
    insert(a) {
      insertStmt.run(a)
      return toAsset(getStmt.get(a.id) as Row)
    },
    get(id) {
      const r = getStmt.get(id) as Row | undefined
      return r ? toAsset(r) : undefined
    },
    list(kind) {
      const rows = kind
        ? db.prepare('SELECT * FROM assets WHERE kind = ? ORDER BY created_at DESC').all(kind)
        : db.prepare('SELECT * FROM assets ORDER BY created_at DESC').all()
      return (rows as Row[]).map(toAsset)
    },
    delete(id) {
      return db.prepare('DELETE FROM assets WHERE id = ?').run(id).changes > 0
    },
  }
}

/** Articles stored before the url_key column (migration sources-001) get their key once. */
function backfillUrlKeys(db: Database.Database): void {
  const cols = db.prepare("SELECT name FROM pragma_table_info('articles') WHERE name = 'url_key'").all()
  if (cols.length === 0) return
  const rows = db.prepare('SELECT id, url FROM articles WHERE url IS NOT NULL AND url_key IS NULL').all() as { id: string; url: string }[]
  if (rows.length === 0) return
  const set = db.prepare('UPDATE articles SET url_key = ? WHERE id = ?')
  db.transaction(() => {
    for (const r of rows) set.run(urlKey(r.url), r.id)
  })()
}
