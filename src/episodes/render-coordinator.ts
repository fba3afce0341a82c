/**
 * Article renders: the 'render-article' job handler, single flight, and the
 * progressive pieces readers hear before the episode is complete.
 *
 * One Flight per article render. The job handler fills it with the encoded
 * pieces (renderEpisode's onPiece, in script order) as they are produced;
 * Listen requests follow it: late joiners first get every piece already
 * produced (kept in memory: a piece is a few hundred KB at most, and the
 * flight is dropped once the render ends and its last reader leaves), then
 * wait for the rest. However many readers ask, the article renders once.
 */
import { readFileSync } from 'node:fs'
import { promises as fs } from 'node:fs'
import { EventEmitter, once } from 'node:events'
import path from 'node:path'
import type { Logger } from 'pino'
import { forgetBlob } from '../http/serve-file.ts'
import { blobStoreFor, keyOf } from '../storage/index.ts'
import type { Config } from '../config.ts'
import { AppError, toAppError } from '../errors.ts'
import { isTransientStoreError } from '../store/errors.ts'
import type { ArticleRecord, EpisodeRecord, NewEpisode, Repositories, Store, StoredError } from '../store/types.ts'
import type { SpeechService } from '../tts/types.ts'
import type { EpisodeResult, RenderOptions } from './types.ts'
import { isHandBack, type JobContext, type Queue } from './queue.ts'
import type { RenderStreams, StreamWriter } from '../fleet/render-stream.ts'
import type { Script } from '../script/types.ts'
import type { VoiceProfile } from '../tts/types.ts'
import type { Ffmpeg } from '../audio/ffmpeg.ts'
import type { LoudnessMeter } from '../audio/loudness-meter.ts'
import { renderEpisode, type RenderDeps } from './render.ts'

export const RENDER_ARTICLE = 'render-article'

/** The render function (src/episodes/render.ts); injected so the coordinator stays testable and loads lazily. */
export type RenderFn = (
  script: Script,
  profile: VoiceProfile,
  tools: RenderDeps,
  options: RenderOptions,
) => Promise<EpisodeResult>

export class Flight extends EventEmitter {
  readonly articleId: string
  /** The revision being rendered; a flight readers wait on before its job starts takes the revision that job renders. */
  revision: number
  /** False while readers wait for the job to get its turn. */
  started = false
  readonly pieces: Buffer[] = []
  finished = false
  error: AppError | undefined
  readers = 0

  constructor(articleId: string, revision: number) {
    super()
    this.articleId = articleId
    this.revision = revision
    // Many readers may wait on one flight.
    this.setMaxListeners(0)
  }

  push(piece: Buffer): void {
    this.pieces.push(piece)
    this.emit('piece')
  }

  end(error?: AppError): void {
    if (this.finished) return
    this.finished = true
    this.error = error
    this.emit('piece')
  }

  /** Every piece in order: those already produced, then the rest as they come. Ends when the render ends. */
  async *read(signal?: AbortSignal): AsyncGenerator<Buffer> {
    let i = 0
    for (;;) {
      while (i < this.pieces.length) yield this.pieces[i++]!
      if (this.finished) {
        if (this.error) throw this.error
        return
      }
      await once(this, 'piece', signal ? { signal } : {})
    }
  }
}

export interface RenderCoordinatorOptions {
  config: Config
  logger: Logger
  store: Store
  speech: SpeechService
  ffmpeg: Ffmpeg
  jobs: Queue
  /**
   * With Redis: pieces go through Redis Streams, and every listener, on any node, follows the stream
   * (src/fleet/render-stream.ts). Without: the in-memory flights of this process.
   */
  streams?: RenderStreams
  /** One loudness meter (worker) shared by all renders, instead of one started per render. */
  meter?: LoudnessMeter
  /** Defaults to renderEpisode from ./render.ts. */
  render?: RenderFn
}

export class RenderCoordinator {
  readonly #o: RenderCoordinatorOptions
  readonly #flights = new Map<string, Flight>()
  readonly #render: RenderFn
  /** Counts renders started (tests and benches check single flight with it). */
  rendersStarted = 0
  /** Renders started per article id (single-flight checks). */
  readonly rendersByArticle = new Map<string, number>()

