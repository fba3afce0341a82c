/**
 * Script -> episode. Each segment becomes one "piece": its clip plus its
 * pause, loudness-normalized on its own (linear gain to the target, then a
 * limiter), encoded once to bare MP3 frames in an encoder thread (LAME in
 * WebAssembly, src/audio/mp3-encoder.ts; no process per piece) and cached under
 * audio-cache/pieces/<key>.mp3 (key = clip key + pause + encoder settings);
 * a long clip may be encoded as several parts at once, joined into its one
 * piece. The MP3 episode is the pieces' frames joined in JS (mp3-join.ts; M4A
 * goes through ffmpeg's concat demuxer), so an edit re-encodes only the pieces
 * that changed. Pieces end on MP3 frame boundaries inside silence, so the joins
 * make no click; their real frame counts give the timings, so transcript and
 * chapters match the file.
 *
 * The stages, each in its own module: plan the pieces (render-plan.ts), synthesize and level
 * (render-level.ts), encode and measure (render-encode.ts), assemble the file, tags and sidecars
 * (render-assemble.ts). This module runs them: pieces in script order with bounded concurrency,
 * each handed on (onPiece) as soon as it and those before it are ready.
 */
import { promises as fs, type Stats } from 'node:fs'
import path from 'node:path'
import type { Config } from '../config.ts'
import type { BlobStore } from '../storage/types.ts'
import { AppError, throwIfAborted, toAppError } from '../errors.ts'
import type { Segment, Script } from '../script/types.ts'
import type { SpeechService, VoiceProfile } from '../tts/types.ts'
import { fileError } from '../util/files.ts'
import { ENCODER_DELAY, type FfmpegMedia } from '../audio/ffmpeg.ts'
import type { LoudnessMeter } from '../audio/loudness-meter.ts'
import { createMp3Encoder, type Mp3Encoder } from '../audio/mp3-encoder.ts'
import { createRunDir, type RunDir } from '../audio/tempdir.ts'
import { assembleEpisode, type AssemblyPiece } from './render-assemble.ts'
import { encodeJinglePiece, encodeSpeechPiece, PieceStore, semaphore, type Slot } from './render-encode.ts'
import { LIMITER_HEADROOM_DB, synthesizeClip } from './render-level.ts'
import { encoderSettingsOf, JINGLE_GAP_MS, jinglePieceKey, msOf, planItems, samplesOfMs, speechPieceKey } from './render-plan.ts'
import type { EncodedPiece, EpisodeResult, RenderOptions, RenderProgress } from './types.ts'

export { buildChapters, combineLoudness } from './render-assemble.ts'
export { frameAlignedLength } from './render-plan.ts'

/** What a render uses; the render coordinator's RenderFn takes the same. */
export interface RenderDeps {
  speech: SpeechService
  ffmpeg: FfmpegMedia
  config: Config
  /** Shared clip loudness meter (one worker); the encoder's threads (Mp3Encoder.meter) when absent. */
  meter?: LoudnessMeter
  /** Shared MP3 encoder threads (LAME and mpg123 in WebAssembly); created per render when absent. */
  encoder?: Mp3Encoder
  /**
   * Object storage shared by every worker (BRIEFCAST_STORAGE_URL); undefined in the embedded mode. Pieces and
   * their loudness sidecars missing here are fetched from it (so an edit re-encodes only the changed segments on
   * whichever worker takes it) and new ones are stored into it; jingles and covers under the cache dir too.
   */
  blobs?: BlobStore
}

/** Read-through from and write-through to object storage (src/storage), for files under the cache dir; no-ops without it. */
export interface StorageStep {
  fetch(file: string): Promise<void>
  put(file: string): Promise<void>
}

export function storageStep(config: Config, blobs: BlobStore | undefined, signal?: AbortSignal): StorageStep {
  const cacheRoot = path.resolve(config.cacheDir) + path.sep
  const keyOf = (file: string) => path.relative(config.cacheDir, file).split(path.sep).join('/')
  const local = (file: string) => path.resolve(file).startsWith(cacheRoot)
  return {
    async fetch(file) {
      if (!blobs || !local(file)) return
      if (await fs.stat(file).then(() => true, () => false)) return
      await blobs.materialize(keyOf(file), signal).catch((err: unknown) => {
        if (!(err instanceof AppError && err.code === 'NOT_FOUND')) throw err
      })
    },
    async put(file) {
      if (blobs && local(file)) await blobs.putFile(keyOf(file), file, { signal })
    },
  }
}

