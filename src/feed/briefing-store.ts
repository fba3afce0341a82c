/**
 * The briefings table (migration 'feed-001-briefings'): one row per briefing,
 * with the story list, the composed script (a snapshot) and the served episode.
 */
import { randomBytes } from 'node:crypto'
import type Database from 'better-sqlite3'
import type { StoryMode } from '../episodes/briefing.ts'
import type { Script } from '../script/types.ts'
import { parseJson } from '../store/sqlite.ts'
import type { ArticleStatus, EpisodeRecord, StoredError } from '../store/types.ts'

export type BriefingStatus = ArticleStatus
export type BriefingOrigin = 'api' | 'schedule'

export interface BriefingStoryRef {
  articleId: string
  externalId: string | null
  revision: number
  title: string
  url: string | null
  mode: StoryMode
  ledeSeconds: number
}

export interface SkippedStory {
  /** The id as the caller gave it. */
  articleId: string
  code: 'ARTICLE_NOT_FOUND' | 'ARTICLE_FAILED' | 'LANGUAGE_MISMATCH'
  message: string
}

export interface BriefingOptions {
  /** Asset ids of jingles uploaded through /api/assets. */
  introJingle?: string
  outroJingle?: string
}

export interface BriefingRecord {
  id: string
  title: string
  origin: BriefingOrigin
  /** Scheduled briefings: the day (YYYY-MM-DD, schedule time zone) they cover. */
  day: string | null
  language: string
  profileId: string
  status: BriefingStatus
  progress: number
  error: StoredError | null
  stories: BriefingStoryRef[]
  skipped: SkippedStory[]
  options: BriefingOptions
  episodeId: number | null
  publishedAt: string
  createdAt: string
  updatedAt: string
}

export interface NewBriefing {
  title: string
  origin: BriefingOrigin
  day: string | null
  language: string
  profileId: string
  stories: BriefingStoryRef[]
  skipped: SkippedStory[]
  options: BriefingOptions
  script: Script
  publishedAt: string
}

type Row = Record<string, unknown>

function toBriefing(r: Row): BriefingRecord {
  return {
    id: r.id as string,
    title: r.title as string,
    origin: r.origin as BriefingOrigin,
    day: (r.day as string | null) ?? null,
    language: r.language as string,
    profileId: r.profile_id as string,
    status: r.status as BriefingStatus,
    progress: r.progress as number,
    error: parseJson<StoredError | null>(r.error_json, null),
    stories: parseJson(r.stories_json, []),
    skipped: parseJson(r.skipped_json, []),
    options: parseJson(r.options_json, {}),
    episodeId: (r.episode_id as number | null) ?? null,
    publishedAt: r.published_at as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  }
}

/** Short url-safe id, like article ids. */
export function newBriefingId(): string {
  return randomBytes(9).toString('base64url')
}

const COLUMNS = `id, title, origin, day, language, profile_id, status, progress, error_json, stories_json, skipped_json, options_json,
  episode_id, published_at, created_at, updated_at`

export class BriefingRepository {
  readonly #insert: Database.Statement
  readonly #get: Database.Statement
  readonly #getScript: Database.Statement
  readonly #byDay: Database.Statement
  readonly #list: Database.Statement
  readonly #count: Database.Statement
  readonly #status: Database.Statement
  readonly #progress: Database.Statement
  readonly #publish: Database.Statement
  readonly #delete: Database.Statement
  readonly #published: Database.Statement
  readonly #latestChange: Database.Statement

