/**
 * Briefings' one home in the store: the briefings table (migration
 * 'feed-001-briefings'), one row per briefing with the story list, the
 * composed script (a snapshot taken when the briefing is created, so later
 * edits of an article do not change a published briefing) and the served
 * episode. The service around it is src/feed/briefings.ts.
 */
import { randomBytes } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { StoryMode } from '../episodes/briefing.ts'
import type { Script } from '../script/types.ts'
import { changed, now, parseJson } from './repositories.ts'
import type { BriefingsTable, DB } from './schema.ts'
import type { ArticleStatus, EpisodeRecord, StoredError } from './types.ts'

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

export type PublishedBriefing = { briefing: BriefingRecord; episode: EpisodeRecord }

export interface BriefingRepository {
  insert(b: NewBriefing): Promise<BriefingRecord>
  get(id: string): Promise<BriefingRecord | undefined>
  getScript(id: string): Promise<Script | undefined>
  /** The scheduled briefing of a day, if one was made. */
  getScheduled(day: string): Promise<BriefingRecord | undefined>
  /** Newest published first. */
  list(options: { limit: number; offset: number }): Promise<{ items: BriefingRecord[]; total: number }>
  setStatus(id: string, status: BriefingStatus, fields?: { progress?: number; error?: StoredError | null }): Promise<void>
  setProgress(id: string, progress: number): Promise<void>
  publishEpisode(id: string, episodeId: number): Promise<void>
  delete(id: string): Promise<boolean>
  /** Ids of briefings with an episode, newest first (the feed). */
  listPublishedIds(limit: number): Promise<string[]>
  /** The latest updated_at of any briefing (feed validators), null when there is none. */
  latestChange(): Promise<string | null>
}

const COLUMNS = [
  'id',
  'title',
  'origin',
  'day',
  'language',
  'profile_id',
  'status',
  'progress',
  'error_json',
  'stories_json',
  'skipped_json',
  'options_json',
  'episode_id',
  'published_at',
  'created_at',
  'updated_at',
] as const

function toBriefing(r: Omit<Selectable<BriefingsTable>, 'script_json'>): BriefingRecord {
  return {
    id: r.id,
    title: r.title,
    origin: r.origin as BriefingOrigin,
    day: r.day ?? null,
    language: r.language,
    profileId: r.profile_id,
    status: r.status as BriefingStatus,
    progress: Number(r.progress),
    error: parseJson<StoredError | null>(r.error_json, null),
    stories: parseJson(r.stories_json, []),
    skipped: parseJson(r.skipped_json, []),
    options: parseJson(r.options_json, {}),
    episodeId: r.episode_id === null ? null : Number(r.episode_id),
    publishedAt: r.published_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

/** Short url-safe id, like article ids. */
export function newBriefingId(): string {
  return randomBytes(9).toString('base64url')
}

export function briefingRepository(db: Kysely<DB>): BriefingRepository {
  const get = async (id: string) => {
    const r = await db.selectFrom('briefings').select(COLUMNS).where('id', '=', id).executeTakeFirst()
    return r ? toBriefing(r) : undefined
  }
  return {
    async insert(b) {
      const id = newBriefingId()
      const t = now()
      await db
        .insertInto('briefings')
        .values({
          id,
          title: b.title,
          origin: b.origin,
          day: b.day,
          language: b.language,
          profile_id: b.profileId,
          status: 'queued',
          stories_json: JSON.stringify(b.stories),
          skipped_json: JSON.stringify(b.skipped),
          script_json: JSON.stringify(b.script),
          options_json: JSON.stringify(b.options),
          published_at: b.publishedAt,
          created_at: t,
          updated_at: t,
        })
        .execute()
      return (await get(id))!
    },
    get,
    async getScript(id) {
      const r = await db.selectFrom('briefings').select('script_json').where('id', '=', id).executeTakeFirst()
      return r ? (JSON.parse(r.script_json) as Script) : undefined
    },
    async getScheduled(day) {
      const r = await db.selectFrom('briefings').select(COLUMNS).where('origin', '=', 'schedule').where('day', '=', day).executeTakeFirst()
      return r ? toBriefing(r) : undefined
    },
    async list({ limit, offset }) {
      const rows = await db.selectFrom('briefings').select(COLUMNS).orderBy('published_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute()
      const n = await db.selectFrom('briefings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return { items: rows.map(toBriefing), total: Number(n.n) }
    },
    async setStatus(id, status, fields = {}) {
      await db
        .updateTable('briefings')
        .set({
          status,
          ...(fields.progress !== undefined ? { progress: fields.progress } : {}),
          error_json: fields.error ? JSON.stringify(fields.error) : null,
          updated_at: now(),
        })
        .where('id', '=', id)
        .execute()
    },
    async setProgress(id, progress) {
      await db.updateTable('briefings').set({ progress }).where('id', '=', id).execute()
    },
    async publishEpisode(id, episodeId) {
      await db.updateTable('briefings').set({ episode_id: episodeId, status: 'ready', progress: 1, error_json: null, updated_at: now() }).where('id', '=', id).execute()
    },
    async delete(id) {
      return changed(await db.deleteFrom('briefings').where('id', '=', id).executeTakeFirst()) > 0
    },
    async listPublishedIds(limit) {
      const rows = await db
        .selectFrom('briefings as b')
        .innerJoin('episodes as e', 'e.id', 'b.episode_id')
        .select('b.id')
        .orderBy('b.published_at', 'desc')
        .orderBy('b.id', 'desc')
        .limit(limit)
        .execute()
      return rows.map((r) => r.id)
    },
    async latestChange() {
      const r = await db.selectFrom('briefings').select((eb) => eb.fn.max('updated_at').as('t')).executeTakeFirst()
      return r?.t ?? null
    },
  }
}
