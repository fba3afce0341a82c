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
 */
import { promises as fs, type Stats } from 'node:fs'
import path from 'node:path'
import type { Config } from '../config.ts'
import type { BlobStore } from '../storage/types.ts'
import { AppError, throwIfAborted, toAppError } from '../errors.ts'
import type { Segment, Script } from '../script/types.ts'
import type { SpeechService, VoiceProfile } from '../tts/types.ts'
import { fileError, sha256 } from '../util/files.ts'
import { ENCODER_DELAY, SAMPLE_RATE, SAMPLES_PER_FRAME, type Ffmpeg, type Loudness } from '../audio/ffmpeg.ts'
import { createLoudnessMeter, type LoudnessMeter } from '../audio/loudness-meter.ts'
import { createMp3Encoder, type Mp3Encoder } from '../audio/mp3-encoder.ts'
import { readMp3Frames } from '../audio/mp3.ts'
import { imageMime, joinMp3 } from '../audio/mp3-join.ts'
import { createRunDir, type RunDir } from '../audio/tempdir.ts'
import { buildChaptersJson, buildFfmetadata, buildTimingsJson, buildVtt, sentenceSpans, type TimedSegment } from '../audio/transcript.ts'
import type { Chapter, EncodedPiece, EpisodeResult, RenderOptions, RenderProgress, SegmentTiming } from './types.ts'

export interface RenderDeps {
  speech: SpeechService
  ffmpeg: Ffmpeg
  config: Config
  /** Shared clip loudness meter (one worker); created per render when absent. */
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

/** Bumped when piece encoding changes, so old cached pieces are not reused. */
const PIECE_VERSION = 'piece-v3'
/** Headroom between the limiter's true-peak ceiling and the true-peak target: resampling and MP3 coding add overshoot. */
const LIMITER_HEADROOM_DB = 1.3
/**
 * A new speech piece is measured as soon as it is encoded; when MP3 coding took its true peak within this
 * margin of the target (LAME's noise at 64 kbps overshoots the limiter's ceiling by up to ~1.5 dB on a
 * few clips), the clip is leveled again with the ceiling lowered by the excess and encoded again.
 */
const TRUE_PEAK_MARGIN_DB = 0.3
const MAX_RELEVELS = 2
/** Samples short of the frame boundary we aim for: libmp3lame adds a frame when the input ends within ~30 samples of it. */
const FRAME_MARGIN = 64
/**
 * The gain and limiter are applied in JS (loudness-dsp.mjs), so the planned loudness is exactly the leveled
 * clip's; MP3 coding then takes ~0.45 LU off it (measured on espeak-ng clips at 32-128 kbps: the leveled WAV
 * -16.0 LUFS, the encoded piece -16.5), so aim that much higher.
 */
const LIMITER_BIAS_LU = 0.45
const MAX_GAIN_DB = 30
const JINGLE_GAP_MS = 400
const JINGLE_FADE_SEC = 0.03

interface PieceInfo {
  index: number
  path: string
  key: string
  samples: number
  /** Speech inside the piece, relative to its start (samples at 44.1 kHz). */
  speechStart: number
  speechEnd: number
  clipCached: boolean
  encoded: boolean
  /** Word start times from the engine, ms from the start of the clip. */
  wordStartsMs?: number[]
  /** Sentence start times from engines that report sentences instead of words (sherpa-onnx), ms from the start of the clip. */
  sentenceStartsMs?: number[]
  /**
   * ebur128 of the encoded piece (from its sidecar when cached). A promise: a new piece is measured
   * while the episode is joined, since only the summary needs the figure.
   */
  loudness: Promise<Loudness>
}

/** What encoding a new piece tells about it; `loudness` when it was measured on the way. */
type EncodedSpan = { speechStart: number; speechEnd: number; parts: number; loudness?: Loudness }

type Item = { kind: 'segment'; segment: Segment; segmentIndex: number } | { kind: 'jingle'; which: 'intro' | 'outro'; file: string }

const msOf = (samples: number) => (samples * 1000) / SAMPLE_RATE

/** Frame-aligned encoder input length for `contentSamples` followed by `pauseSamples` of silence. */
export function frameAlignedLength(contentSamples: number, pauseSamples: number): number {
  const minFrames = Math.ceil((contentSamples + ENCODER_DELAY + FRAME_MARGIN) / SAMPLES_PER_FRAME)
  const frames = Math.max(minFrames, Math.round((contentSamples + pauseSamples) / SAMPLES_PER_FRAME))
  return frames * SAMPLES_PER_FRAME - ENCODER_DELAY - FRAME_MARGIN
}

function resolveJingle(config: Config, file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(config.voicesDir, file)
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file)
    return true
  } catch {
    return false
  }
}

