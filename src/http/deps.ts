/**
 * Everything the HTTP layer needs, built once in src/main.ts and passed to
 * createApp(deps) and every router factory. Tests build the same object with
 * real parts (SQLite file in a temp dir, espeak-ng, ffmpeg).
 */
import type { Logger } from 'pino'
import type { Ffmpeg } from '../audio/ffmpeg.ts'
import type { Config } from '../config.ts'
import type { Queue } from '../episodes/queue.ts'
import type { RenderCoordinator } from '../episodes/render-coordinator.ts'
import type { Store } from '../store/types.ts'
import type { BriefcastSpeechService } from '../tts/index.ts'
import type { PublicUrls } from './urls.ts'

export type FfmpegTools = Ffmpeg

export interface AppDeps {
  config: Config
  logger: Logger
  /** The store (SQLite or PostgreSQL, async): store.articles, .episodes, .jobs, .assets, .briefings, .listenStats, .usage, .sources; store.transaction(). */
  store: Store
  /** Profiles, voice lists, the editable lexicons; synthesis for previews (renders run in the render process). */
  speech: BriefcastSpeechService
  ffmpeg: FfmpegTools
  /** The job queue: durable in the store (in-process), or BullMQ on Redis. Register your own job kinds with jobs.register(kind, handler). */
  jobs: Queue
  /** Article renders: single flight, progressive pieces, publishing episodes. */
  renders: RenderCoordinator
  /** Absolute public URLs (config.publicUrl) for articles, episodes, embeds. */
  urls: PublicUrls
  /**
   * A lock across the fleet's nodes (Redis, src/fleet/redis.ts): the release function, or undefined when another node
   * holds it. Unset on a single node.
   */
  lock?: (name: string, ttlMs: number) => Promise<(() => Promise<void>) | undefined>
  /** Readiness checks beyond the DB (ffmpeg, engines); filled by main.ts. */
  readiness?: () => Promise<Record<string, { ok: boolean; detail?: string }>>
}
