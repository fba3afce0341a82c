/**
 * Render stage 3, encode and measure. A speech piece is its leveled clip (render-level.ts) resampled
 * and encoded to bare MP3 frames in an encoder thread (LAME in WebAssembly,
 * src/audio/mp3-encoder.ts; no process per piece), possibly as several parts at once joined into the
 * one piece, then decoded and measured in the loudness worker; a piece whose true peak came within
 * TRUE_PEAK_MARGIN_DB of the target is leveled again with a lower ceiling. Jingles go through ffmpeg.
 * Pieces are cached under audio-cache/pieces/<key>.mp3 with their loudness beside them in <key>.json,
 * so a re-render encodes and measures only the pieces that changed (PieceStore).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { AppError } from '../errors.ts'
import { ENCODER_DELAY, SAMPLE_RATE, type FfmpegMedia, type Loudness } from '../audio/ffmpeg.ts'
import type { LoudnessMeter } from '../audio/loudness-meter.ts'
import type { Mp3Encoder } from '../audio/mp3-encoder.ts'
import { readMp3Frames } from '../audio/mp3.ts'
import type { RunDir } from '../audio/tempdir.ts'
import { FRAME_MARGIN, frameAlignedLength } from './render-plan.ts'
import { levelClip } from './render-level.ts'
import { renameInto, writeInto } from './render-files.ts'

/**
 * A new speech piece is measured as soon as it is encoded; when MP3 coding took its true peak within this
 * margin of the target (LAME's noise at 64 kbps overshoots the limiter's ceiling by up to ~1.5 dB on a
 * few clips), the clip is leveled again with the ceiling lowered by the excess and encoded again.
 */
export const TRUE_PEAK_MARGIN_DB = 0.3
export const MAX_RELEVELS = 2
const MAX_GAIN_DB = 30
const JINGLE_FADE_SEC = 0.03

export interface PieceInfo {
  index: number
  path: string
  key: string
  samples: number
  /** Speech inside the piece, relative to its start (samples at 44.1 kHz). */
  speechStart: number
  speechEnd: number
  encoded: boolean
  /**
   * Loudness of the encoded piece (from its sidecar when cached). A promise: a cached piece is measured
   * while the episode is joined, since only the summary needs the figure.
   */
  loudness: Promise<Loudness>
}

/** What encoding a new piece tells about it; `loudness` when it was measured on the way. */
export type EncodedSpan = { speechStart: number; speechEnd: number; parts: number; relevels?: number; loudness?: Loudness }

export type Slot = (<T>(fn: () => Promise<T>) => Promise<T>) & { idle(): number }