/** Runs tasks with bounded concurrency, starting them in order; resolves in order through `emit`. */
async function orderedPool<T>(
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

/** A tiny counting semaphore: bounds encoder jobs (threads, or ffmpeg for jingles) independently of synthesis. */
function semaphore(max: number) {
  let active = 0
  const waiting: (() => void)[] = []
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((r) => waiting.push(r))
    active++
    try {
      return await fn()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
  /** Slots nobody holds or waits for right now. */
  run.idle = () => Math.max(0, max - active - waiting.length)
  return run
}

function chapterTitle(group: Segment[], fallback: string): string {
  const head = group.find((s) => s.kind === 'title' || s.kind === 'heading')
  const text = (head?.displayText ?? head?.text ?? '').trim()
  if (text) return text
  if (fallback) return fallback
  const first = (group[0]?.displayText ?? group[0]?.text ?? '').trim()
  return first.length > 80 ? first.slice(0, 77).trimEnd() + '…' : first
}

/**
 * The episode's loudness from its pieces: the power mean of their integrated
 * loudness weighted by their audible length (every piece is normalized on its
 * own, so program gating changes this by far less than the 1 LU tolerance),
 * and the highest true peak (pieces are stream-copied, so their samples are
 * the episode's). Saves decoding the whole episode on every re-render.
 */
export function combineLoudness(pieces: { loudness: Loudness; speechStart: number; speechEnd: number }[]): Loudness {
  let power = 0
  let weight = 0
  let peak = -Infinity
  for (const p of pieces) {
    const { integratedLufs, truePeakDb } = p.loudness
    if (truePeakDb > peak) peak = truePeakDb
    if (!Number.isFinite(integratedLufs)) continue
    const w = Math.max(1, p.speechEnd - p.speechStart)
    power += w * Math.pow(10, integratedLufs / 10)
    weight += w
  }
  return { integratedLufs: weight > 0 ? Math.round(100 * 10 * Math.log10(power / weight)) / 100 : -Infinity, truePeakDb: peak }
}

/**
 * Sentence start times from the engine's word timings, when its words line up
 * one-to-one with the whitespace-separated words of the text (otherwise the
 * transcript shares a segment's time among its sentences by length).
 */
function sentenceStarts(text: string, wordStartsMs: number[] | undefined, engineSentenceStartsMs?: number[]): { sentenceStartsMs?: number[]; wordStartsMs?: number[] } {
  if (engineSentenceStartsMs && sentenceSpans(text).length === engineSentenceStartsMs.length) return { sentenceStartsMs: engineSentenceStartsMs }
  if (!wordStartsMs) return {}
  const words = (t: string) => t.split(/\s+/).filter(Boolean).length
  if (words(text) !== wordStartsMs.length) return {}
  const starts: number[] = []
  let w = 0
  for (const sentence of sentenceSpans(text)) {
    starts.push(wordStartsMs[Math.min(w, wordStartsMs.length - 1)]!)
    w += words(sentence)
  }
  return { sentenceStartsMs: starts, wordStartsMs }
}

/** One chapter per heading (sectionIndex), or per story when the script is a briefing (storyIndex). */
export function buildChapters(script: Script, timings: SegmentTiming[], durationMs: number): Chapter[] {
  const byStory = script.segments.some((s) => s.storyIndex !== undefined)
  const keyOf = (s: Segment) => (byStory ? (s.storyIndex ?? -1) : s.sectionIndex)
  const groups: { key: number; segments: Segment[]; startMs: number }[] = []
  script.segments.forEach((s, i) => {
    const k = keyOf(s)
    const last = groups[groups.length - 1]
    if (last && last.key === k) last.segments.push(s)
    else groups.push({ key: k, segments: [s], startMs: timings[i]!.startMs })
  })
  if (groups.length === 0) return []
  groups[0]!.startMs = 0 // the first chapter includes the intro jingle
  return groups.map((g, i) => ({
    // The first chapter is the episode's opening (title, byline, intro or a briefing's welcome): the script title names it.
    title: i === 0 && script.title.trim() ? script.title.trim() : chapterTitle(g.segments, ''),
    startMs: Math.round(g.startMs),
    endMs: Math.round(i + 1 < groups.length ? groups[i + 1]!.startMs : durationMs),
  }))
}

async function renameInto(from: string, to: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(to), { recursive: true })
    await fs.rename(from, to)
  } catch (err) {
    throw fileError(err, to)
  }
}