  constructor(options: RenderCoordinatorOptions) {
    this.#o = options
    this.#render = options.render ?? renderEpisode
    options.jobs.register(RENDER_ARTICLE, (ctx) => this.#handle(ctx), {
      onRetry: (job, error) => void this.#safe(() => this.#o.store.articles.setStatus(job.subjectId, 'queued', { error })),
      onFailed: (job, error) => void this.#safe(() => this.#markFailed(job.subjectId, job.payload.revision, error)),
    })
  }

  /**
   * The render function articles use: in the service, the render child process (RenderProcess.render).
   * Briefings render through it too, so every render of the service runs in that one low-priority child.
   */
  get render(): RenderFn {
    return this.#render
  }

  /**
   * Enqueue a render of the article's current revision (after an ingest or an edit). With `tx`: the in-process
   * queue writes the job in that transaction (the row and its job commit together); the Redis queue gets it after
   * the commit (a worker elsewhere must find the committed article) and logs its own failures (the reconciler,
   * src/fleet/reconcile.ts, enqueues again what was lost, with `again`: that keeps the count of runs that crashed
   * their worker, which any other enqueue forgets).
   */
  async enqueue(article: Pick<ArticleRecord, 'id' | 'revision'>, tx?: Repositories, options: { again?: boolean } = {}): Promise<void> {
    const payload = { revision: article.revision, ...(options.again ? { again: true } : {}) }
    if (this.#o.jobs.backend === 'store') {
      await this.#o.jobs.enqueue(RENDER_ARTICLE, article.id, payload, tx)
      return
    }
    const send = () => this.#settle(this.#o.jobs.enqueue(RENDER_ARTICLE, article.id, payload), 'enqueueing a render failed')
    if (tx) tx.afterCommit(send)
    else send()
  }

  /**
   * enqueue(), waiting until the queue has the job (a Listen request joins it next). A reader finding a queued
   * article without its job enqueues it `again`, as the reconciler does: readers do not forgive crashes.
   */
  async enqueueNow(article: Pick<ArticleRecord, 'id' | 'revision'>): Promise<void> {
    await this.#o.jobs.enqueue(RENDER_ARTICLE, article.id, { revision: article.revision, again: true })
  }

  /** Stop any render of the article (it is being deleted). */
  async cancel(articleId: string): Promise<void> {
    try {
      await this.#o.jobs.cancel(RENDER_ARTICLE, articleId)
    } catch (err) {
      this.#o.logger.error({ err }, 'cancelling a render failed')
    }
    const f = this.#flights.get(articleId)
    if (f) f.end(new AppError('ABORTED', 'The article was deleted.'))
    this.#flights.delete(articleId)
  }

  /**
   * The flight of the article's current render (single flight). A queued job
   * is moved to the front of the queue, not started: listeners share the
   * render concurrency limit and the retry backoff, and hear the article when
   * its turn comes. Undefined when there is nothing to render.
   */
  async join(articleId: string): Promise<Flight | undefined> {
    const existing = this.#flights.get(articleId)
    if (existing && !existing.finished) return existing
    const job = await this.#o.jobs.prioritize(RENDER_ARTICLE, articleId)
    if (!job) return undefined
    // Another join, or the job itself, may have made the flight meanwhile.
    const running = this.#flights.get(articleId)
    if (running && !running.finished) return running
    const waiting = new Flight(articleId, typeof job.payload.revision === 'number' ? job.payload.revision : 0)
    this.#flights.set(articleId, waiting)
    if (this.#o.streams) this.#follow(this.#o.streams, waiting)
    return waiting
  }

  /** Fill a flight from the render's Redis Stream, wherever the render runs (one follower per node and article). */
  #follow(streams: RenderStreams, flight: Flight): void {
    const { articleId, revision } = flight
    flight.started = true
    void (async () => {
      try {
        const stillExpected = async () => {
          const job = await this.#o.jobs.findActive(RENDER_ARTICLE, articleId)
          return job !== undefined && job.payload.revision === revision
        }
        for await (const piece of streams.follow(articleId, revision, { stillExpected })) flight.push(piece)
        flight.end()
      } catch (err) {
        flight.end(toAppError(err))
      } finally {
        if (this.#flights.get(articleId) === flight) this.#flights.delete(articleId)
      }
    })()
  }

  #settle(result: unknown, what: string): void {
    if (result instanceof Promise) result.catch((err: unknown) => this.#o.logger.error({ err }, what))
  }

  /** The flight currently producing pieces for an article, if any. */
  current(articleId: string): Flight | undefined {
    return this.#flights.get(articleId)
  }

  async #safe(fn: () => Promise<void>): Promise<void> {
    try {
      if (this.#o.store.isOpen()) await fn()
    } catch (err) {
      // During a database outage progress updates fail several times a second: not an error of ours, and /readyz says it.
      if (isTransientStoreError(err)) this.#o.logger.debug({ err: (err as Error).message }, 'updating article status failed: the database is unavailable')
      else this.#o.logger.error({ err }, 'updating article status failed')
    }
  }

  async #markFailed(articleId: string, revision: unknown, error: StoredError): Promise<void> {
    const a = await this.#o.store.articles.get(articleId)
    if (!a || (typeof revision === 'number' && a.revision !== revision)) return
    await this.#o.store.articles.setStatus(articleId, 'failed', { error })
  }


  async #handle({ job, signal, setProgress, logger }: JobContext): Promise<void> {
    const { store, config } = this.#o
    const articleId = job.subjectId
    const loaded = await store.articles.getScript(articleId)
    if (!loaded) return // deleted meanwhile: nothing to do
    const article = await store.articles.get(articleId)
    if (!article) return
    if (typeof job.payload.revision === 'number' && job.payload.revision !== loaded.revision) return // superseded by an edit
    // A run of a job that an earlier run already published (its worker lost the job's lock, e.g. during a Redis outage,
    // and the job was found stalled): nothing to do. A re-render of the same revision sets the article queued first.
    if (article.status === 'ready' && article.episodeId != null && (await store.episodes.get(article.episodeId))?.revision === loaded.revision) {
      logger.info('this revision was already published by another run of the job')
      return
    }

    // Where the pieces go: the render's Redis Stream (every node's listeners follow it), or this process's flight.
    let writer: StreamWriter | undefined
    let current: Flight | undefined
    let release = () => {}
    if (this.#o.streams) {
      writer = await this.#o.streams.begin(articleId, loaded.revision, `${job.id}#${job.attempts}`)
    } else {
      // Synchronously, before any await: a Listen request that joins now finds the flight right away.
      let flight = this.#flights.get(articleId)
      if (flight && !flight.finished && !flight.started) flight.revision = loaded.revision // readers were waiting for this turn
      if (!flight || flight.finished || flight.revision !== loaded.revision) {
        flight = new Flight(articleId, loaded.revision)
        this.#flights.set(articleId, flight)
      }
      flight.started = true
      const local = (current = flight)
      release = () => {
        if (this.#flights.get(articleId) === local) this.#flights.delete(articleId)
      }
    }
    this.rendersStarted++
    this.rendersByArticle.set(articleId, (this.rendersByArticle.get(articleId) ?? 0) + 1)
    try {
      await store.articles.setStatus(articleId, 'rendering', { progress: 0 })
      const render = this.#render
      const profile = this.#o.speech.getProfile(loaded.profileId)
      let lastProgress = 0
      const result = await render(
        loaded.script,
        profile,
        { speech: this.#o.speech, ffmpeg: this.#o.ffmpeg, config, meter: this.#o.meter },
        {
          format: config.audio.format,
          signal,
          onProgress: (p) => {
            setProgress(p.fraction)
            const t = Date.now()
            if (t - lastProgress > 250 || p.fraction >= 1) {
              lastProgress = t
              void this.#safe(() => store.articles.setProgress(articleId, Math.min(0.99, p.fraction)))
            }
          },
          onPiece: (piece) => {
            // Read now, synchronously: pieces are small, the order is kept, and the renderer may delete its temp files later.
            try {
              const bytes = readFileSync(piece.path)
              if (writer) writer.piece(piece.index, bytes)
              else current!.push(bytes)
            } catch (err) {
              logger.warn({ err, piece: piece.index }, 'could not read an encoded piece for streaming')
            }
          },
          metadata: {
            title: article.title,
            artist: article.author ?? config.show.author,
            album: config.show.title,
            date: (article.publishedAt ?? article.createdAt).slice(0, 10),
            comment: article.url ?? undefined,
          },
        },
      )
      signal.throwIfAborted()
      // Every piece is in the stream before the episode is published and the stream ends.
      await writer?.flush()
      await this.#publish(article, loaded.revision, result, logger)
      current?.end()
      await writer?.end()
    } catch (err) {
      const e = toAppError(err)
      current?.end(e)
      // A worker that hands the job back leaves the stream open: the worker that takes the job over goes on with it.
      // So does a render that met a database outage: it runs again once the database is back, and readers wait for it.
      if (writer && !isHandBack(signal.reason) && !isTransientStoreError(err)) await writer.end({ code: e.code, message: e.message }).catch(() => {})
      throw err
    } finally {
      release()
    }
  }

  async #publish(article: ArticleRecord, revision: number, result: EpisodeResult, logger: Logger): Promise<void> {
    const { store, config } = this.#o
    const rel = (p: string) => path.relative(config.cacheDir, p)
    const ep = await store.transaction(async (tx): Promise<EpisodeRecord | 'already' | undefined> => {
      // A job run twice (its first worker was presumed dead) publishes once: the same revision and content are already served.
      const served = await tx.articles.get(article.id)
      const current = served?.episodeId != null ? await tx.episodes.get(served.episodeId) : undefined
      if (current && current.revision === revision && current.hash === result.hash) {
        // This run marked the article rendering again meanwhile: it is ready, with that episode.
        await tx.articles.publishEpisode(article.id, revision, current.id)
        return 'already'
      }
      const ep = await tx.episodes.insert({
        articleId: article.id,
        revision,
        ...episodeFields(result, config.cacheDir),
      })
      if (!(await tx.articles.publishEpisode(article.id, revision, ep.id))) {
        await tx.episodes.delete(ep.id)
        return undefined
      }
      return ep
    })
    if (ep === 'already') {
      logger.info({ hash: result.hash }, 'this revision was already published by another run of the job')
      return
    }
    if (!ep) {
      logger.info('render finished for a superseded revision; discarded')
      // Its files too, unless another episode shares the content hash.
      const discarded = { hash: result.hash, audioFile: rel(result.audioPath), vttFile: rel(result.vttPath), chaptersFile: rel(result.chaptersPath), timingsFile: rel(result.timingsPath) }
      void removeEpisodeFiles(config, store, discarded).catch((err) => logger.warn({ err }, 'removing a discarded episode failed'))
      return
    }
    logger.info({ episode: ep.id, hash: ep.hash, durationMs: ep.durationMs, stats: result.stats }, 'episode published')
    void this.#collectOldEpisodes(article.id, ep.id).catch((err) => logger.warn({ err }, 'cleaning old episodes failed'))
  }

  /**
   * Keep the served episode and the one before it (a reader may be halfway
   * through the old file: its immutable URL keeps working for one more
   * revision); drop older rows and their files unless another row shares them.
   */
  async #collectOldEpisodes(articleId: string, keepId: number): Promise<void> {
    const { store } = this.#o
    const all = await store.episodes.listForArticle(articleId)
    const old = all.filter((e) => e.id !== keepId).slice(1)
    for (const ep of old) {
      await store.episodes.delete(ep.id)
      await removeEpisodeFiles(this.#o.config, store, ep)
    }
  }
}