/** Runs tasks with bounded concurrency, starting them in order; resolves in order through `emit`. */
export async function orderedPool<T>(
  count: number,
  limit: number,
  signal: AbortSignal,
  task: (i: number) => Promise<T>,
  emit: (i: number, value: T) => void,
): Promise<T[]> {
  const results: T[] = new Array(count)
  const ready: boolean[] = new Array(count).fill(false)
  let next = 0
  let emitted = 0
  let failed: unknown
  const inFlight = new Set<Promise<void>>()
  const start = (i: number) => {
    const p = task(i).then(
      (v) => {
        results[i] = v
        ready[i] = true
        while (emitted < count && ready[emitted] && failed === undefined) {
          emit(emitted, results[emitted]!)
          emitted++
        }
      },
      (err) => {
        failed ??= err
      },
    )
    const tracked = p.finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
  }
  while ((next < count || inFlight.size > 0) && failed === undefined) {
    while (next < count && inFlight.size < limit && failed === undefined && !signal.aborted) start(next++)
    if (inFlight.size === 0) break
    await Promise.race(inFlight)
  }
  // Let everything in flight settle (ffmpeg killed, files closed) before the caller cleans up.
  await Promise.allSettled([...inFlight])
  if (failed !== undefined) throw failed
  throwIfAborted(signal)
  return results
}

type Piece = AssemblyPiece & { clipCached: boolean }

/** What the piece makers of one render share. */
interface RenderContext {
  deps: { speech: SpeechService; ffmpeg: FfmpegMedia; config: Config; meter: LoudnessMeter; encoder: Mp3Encoder }
  profile: VoiceProfile
  store: PieceStore
  slot: Slot
  run: RunDir
  encoderSettings: string
  limitDb: number
  signal: AbortSignal
  storage: StorageStep
  /** Counts a clip as ready (synthesized now, or cached when `cached`). */
  onClip(cached: boolean): void
}

/** Stages 2 and 3 for one segment: its clip, then its piece from the cache or leveled, encoded and measured now. */
async function segmentPiece(ctx: RenderContext, index: number, segment: Segment): Promise<Piece> {
  const { speech, config, meter, encoder } = ctx.deps
  const { targetLufs, truePeakDb, bitrateKbps } = config.audio
  const clip = await synthesizeClip(speech, segment, ctx.profile, ctx.signal)
  ctx.onClip(clip.cached)
  const key = speechPieceKey(clip.key, segment.pauseAfterMs, ctx.encoderSettings)
  const clipSamples = samplesOfMs(clip.durationMs)
  const piece = await ctx.store.ensure(
    index,
    key,
    (tmp) =>
      encodeSpeechPiece(
        { meter, encoder, slot: ctx.slot, run: ctx.run, index, segmentId: segment.id, clipWav: clip.wavPath, pauseAfterMs: segment.pauseAfterMs, targetLufs, truePeakDb, limitDb: ctx.limitDb, bitrateKbps, signal: ctx.signal },
        tmp,
      ),
    (samples) => ({ speechStart: ENCODER_DELAY, speechEnd: Math.min(samples, ENCODER_DELAY + clipSamples) }),
  )
  return {
    ...piece,
    clipCached: clip.cached,
    ...(clip.words?.length ? { wordStartsMs: clip.words.map((w) => w.startMs) } : {}),
    ...(clip.sentences?.length ? { sentenceStartsMs: clip.sentences.map((w) => w.startMs) } : {}),
  }
}

/** Stage 3 for a jingle: its piece from the cache, or measured, gained and encoded by ffmpeg now. */
async function jinglePiece(ctx: RenderContext, index: number, which: 'intro' | 'outro', file: string): Promise<Piece> {
  let stat: Stats
  try {
    await ctx.storage.fetch(file)
    stat = await fs.stat(file)
  } catch {
    throw new AppError('INVALID_AUDIO', `The ${which} jingle of voice profile "${ctx.profile.id}" does not exist: ${file}`, {
      help: `Fix "${which}" in voices/${ctx.profile.id}.json or add the file.`,
    })
  }
  const { targetLufs, bitrateKbps } = ctx.deps.config.audio
  const key = jinglePieceKey(which, file, stat, ctx.encoderSettings)
  const piece = await ctx.store.ensure(
    index,
    key,
    (tmp) =>
      encodeJinglePiece(
        { ffmpeg: ctx.deps.ffmpeg, slot: ctx.slot, file, which, gapSamples: which === 'intro' ? samplesOfMs(JINGLE_GAP_MS) : 0, targetLufs, limitDb: ctx.limitDb, bitrateKbps, signal: ctx.signal },
        tmp,
      ),
    (samples) => ({ speechStart: ENCODER_DELAY, speechEnd: samples }),
  )
  return { ...piece, clipCached: true }
}