/** A tiny counting semaphore: bounds encoder jobs (threads, or ffmpeg for jingles) independently of synthesis. */
export function semaphore(max: number): Slot {
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

/**
 * Encodes the leveled clip as one piece of `content` samples plus `pauseSamples` of silence, whole frames,
 * in the parts `starts` plans (one encoder slot each) and writes their frames, in order, to `output`.
 * Part k covers output samples [starts[k], starts[k + 1]) of the piece, a whole number of frames; its
 * encoder delay and the frame margin take the place of the last `gap` samples before the next cut,
 * which are silence, so every sample of speech stays where the whole clip would have it.
 */
export async function encodeParts(o: {
  encoder: Mp3Encoder
  slot: Slot
  leveled: string
  output: string
  starts: number[]
  content: number
  pauseSamples: number
  bitrateKbps: number
  /** A run-dir file for part k (several parts only). */
  partFile: (k: number) => string
  signal: AbortSignal
}): Promise<void> {
  const { starts } = o
  const files = starts.length === 1 ? [o.output] : starts.map((_, k) => o.partFile(k))
  try {
    await Promise.all(
      starts.map((start, k) => {
        const totalSamples = k === starts.length - 1 ? frameAlignedLength(o.content - start, o.pauseSamples) : starts[k + 1]! - start - ENCODER_DELAY - FRAME_MARGIN
        return o.slot(() => o.encoder.encodePiece({ input: o.leveled, output: files[k]!, startSample: start, totalSamples, bitrateKbps: o.bitrateKbps }, o.signal))
      }),
    )
    // Bare MP3 frames: the piece is the parts' bytes in order (as the episode is the pieces').
    if (files.length > 1) await fs.writeFile(o.output, Buffer.concat(await Promise.all(files.map((f) => fs.readFile(f)))))
  } finally {
    if (files.length > 1) await Promise.all(files.map((f) => fs.rm(f, { force: true })))
  }
}

export interface SpeechPieceJob {
  meter: LoudnessMeter
  encoder: Mp3Encoder
  slot: Slot
  run: RunDir
  index: number
  segmentId: string
  clipWav: string
  pauseAfterMs: number
  targetLufs: number
  /** The true-peak target, dBTP. */
  truePeakDb: number
  /** The limiter's first ceiling (the target less LIMITER_HEADROOM_DB). */
  limitDb: number
  bitrateKbps: number
  signal: AbortSignal
}

/**
 * A speech piece into `output`: leveled (stage 2), encoded in as many parts as encoder slots are idle,
 * measured (mpg123 and BS.1770 in the loudness worker) and leveled again with a lower ceiling when MP3
 * coding took its true peak within TRUE_PEAK_MARGIN_DB of the target.
 */
export async function encodeSpeechPiece(job: SpeechPieceJob, output: string): Promise<EncodedSpan> {
  const leveled = job.run.file(`piece-${job.index}.wav`)
  const pauseSamples = Math.round((Math.max(0, job.pauseAfterMs) * SAMPLE_RATE) / 1000)
  let ceilingDb = job.limitDb
  for (let attempt = 0; ; attempt++) {
    try {
      const { content, starts } = await levelClip(job.meter, {
        wavPath: job.clipWav,
        segmentId: job.segmentId,
        targetLufs: job.targetLufs,
        ceilingDb,
        padMs: job.pauseAfterMs,
        output: leveled,
        // As many parts as encoder slots are idle, but no more than threads are running: a re-render that
        // encodes one piece is not worth starting a thread for (its start-up costs more than the part saves).
        parts: Math.max(1, Math.min(job.slot.idle(), job.encoder.running())),
      })
      await encodeParts({
        encoder: job.encoder,
        slot: job.slot,
        leveled,
        output,
        starts,
        content,
        pauseSamples,
        bitrateKbps: job.bitrateKbps,
        partFile: (k) => job.run.file(`piece-${job.index}-part${k}.mp3`),
        signal: job.signal,
      })
      // Decoded (mpg123 in WebAssembly) and measured in the loudness worker: measuring the PCM before
      // encoding would skip the decode, but MP3 coding moves loudness by 0.3-0.5 LU and true peak by up to
      // 0.8 dB on these pieces (docs/architecture-render.md), more than the 0.2 LU / 0.3 dB allowed.
      const loudness = await job.slot(() => job.meter.measureMp3(output))
      const excess = loudness.truePeakDb - (job.truePeakDb - TRUE_PEAK_MARGIN_DB)
      if (excess <= 0 || attempt === MAX_RELEVELS) return { speechStart: ENCODER_DELAY, speechEnd: ENCODER_DELAY + content, parts: starts.length, relevels: attempt, loudness }
      ceilingDb -= excess + 0.1
    } finally {
      await fs.rm(leveled, { force: true })
    }
  }
}

/** A jingle piece into `output` through ffmpeg: measured (ebur128), gained to the target, limited, faded out, whole frames. */
export async function encodeJinglePiece(
  o: { ffmpeg: FfmpegMedia; slot: Slot; file: string; which: 'intro' | 'outro'; gapSamples: number; targetLufs: number; limitDb: number; bitrateKbps: number; signal: AbortSignal },
  output: string,
): Promise<EncodedSpan> {
  const { ffmpeg, file, which, signal } = o
  const info = await ffmpeg.probe(file, signal).catch((err: unknown) => {
    throw err instanceof AppError && err.code === 'INVALID_AUDIO'
      ? new AppError('INVALID_AUDIO', `The ${which} jingle ${file} is not audio ffmpeg can read: ${err.message}`, { details: err.details, cause: err })
      : err
  })
  if (!info.audio || info.durationMs <= 0) throw new AppError('INVALID_AUDIO', `The ${which} jingle ${file} has no audio stream (${info.formatName}).`)
  const loud = await ffmpeg.measureLoudness(file, signal)
  const gainDb = Number.isFinite(loud.integratedLufs) ? Math.max(-MAX_GAIN_DB, Math.min(MAX_GAIN_DB, o.targetLufs - loud.integratedLufs)) : 0
  const content = Math.round((info.durationMs * SAMPLE_RATE) / 1000)
  const durSec = info.durationMs / 1000
  await o.slot(() =>
    ffmpeg.encodePiece(
      {
        input: file,
        output,
        gainDb,
        limitDb: o.limitDb,
        totalSamples: frameAlignedLength(content, o.gapSamples),
        bitrateKbps: o.bitrateKbps,
        fadeOut: { startSec: Math.max(0, durSec - JINGLE_FADE_SEC), durationSec: Math.min(JINGLE_FADE_SEC, durSec) },
      },
      signal,
    ),
  )
  return { speechStart: ENCODER_DELAY, speechEnd: ENCODER_DELAY + content, parts: 1 }
}

/**
 * The piece cache of one render: reuses a cached piece when its frames parse, else encodes it into the
 * run dir and renames it into audio-cache/pieces; a text that repeats in the script (same clip, same
 * pause) is one piece, encoded once. Every piece's loudness is kept beside it as <key>.json, so the
 * episode's loudness is known without decoding the whole episode again on every re-render.
 */
export class PieceStore {
  encoded = 0
  encodedParts = 0
  relevels = 0
  readonly #measurements: Promise<Loudness>[] = []
  readonly #inflight = new Map<string, Promise<PieceInfo>>()

  constructor(readonly o: { piecesDir: string; run: RunDir; meter: LoudnessMeter; slot: Slot; storage?: { fetch(file: string): Promise<void>; put(file: string): Promise<void> } }) {}

  sidecarOf(key: string): string {
    return path.join(this.o.piecesDir, `${key}.json`)
  }

  ensure(
    index: number,
    key: string,
    encode: (tmp: string) => Promise<EncodedSpan>,
    cachedSpeech: (samples: number) => { speechStart: number; speechEnd: number },
  ): Promise<PieceInfo> {
    let p = this.#inflight.get(key)
    if (!p) {
      p = this.#make(index, key, encode, cachedSpeech)
      this.#inflight.set(key, p)
    }
    return p.then((piece) => ({ ...piece, index }))
  }

  /** Every measurement started, settled (before the run dir goes). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#measurements)
  }

  async #make(
    index: number,
    key: string,
    encode: (tmp: string) => Promise<EncodedSpan>,
    cachedSpeech: (samples: number) => { speechStart: number; speechEnd: number },
  ): Promise<PieceInfo> {
    const target = path.join(this.o.piecesDir, `${key}.mp3`)
    // Object storage (when configured): a piece and its sidecar another worker made are fetched before the cache is asked.
    if (this.o.storage) await Promise.all([this.o.storage.fetch(target), this.o.storage.fetch(this.sidecarOf(key))])
    const cached = await readMp3Frames(target).catch(() => undefined)
    if (cached && cached.sampleRate === SAMPLE_RATE) {
      return { index, path: target, key, samples: cached.samples, ...cachedSpeech(cached.samples), encoded: false, loudness: this.#measureLater(target, key) }
    }
    const tmp = this.o.run.file(`piece-${index}.mp3`)
    // `encode` takes its own encoder slots (a long clip may use several, see encodeParts).
    const { parts, relevels, loudness: measured, ...speechSpan } = await encode(tmp)
    const frames = await readMp3Frames(tmp)
    if (!frames) throw new AppError('FFMPEG_FAILED', `The encoder wrote an unreadable MP3 piece for item ${index}.`)
    await renameInto(tmp, target)
    await this.o.storage?.put(target)
    this.encoded++
    this.encodedParts += parts
    this.relevels += relevels ?? 0
    return { index, path: target, key, samples: frames.samples, ...speechSpan, encoded: true, loudness: this.#measureLater(target, key, measured) }
  }

  #writeSidecar(key: string, measured: Loudness): Promise<void> {
    // JSON has no -Infinity: silence is stored as null and read back as -Infinity.
    return writeInto(this.o.run, this.sidecarOf(key), JSON.stringify(measured, (_k, v: unknown) => (v === -Infinity ? null : v))).then(() => this.o.storage?.put(this.sidecarOf(key)))
  }

  async #pieceLoudness(mp3: string, key: string): Promise<Loudness> {
    const known = await fs
      .readFile(this.sidecarOf(key), 'utf8')
      .then((t) => JSON.parse(t) as { integratedLufs: number | null; truePeakDb: number | null })
      .catch(() => undefined)
    if (known && 'integratedLufs' in known) return { integratedLufs: known.integratedLufs ?? -Infinity, truePeakDb: known.truePeakDb ?? -Infinity }
    const measured = await this.o.slot(() => this.o.meter.measureMp3(mp3))
    await this.#writeSidecar(key, measured)
    return { integratedLufs: measured.integratedLufs ?? -Infinity, truePeakDb: measured.truePeakDb ?? -Infinity }
  }

  /** The piece's loudness, started now and awaited at the end; a piece measured while it was encoded only has its sidecar written. */
  #measureLater(mp3: string, key: string, measured?: Loudness): Promise<Loudness> {
    const p = measured ? this.#writeSidecar(key, measured).then(() => measured) : this.#pieceLoudness(mp3, key)
    this.#measurements.push(p)
    p.catch(() => {}) // awaited (and its error thrown) where the figure is used
    return p
  }
}