/** Delete an episode's files unless another episode row still references the same content hash. */
export async function removeEpisodeFiles(
  config: Config,
  store: Store,
  ep: Pick<EpisodeRecord, 'hash' | 'audioFile' | 'vttFile' | 'chaptersFile' | 'timingsFile'>,
): Promise<void> {
  if ((await store.episodes.countByHash(ep.hash)) > 0) return
  const root = path.resolve(config.cacheDir) + path.sep
  const files = new Set([ep.audioFile, ep.vttFile, ep.chaptersFile, ep.timingsFile].map((f) => path.resolve(config.cacheDir, f)))
  // The renderer may write more sidecars named <hash>.* beside the audio (e.g. <hash>.info.json).
  const dir = path.dirname(path.resolve(config.cacheDir, ep.audioFile))
  try {
    for (const name of await fs.readdir(dir)) if (name.startsWith(`${ep.hash}.`)) files.add(path.join(dir, name))
  } catch {}
  for (const abs of files) {
    // Never delete outside the cache directory, whatever a row says.
    if (!abs.startsWith(root)) continue
    await fs.rm(abs, { force: true })
  }
  // Object storage: the same files in the bucket (<hash>.* beside the audio, e.g. <hash>.info.json, too).
  const blobs = blobStoreFor(config)
  if (blobs.kind !== 'local') {
    const audioKey = keyOf(ep.audioFile)
    const keys = new Set([ep.audioFile, ep.vttFile, ep.chaptersFile, ep.timingsFile].map(keyOf))
    for await (const o of blobs.list(`${audioKey.slice(0, audioKey.lastIndexOf('/') + 1)}${ep.hash}.`)) keys.add(o.key)
    for (const key of keys) {
      if (key.split('/').includes('..')) continue
      await blobs.delete(key)
      forgetBlob(key)
    }
  }
}

/** The episode row for a finished render; file paths are stored relative to the cache dir. */
export function episodeFields(result: EpisodeResult, cacheDir: string): Omit<NewEpisode, 'articleId' | 'revision'> {
  const rel = (p: string) => path.relative(cacheDir, p)
  return {
    hash: result.hash,
    format: result.format,
    mimeType: result.mimeType,
    audioFile: rel(result.audioPath),
    vttFile: rel(result.vttPath),
    chaptersFile: rel(result.chaptersPath),
    timingsFile: rel(result.timingsPath),
    bytes: result.bytes,
    durationMs: Math.round(result.durationMs),
    chapters: result.chapters,
    loudness: result.loudness,
    stats: result.stats,
  }
}