export async function renderEpisode(script: Script, profile: VoiceProfile, deps: RenderDeps, options: RenderOptions = {}): Promise<EpisodeResult> {
  const started = Date.now()
  const { config } = deps
  const format = options.format ?? config.audio.format
  const { truePeakDb, encodeConcurrency } = config.audio
  throwIfAborted(options.signal)
  if (script.segments.length === 0) throw new AppError('NO_ARTICLE_TEXT', `"${script.title}" has no segments to speak.`)

  const controller = new AbortController()
  const onOuterAbort = () => controller.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', onOuterAbort, { once: true })
  const signal = controller.signal

  const items = planItems(script, profile, config)
  const total = items.length
  const piecesDir = path.join(config.cacheDir, 'pieces')
  const ownEncoder = deps.encoder ? undefined : createMp3Encoder({ threads: encodeConcurrency })
  const encoder = deps.encoder ?? ownEncoder!
  // Without a meter of its own, loudness is measured in the encoder threads (no thread more).
  const tools = { ...deps, meter: deps.meter ?? encoder.meter, encoder }
  const slot = semaphore(encodeConcurrency)

  let synthesized = 0
  let cachedClips = 0
  let piecesDone = 0
  let clipsReady = 0
  const progress = (phase: RenderProgress['phase'], joinFraction = 0) => {
    if (!options.onProgress) return
    const fraction = phase === 'done' ? 1 : (0.92 * piecesDone) / total + 0.08 * joinFraction
    options.onProgress({ phase, done: piecesDone, total, fraction, synthesized: clipsReady, encoded: piecesDone })
  }

  const storage = storageStep(config, deps.blobs, signal)
  let run: RunDir | undefined
  let store: PieceStore | undefined
  try {
    run = await createRunDir(config.cacheDir)
    await fs.mkdir(piecesDir, { recursive: true }).catch((err) => {
      throw fileError(err, piecesDir)
    })
    store = new PieceStore({ piecesDir, run, meter: tools.meter, slot, storage })
    const ctx: RenderContext = {
      deps: tools,
      profile,
      store,
      storage,
      slot,
      run,
      encoderSettings: encoderSettingsOf(config.audio),
      limitDb: truePeakDb - LIMITER_HEADROOM_DB,
      signal,
      onClip: (cached) => {
        if (cached) cachedClips++
        else synthesized++
        clipsReady++
        progress('synthesize')
      },
    }

    // Synthesis has its own worker pool inside the speech service; keep enough segments in flight to
    // feed it and the encoders, but not so many that the first piece waits behind the whole article.
    // At least 8: in a re-render most segments are cache hits that pass in a few ms each, and an
    // edited one should reach the engine at once, not queue behind its neighbours' lookups (~20 ms).
    // Jobs queue in order in the engine, so the first piece still comes first.
    const inFlight = Math.max(8, encodeConcurrency + Math.max(1, config.tts.espeakWorkers))
    progress('synthesize')
    const pieces = await orderedPool(
      total,
      inFlight,
      signal,
      async (i) => {
        const item = items[i]!
        try {
          const p = item.kind === 'segment' ? await segmentPiece(ctx, i, item.segment) : await jinglePiece(ctx, i, item.which, item.file)
          piecesDone++
          progress('encode')
          return p
        } catch (err) {
          // Stop the other segments (and kill their ffmpeg) as soon as one fails.
          controller.abort(err)
          throw err
        }
      },
      (i, p) => {
        const piece: EncodedPiece = { index: i, path: p.path, durationMs: msOf(p.samples) }
        options.onPiece?.(piece)
      },
    )

    progress('join')
    if (options.metadata?.coverPath) await storage.fetch(options.metadata.coverPath)
    const episode = await assembleEpisode({
      script,
      items,
      pieces,
      format,
      config,
      ffmpeg: deps.ffmpeg,
      run,
      encoderSettings: ctx.encoderSettings,
      metadata: options.metadata ?? {},
      slot,
      signal,
      onJoined: () => progress('join', 0.9),
    })
    progress('done', 1)
    return {
      ...episode,
      stats: {
        segments: script.segments.length,
        synthesized,
        cached: cachedClips,
        encoded: store.encoded,
        encodedParts: store.encodedParts,
        relevels: store.relevels,
        elapsedMs: Date.now() - started,
        encodeThreads: encodeConcurrency,
      },
    }
  } catch (err) {
    controller.abort(err)
    throw options.signal?.aborted ? new AppError('ABORTED', 'The render was cancelled.', { cause: err }) : toAppError(err)
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort)
    await store?.settle()
    await run?.remove()
    await ownEncoder?.close()
  }
}