  constructor(db: Database.Database) {
    this.#insert = db.prepare(`INSERT INTO briefings (id, title, origin, day, language, profile_id, status, stories_json, skipped_json, script_json,
        options_json, published_at, created_at, updated_at)
      VALUES (@id, @title, @origin, @day, @language, @profileId, 'queued', @stories, @skipped, @script, @options, @publishedAt, @now, @now)`)
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM briefings WHERE id = ?`)
    this.#getScript = db.prepare('SELECT script_json FROM briefings WHERE id = ?')
    this.#byDay = db.prepare(`SELECT ${COLUMNS} FROM briefings WHERE origin = 'schedule' AND day = ?`)
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM briefings ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?`)
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM briefings')
    this.#status = db.prepare(`UPDATE briefings SET status = @status, progress = COALESCE(@progress, progress), error_json = @error, updated_at = @now WHERE id = @id`)
    this.#progress = db.prepare('UPDATE briefings SET progress = ? WHERE id = ?')
    this.#publish = db.prepare(`UPDATE briefings SET episode_id = @episodeId, status = 'ready', progress = 1, error_json = NULL, updated_at = @now WHERE id = @id`)
    this.#delete = db.prepare('DELETE FROM briefings WHERE id = ?')
    this.#published = db.prepare(`SELECT b.id AS briefing_id FROM briefings b JOIN episodes e ON e.id = b.episode_id
      ORDER BY b.published_at DESC, b.id DESC LIMIT ?`)
    this.#latestChange = db.prepare('SELECT MAX(updated_at) AS t FROM briefings')
  }

  insert(b: NewBriefing): BriefingRecord {
    const id = newBriefingId()
    this.#insert.run({
      id,
      title: b.title,
      origin: b.origin,
      day: b.day,
      language: b.language,
      profileId: b.profileId,
      stories: JSON.stringify(b.stories),
      skipped: JSON.stringify(b.skipped),
      script: JSON.stringify(b.script),
      options: JSON.stringify(b.options),
      publishedAt: b.publishedAt,
      now: new Date().toISOString(),
    })
    return this.get(id)!
  }

  get(id: string): BriefingRecord | undefined {
    const r = this.#get.get(id) as Row | undefined
    return r ? toBriefing(r) : undefined
  }

  getScript(id: string): Script | undefined {
    const r = this.#getScript.get(id) as { script_json: string } | undefined
    return r ? (JSON.parse(r.script_json) as Script) : undefined
  }

  /** The scheduled briefing of a day, if one was made. */
  getScheduled(day: string): BriefingRecord | undefined {
    const r = this.#byDay.get(day) as Row | undefined
    return r ? toBriefing(r) : undefined
  }

  list(options: { limit: number; offset: number }): { items: BriefingRecord[]; total: number } {
    const items = (this.#list.all(options.limit, options.offset) as Row[]).map(toBriefing)
    return { items, total: (this.#count.get() as { n: number }).n }
  }

  setStatus(id: string, status: BriefingStatus, fields: { progress?: number; error?: StoredError | null } = {}): void {
    this.#status.run({ id, status, progress: fields.progress ?? null, error: fields.error ? JSON.stringify(fields.error) : null, now: new Date().toISOString() })
  }

  setProgress(id: string, progress: number): void {
    this.#progress.run(progress, id)
  }

  publishEpisode(id: string, episodeId: number): void {
    this.#publish.run({ id, episodeId, now: new Date().toISOString() })
  }

  delete(id: string): boolean {
    return this.#delete.run(id).changes > 0
  }

  /** Ids of briefings with an episode, newest first (the feed). */
  listPublishedIds(limit: number): string[] {
    return (this.#published.all(limit) as { briefing_id: string }[]).map((r) => r.briefing_id)
  }

  latestChange(): string | null {
    return (this.#latestChange.get() as { t: string | null }).t
  }
}

const repos = new WeakMap<Database.Database, BriefingRepository>()

/** One repository (prepared statements) per connection. */
export function briefingRepository(db: Database.Database): BriefingRepository {
  let repo = repos.get(db)
  if (!repo) {
    repo = new BriefingRepository(db)
    repos.set(db, repo)
  }
  return repo
}

export type PublishedBriefing = { briefing: BriefingRecord; episode: EpisodeRecord }