let tmpCounter = 0
async function writeInto(run: RunDir, target: string, data: string): Promise<void> {
  const tmp = run.file(`${path.basename(target)}.${++tmpCounter}.tmp`)
  try {
    await fs.writeFile(tmp, data)
  } catch (err) {
    throw fileError(err, target)
  }
  await renameInto(tmp, target)
}

export async function renderEpisode(
  script: Script,
  profile: VoiceProfile,
  deps: RenderDeps,
  options: RenderOptions = {},
): Promise<EpisodeResult> {
  const started = Date.now()
  const { speech, ffmpeg, config } = deps
  const format = options.format ?? config.audio.format
  const { bitrateKbps, targetLufs, truePeakDb, encodeConcurrency } = config.audio
  throwIfAborted(options.signal)
  if (script.segments.length === 0) throw new AppError('NO_ARTICLE_TEXT', `"${script.title}" has no segments to speak.`)

  const controller = new AbortController()
  const onOuterAbort = () => controller.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', onOuterAbort, { once: true })
  const signal = controller.signal

  const items: Item[] = [
    ...(profile.intro ? [{ kind: 'jingle' as const, which: 'intro' as const, file: resolveJingle(config, profile.intro) }] : []),
    ...script.segments.map((segment, segmentIndex) => ({ kind: 'segment' as const, segment, segmentIndex })),
    ...(profile.outro ? [{ kind: 'jingle' as const, which: 'outro' as const, file: resolveJingle(config, profile.outro) }] : []),
  ]
  const total = items.length
  const piecesDir = path.join(config.cacheDir, 'pieces')
  const episodesDir = path.join(config.cacheDir, 'episodes')
  const ownMeter = deps.meter ? undefined : createLoudnessMeter()
  const meter = deps.meter ?? ownMeter!
  const ownEncoder = deps.encoder ? undefined : createMp3Encoder({ threads: encodeConcurrency })
  const encoder = deps.encoder ?? ownEncoder!
  const encodeSlot = semaphore(encodeConcurrency)
  const encoderSettings = `${bitrateKbps}k|${targetLufs}|${truePeakDb}|${SAMPLE_RATE}`
  const limitDb = truePeakDb - LIMITER_HEADROOM_DB

  let synthesized = 0
  let cachedClips = 0
  let encoded = 0
  let encodedParts = 0
  let relevels = 0
  let piecesDone = 0
  let clipsReady = 0
  const progress = (phase: RenderProgress['phase'], joinFraction = 0) => {
    if (!options.onProgress) return
    const fraction = phase === 'done' ? 1 : (0.92 * piecesDone) / total + 0.08 * joinFraction
    options.onProgress({ phase, done: piecesDone, total, fraction, synthesized: clipsReady, encoded: piecesDone })
  }

  // Storage step (src/storage): read-through from and write-through to object storage; no-ops without it.
  const { blobs } = deps
  const cacheRoot = path.resolve(config.cacheDir) + path.sep
  const blobKey = (file: string) => path.relative(config.cacheDir, file).split(path.sep).join('/')
  const fetchFromStorage = async (file: string): Promise<void> => {
    if (!blobs || !path.resolve(file).startsWith(cacheRoot) || (await exists(file))) return
    await blobs.materialize(blobKey(file), signal).catch((err: unknown) => {
      if (!(err instanceof AppError && err.code === 'NOT_FOUND')) throw err
    })
  }
  const putToStorage = async (file: string): Promise<void> => {
    if (blobs) await blobs.putFile(blobKey(file), file, { signal })
  }

  let run: RunDir | undefined
  const measurements: Promise<Loudness>[] = []
  try {
    run = await createRunDir(config.cacheDir)
    const runDir = run
    await fs.mkdir(piecesDir, { recursive: true }).catch((err) => {
      throw fileError(err, piecesDir)
    })

    /**
     * Loudness of an encoded piece (ebur128 on the MP3 itself), cached beside it as <key>.json so the
     * episode's loudness is known without decoding the whole episode again on every re-render.
     */
    const sidecarOf = (key: string) => path.join(piecesDir, `${key}.json`)
    const writeSidecar = (key: string, measured: Loudness) =>
      // JSON has no -Infinity: silence is stored as null and read back as -Infinity.
      writeInto(runDir, sidecarOf(key), JSON.stringify(measured, (_k, v: unknown) => (v === -Infinity ? null : v))).then(() => putToStorage(sidecarOf(key)))
    const pieceLoudness = async (mp3: string, key: string): Promise<Loudness> => {
      const sidecar = sidecarOf(key)
      const known = await fs
        .readFile(sidecar, 'utf8')
        .then((t) => JSON.parse(t) as { integratedLufs: number | null; truePeakDb: number | null })
        .catch(() => undefined)
      if (known && 'integratedLufs' in known) return { integratedLufs: known.integratedLufs ?? -Infinity, truePeakDb: known.truePeakDb ?? -Infinity }
      // Decoded (mpg123 in WebAssembly) and measured in the loudness worker: measuring the PCM before
      // encoding would skip the decode, but MP3 coding moves loudness by 0.3-0.5 LU and true peak by up to
      // 0.8 dB on these pieces (docs/architecture-render.md), more than the 0.2 LU / 0.3 dB allowed.
      const measured = await encodeSlot(() => meter.measureMp3(mp3))
      await writeSidecar(key, measured)
      return { integratedLufs: measured.integratedLufs ?? -Infinity, truePeakDb: measured.truePeakDb ?? -Infinity }
    }

    /**
     * pieceLoudness, started now and awaited at the end (and always settled before the run dir goes); a piece
     * measured while it was encoded only has its sidecar written.
     */
    const measureLater = (mp3: string, key: string, measured?: Loudness): Promise<Loudness> => {
      const p = measured ? writeSidecar(key, measured).then(() => measured) : pieceLoudness(mp3, key)
      measurements.push(p)
      p.catch(() => {}) // awaited (and its error thrown) where the figure is used
      return p
    }

    /** Reuses a cached piece when its frames parse; otherwise encodes it into the run dir and renames it into the cache. */
    // A text that repeats in the script (same clip, same pause) is one piece: encode it once.
    const inflightPieces = new Map<string, Promise<Omit<PieceInfo, 'clipCached'>>>()
    const ensurePiece = (
      index: number,
      key: string,
      encode: (tmp: string) => Promise<EncodedSpan>,
      cachedSpeech: (samples: number) => { speechStart: number; speechEnd: number },
    ): Promise<Omit<PieceInfo, 'clipCached'>> => {
      let p = inflightPieces.get(key)
      if (!p) {
        p = makePiece(index, key, encode, cachedSpeech)
        inflightPieces.set(key, p)
      }
      return p.then((piece) => ({ ...piece, index }))
    }
    const makePiece = async (
      index: number,
      key: string,
      encode: (tmp: string) => Promise<EncodedSpan>,
      cachedSpeech: (samples: number) => { speechStart: number; speechEnd: number },
    ): Promise<Omit<PieceInfo, 'clipCached'>> => {
      const target = path.join(piecesDir, `${key}.mp3`)
      await Promise.all([fetchFromStorage(target), fetchFromStorage(sidecarOf(key))])
      const cached = await readMp3Frames(target).catch(() => undefined)
      if (cached && cached.sampleRate === SAMPLE_RATE) {
        return { index, path: target, key, samples: cached.samples, ...cachedSpeech(cached.samples), encoded: false, loudness: measureLater(target, key) }
      }
      const tmp = runDir.file(`piece-${index}.mp3`)
      // `encode` takes its own encoder slots (a long clip may use several, see segmentPiece).
      const { parts, loudness: measured, ...speechSpan } = await encode(tmp)
      const frames = await readMp3Frames(tmp)
      if (!frames) throw new AppError('FFMPEG_FAILED', `The encoder wrote an unreadable MP3 piece for item ${index}.`)
      await renameInto(tmp, target)
      await putToStorage(target)
      encoded++
      encodedParts += parts
      return { index, path: target, key, samples: frames.samples, ...speechSpan, encoded: true, loudness: measureLater(target, key, measured) }
    }

    const segmentPiece = async (index: number, segment: Segment): Promise<PieceInfo> => {
      const clip = await speech.synthesizeSegment(segment, profile, signal)
      throwIfAborted(signal)
      if (clip.cached) cachedClips++
      else synthesized++
      clipsReady++
      progress('synthesize')
      const pauseSamples = Math.round((Math.max(0, segment.pauseAfterMs) * SAMPLE_RATE) / 1000)
      const key = sha256(PIECE_VERSION, clip.key, String(segment.pauseAfterMs), encoderSettings)
      const clipSamples = Math.round((clip.durationMs * SAMPLE_RATE) / 1000)
      const piece = await ensurePiece(
        index,
        key,
        async (tmp) => {
          // The meter writes the clip with its gain and true-peak limiter applied; an encoder thread then only
          // resamples and encodes.
          // When encoder slots are idle (a re-render with one changed clip, the last clips of a render), a long
          // clip is encoded in parts at once, one per idle slot, cut inside pauses (see splitPoints).
          const leveled = runDir.file(`piece-${index}.wav`)
          let ceilingDb = limitDb
          for (let attempt = 0; ; attempt++) {
            const parts = Math.max(1, encodeSlot.idle())
            const m = await meter
              .measure(clip.wavPath, {
                targetLufs: targetLufs + LIMITER_BIAS_LU,
                ceilingDb,
                padMs: segment.pauseAfterMs,
                output: leveled,
                ...(parts > 1 ? { split: { parts, outRate: SAMPLE_RATE, frame: SAMPLES_PER_FRAME, gap: ENCODER_DELAY + FRAME_MARGIN } } : {}),
              })
              .catch((err: unknown) => {
                throw err instanceof AppError && err.code === 'INVALID_AUDIO'
                  ? new AppError('INVALID_AUDIO', `The clip for segment ${segment.id} is unreadable: ${err.message}`, { cause: err })
                  : err
              })
            const content = Math.round((m.samples * SAMPLE_RATE) / m.sampleRate)
            // Part k covers output samples [starts[k], starts[k + 1]) of the piece, a whole number of frames; its
            // encoder delay and the frame margin take the place of the last `gap` samples before the next cut,
            // which are silence, so every sample of speech stays where the whole clip would have it.
            const starts = [0, ...(m.splits ?? [])]
            const files = starts.length === 1 ? [tmp] : starts.map((_, k) => runDir.file(`piece-${index}-part${k}.mp3`))
            try {
              await Promise.all(
                starts.map((start, k) => {
                  const totalSamples = k === starts.length - 1 ? frameAlignedLength(content - start, pauseSamples) : starts[k + 1]! - start - ENCODER_DELAY - FRAME_MARGIN
                  return encodeSlot(() => encoder.encodePiece({ input: leveled, output: files[k]!, startSample: start, totalSamples, bitrateKbps }, signal))
                }),
              )
              // Bare MP3 frames: the piece is the parts' bytes in order (as the episode is the pieces').
              if (files.length > 1) await fs.writeFile(tmp, Buffer.concat(await Promise.all(files.map((f) => fs.readFile(f)))))
            } finally {
              await Promise.all([leveled, ...(files.length > 1 ? files : [])].map((f) => fs.rm(f, { force: true })))
            }
            const loudness = await encodeSlot(() => meter.measureMp3(tmp))
            const excess = loudness.truePeakDb - (truePeakDb - TRUE_PEAK_MARGIN_DB)
            if (excess <= 0 || attempt === MAX_RELEVELS) {
              relevels += attempt
              return { speechStart: ENCODER_DELAY, speechEnd: ENCODER_DELAY + content, parts: starts.length, loudness }
            }
            ceilingDb -= excess + 0.1
          }
        },
        (samples) => ({ speechStart: ENCODER_DELAY, speechEnd: Math.min(samples, ENCODER_DELAY + clipSamples) }),
      )
      return {
        ...piece,
        clipCached: clip.cached,
        ...(clip.words?.length ? { wordStartsMs: clip.words.map((w) => w.startMs) } : {}),
        ...(clip.sentences?.length ? { sentenceStartsMs: clip.sentences.map((w) => w.startMs) } : {}),
      }
    }

    const jinglePiece = async (index: number, which: 'intro' | 'outro', file: string): Promise<PieceInfo> => {
      let stat: Stats
      try {
        await fetchFromStorage(file)
        stat = await fs.stat(file)
      } catch {
        throw new AppError('INVALID_AUDIO', `The ${which} jingle of voice profile "${profile.id}" does not exist: ${file}`, {
          help: `Fix "${which}" in voices/${profile.id}.json or add the file.`,
        })
      }
      const key = sha256(PIECE_VERSION, 'jingle', which, file, String(stat.size), String(stat.mtimeMs), encoderSettings)
      const gapSamples = which === 'intro' ? Math.round((JINGLE_GAP_MS * SAMPLE_RATE) / 1000) : 0
      const piece = await ensurePiece(
        index,
        key,
        async (tmp) => {
          const info = await ffmpeg.probe(file, signal).catch((err: unknown) => {
            throw err instanceof AppError && err.code === 'INVALID_AUDIO'
              ? new AppError('INVALID_AUDIO', `The ${which} jingle ${file} is not audio ffmpeg can read: ${err.message}`, { details: err.details, cause: err })
              : err
          })
          if (!info.audio || info.durationMs <= 0)
            throw new AppError('INVALID_AUDIO', `The ${which} jingle ${file} has no audio stream (${info.formatName}).`)
          const loud = await ffmpeg.measureLoudness(file, signal)
          const gainDb = Number.isFinite(loud.integratedLufs) ? Math.max(-MAX_GAIN_DB, Math.min(MAX_GAIN_DB, targetLufs - loud.integratedLufs)) : 0
          const content = Math.round((info.durationMs * SAMPLE_RATE) / 1000)
          const durSec = info.durationMs / 1000
          await encodeSlot(() =>
            ffmpeg.encodePiece(
              {
                input: file,
                output: tmp,
                gainDb,
                limitDb,
                totalSamples: frameAlignedLength(content, gapSamples),
                bitrateKbps,
                fadeOut: { startSec: Math.max(0, durSec - JINGLE_FADE_SEC), durationSec: Math.min(JINGLE_FADE_SEC, durSec) },
              },
              signal,
            ),
          )
          return { speechStart: ENCODER_DELAY, speechEnd: ENCODER_DELAY + content, parts: 1 }
        },
        (samples) => ({ speechStart: ENCODER_DELAY, speechEnd: samples }),
      )
      return { ...piece, clipCached: true }
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
          const p = item.kind === 'segment' ? await segmentPiece(i, item.segment) : await jinglePiece(i, item.which, item.file)
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

    // Timings from the real frame counts.
    let cursor = 0
    const timed: TimedSegment[] = []
    items.forEach((item, i) => {
      const p = pieces[i]!
      if (item.kind === 'segment') {
        const s = item.segment
        timed.push({
          id: s.id,
          kind: s.kind,
          sectionIndex: s.sectionIndex,
          ...(s.blockIndex === undefined ? {} : { blockIndex: s.blockIndex }),
          ...(s.storyIndex === undefined ? {} : { storyIndex: s.storyIndex }),
          startMs: Math.round(msOf(cursor)),
          endMs: Math.round(msOf(cursor + p.samples)),
          text: (s.displayText ?? s.text).trim(),
          speechStartMs: msOf(cursor + p.speechStart),
          speechEndMs: msOf(cursor + p.speechEnd),
          ...sentenceStarts((s.displayText ?? s.text).trim(), p.wordStartsMs, p.sentenceStartsMs),
        })
      }
      cursor += p.samples
    })
    const durationMs = Math.round(msOf(cursor))
    // The first cue starts at 0 and the last ends with the file, so the transcript covers all of it.
    if (timed.length > 0 && !profile.intro) timed[0]!.startMs = 0
    if (timed.length > 0 && !profile.outro) timed[timed.length - 1]!.endMs = durationMs
    const timings: SegmentTiming[] = timed.map(({ speechStartMs: _a, speechEndMs: _b, sentenceStartsMs: _c, wordStartsMs: _d, ...t }) => t)
    const chapters = buildChapters(script, timings, durationMs)

    const meta = options.metadata ?? {}
    let siteHost: string | undefined
    try {
      siteHost = script.url ? new URL(script.url).hostname.replace(/^www\./, '') : undefined
    } catch {}
    const tags: Record<string, string | undefined> = {
      title: meta.title ?? script.title,
      artist: meta.artist ?? siteHost ?? config.show.author,
      album: meta.album ?? config.show.title,
      date: meta.date ?? script.publishedAt?.slice(0, 10),
      comment: meta.comment,
      language: script.language,
      genre: 'Podcast',
    }
    let coverId = ''
    if (meta.coverPath) {
      try {
        await fetchFromStorage(meta.coverPath)
        const st = await fs.stat(meta.coverPath)
        coverId = `${meta.coverPath}|${st.size}|${st.mtimeMs}`
      } catch {
        throw new AppError('INVALID_IMAGE', `The cover art ${meta.coverPath} does not exist.`)
      }
      // Checked before the join so a bad image gets its own error instead of a failed ffmpeg run.
      await ffmpeg.checkImage(meta.coverPath, signal)
    }
    const ext = format === 'm4a' ? 'm4a' : 'mp3'
    const hash = sha256('episode-v2', format, encoderSettings, JSON.stringify(tags), coverId, JSON.stringify(chapters), ...pieces.map((p) => p.key)).slice(0, 32)
    const audioPath = path.join(episodesDir, `${hash}.${ext}`)
    const vttPath = path.join(episodesDir, `${hash}.vtt`)
    const chaptersPath = path.join(episodesDir, `${hash}.chapters.json`)
    const timingsPath = path.join(episodesDir, `${hash}.timings.json`)
    const infoPath = path.join(episodesDir, `${hash}.info.json`)

    progress('join')
    let loudness: Loudness | undefined
    let finalDuration = durationMs
    const info = (await fs.readFile(infoPath, 'utf8').then((t) => JSON.parse(t) as { loudness: Loudness; durationMs: number }).catch(() => undefined)) ?? undefined
    if (info && (await exists(audioPath))) {
      loudness = info.loudness
      finalDuration = info.durationMs
    } else {
      const tmpOut = runDir.file(`episode.${ext}`)
      if (format === 'mp3') {
        // Pieces are bare MP3 frames: the episode is a tag, an Info frame and their bytes (mp3-join.ts), no ffmpeg.
        const coverData = meta.coverPath ? await fs.readFile(meta.coverPath) : undefined
        await joinMp3({
          pieces: pieces.map((p) => ({ path: p.path, frames: p.samples / SAMPLES_PER_FRAME })),
          output: tmpOut,
          tags,
          chapters,
          cover: coverData ? { mime: imageMime(coverData), data: coverData } : undefined,
          signal,
        })
      } else {
        // AAC is a transcode of the joined pieces, with the tags and chapters: ffmpeg.
        const listPath = runDir.file('pieces.txt')
        const metaPath = runDir.file('metadata.txt')
        // concat demuxer list: https://ffmpeg.org/ffmpeg-formats.html#concat-1 (single quotes escaped as '\'')
        await fs.writeFile(listPath, pieces.map((p) => `file '${p.path.replace(/'/g, "'\\''")}'\n`).join(''))
        await fs.writeFile(metaPath, buildFfmetadata(tags, chapters))
        await encodeSlot(() => ffmpeg.join({ listPath, metadataPath: metaPath, coverPath: meta.coverPath, output: tmpOut, bitrateKbps }, signal))
      }
      loudness = combineLoudness(await Promise.all(pieces.map(async (p) => ({ ...p, loudness: await p.loudness }))))
      if (format === 'm4a') finalDuration = (await ffmpeg.probe(tmpOut, signal)).durationMs
      throwIfAborted(signal)
      await renameInto(tmpOut, audioPath)
      await writeInto(runDir, infoPath, JSON.stringify({ loudness, durationMs: finalDuration }))
    }
    progress('join', 0.9)
    await fs.mkdir(episodesDir, { recursive: true })
    await writeInto(runDir, vttPath, buildVtt(timed))
    await writeInto(runDir, chaptersPath, JSON.stringify(buildChaptersJson(chapters), null, 2))
    await writeInto(runDir, timingsPath, JSON.stringify(buildTimingsJson(timings, finalDuration)))
    const bytes = (await fs.stat(audioPath)).size
    progress('done', 1)
    return {
      hash,
      format,
      mimeType: format === 'm4a' ? 'audio/mp4' : 'audio/mpeg',
      audioPath,
      vttPath,
      chaptersPath,
      timingsPath,
      bytes,
      durationMs: finalDuration,
      loudness: loudness ?? { integratedLufs: NaN, truePeakDb: NaN },
      chapters,
      timings,
      stats: {
        segments: script.segments.length,
        synthesized,
        cached: cachedClips,
        encoded,
        encodedParts,
        relevels,
        elapsedMs: Date.now() - started,
      },
    }
  } catch (err) {
    controller.abort(err)
    throw options.signal?.aborted ? new AppError('ABORTED', 'The render was cancelled.', { cause: err }) : toAppError(err)
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort)
    await Promise.allSettled(measurements)
    await run?.remove()
    await ownMeter?.close()
    await ownEncoder?.close()
  }
}
