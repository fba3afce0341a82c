/**
 * Encodes MP3 pieces in worker threads, with LAME compiled to WebAssembly
 * (src/audio/mp3-encoder-worker.mjs): no process per piece, so a render's cost does not
 * depend on how slowly an ffmpeg binary starts, and the event loop never waits on encoding.
 * A piece is a clip (16-bit WAV at any rate, already leveled) resampled to 44.1 kHz, cut or padded to
 * an exact number of samples and encoded as bare CBR frames; the encoder delay is LAME's (1105
 * samples, ENCODER_DELAY), as with ffmpeg's libmp3lame, so the frame arithmetic of render.ts holds.
 * Jobs go to the first idle thread; one thread starts with the encoder, the others (up to `threads`) when
 * a job finds them all busy; they are unref'd while idle. Decoding a piece to measure it (meter.measureMp3)
 * runs on the first thread only, so one thread, not each, holds an MP3 decoder.
 */
import type { Worker } from 'node:worker_threads'
import { AppError, throwIfAborted } from '../errors.ts'
import type { ClipMeasurement, LoudnessMeter } from './loudness-meter.ts'
import { Channel, resultOf, workerEndpoint, type ResultReply } from '../util/channel.ts'
import { startWorker, stopWorker } from '../util/worker.ts'
import { compileLame } from './lame-wasm.mjs'

export interface Mp3PieceOptions {
  /** A 16-bit PCM WAV file (mono, or the first channel is used), any sample rate. */
  input: string
  output: string
  /** Exact number of 44.1 kHz samples the encoder receives (silence past the clip's end). */
  totalSamples: number
  /** Start this many 44.1 kHz samples into the resampled clip (one part of a clip encoded in parts). */
  startSample?: number
  bitrateKbps: number
}

export interface Mp3Encoder {
  encodePiece(options: Mp3PieceOptions, signal?: AbortSignal): Promise<void>
  /**
   * A loudness meter on these same threads (the requests of loudness-meter.ts, queued with the encodes):
   * a render process then needs no loudness thread, whose V8 isolate and buffers cost its peak RSS
   * 10-20 MB. Its close() is a no-op; the encoder's close() stops the threads.
   */
  readonly meter: LoudnessMeter
  /** Threads running now (they start as jobs need them, up to `threads`). */
  running(): number
  /** Changes how many threads may run (threads already running stay until close). */
  setThreads(threads: number): void
  close(): Promise<void>
}

type Job = { message: Record<string, unknown>; resolve(v: unknown): void; reject(e: unknown): void }
/** A thread and its channel (one job at a time). */
type Thread = { worker: Worker; channel: Channel<object, ResultReply> }

/** `start`: threads started at once (default 1; the others start when jobs find every running thread busy). */
export function createMp3Encoder(options: { threads: number; start?: number }): Mp3Encoder {
  let threads = Math.max(1, options.threads)
  const start = Math.max(1, Math.min(threads, options.start ?? 1))
  const idle: Thread[] = []
  const all = new Set<Thread>()
  const queue: Job[] = []
  // The thread that decodes MP3 pieces to measure them (mpg123's instance and compiled code take ~25 MB
  // per thread that has one, so only this one does), and the measurements waiting for it.
  let first: Thread | undefined
  const firstQueue: Job[] = []
  let closed = false
  // LAME compiled once per process, in the background, and given to every thread (see compileLame). Should
  // that fail, each thread compiles the file itself and reports the error with its first piece.
  let lame: WebAssembly.Module | undefined
  const compiled = compileLame().then(
    (m) => void (lame = m),
    () => {},
  )

  const fail = (t: Thread) => {
    all.delete(t)
    const i = idle.indexOf(t)
    if (i >= 0) idle.splice(i, 1)
    if (t === first) {
      first = undefined
      // Its waiting measurements fail with it (a new first thread starts with the next one).
      const err = new AppError('UNEXPECTED_ERROR', 'The MP3 encoder thread that measures pieces exited.')
      for (const job of firstQueue.splice(0)) job.reject(err)
    }
  }

  const spawn = (): Thread => {
    // A plain-JS entry: no TypeScript loader in these threads.
    const w = startWorker(new URL('./mp3-encoder-worker.mjs', import.meta.url), { execArgv: [], ...(lame ? { workerData: { lame } } : {}) })
    const t: Thread = {
      worker: w,
      channel: new Channel<object, ResultReply>(workerEndpoint(w), {
        onReply: () => release(t),
        closedError: (cause) => cause.error ?? new AppError('UNEXPECTED_ERROR', `MP3 encoder thread exited with ${cause.code}.`),
      }),
    }
    all.add(t)
    first ??= t
    w.on('error', () => fail(t))
    w.on('exit', () => fail(t))
    return t
  }

  const release = (t: Thread) => {
    if (!all.has(t)) return
    const job = (t === first ? firstQueue.shift() : undefined) ?? queue.shift()
    if (job) return run(t, job)
    idle.push(t)
  }

  const run = (t: Thread, job: Job) => {
    t.channel
      .request(job.message)
      .then((reply) => resultOf(reply))
      .then(job.resolve, job.reject)
  }

  const post = async <T>(message: Record<string, unknown>, signal?: AbortSignal, onFirst = false): Promise<T> => {
    throwIfAborted(signal)
    if (closed) throw new AppError('ABORTED', 'The MP3 encoder is closed.')
    await compiled
    if (closed) throw new AppError('ABORTED', 'The MP3 encoder is closed.')
    return new Promise<T>((resolve, reject) => {
      const job: Job = { message, resolve: resolve as (v: unknown) => void, reject }
      if (onFirst) {
        // The first thread (started if there is none): at once when idle, else next in its own queue.
        if (!first) return run(spawn(), job)
        const i = idle.indexOf(first)
        if (i >= 0) {
          idle.splice(i, 1)
          run(first, job)
        } else firstQueue.push(job)
        return
      }
      const w = idle.pop() ?? (all.size < threads ? spawn() : undefined)
      if (w) run(w, job)
      else queue.push(job)
    })
  }

  // Start one thread now (once LAME is compiled, a few ms), idle: its start-up overlaps synthesis instead
  // of delaying the first piece. The others start when a piece finds every running thread busy (post), so
  // a re-render that encodes one piece starts one thread (~0.1 s of CPU each: a Node bootstrap).
  void compiled.then(() => {
    while (all.size < start && !closed) idle.push(spawn())
  })

  return {
    running: () => all.size,
    setThreads(n) {
      threads = Math.max(1, n)
    },
    async encodePiece(o, signal) {
      await post({ op: 'encode', input: o.input, output: o.output, totalSamples: o.totalSamples, startSample: o.startSample ?? 0, bitrateKbps: o.bitrateKbps }, signal)
    },
    meter: {
      measure: (wavPath, plan) => post<ClipMeasurement>({ op: 'loudness', file: wavPath, plan }),
      // On the first thread only: one mpg123 instance per encoder, not one per thread.
      measureMp3: (mp3Path) => post<{ integratedLufs: number; truePeakDb: number }>({ op: 'loudness', file: mp3Path, mp3: true }, undefined, true),
      close: async () => {},
    },
    async close() {
      closed = true
      const err = new AppError('ABORTED', 'The MP3 encoder was closed.')
      for (const job of [...queue.splice(0), ...firstQueue.splice(0)]) job.reject(err)
      await Promise.all([...all].map((t) => stopWorker(t.worker, t.channel)))
    },
  }
}
