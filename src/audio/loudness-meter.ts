/**
 * One worker thread that measures clip loudness. A measurement takes about a
 * millisecond per second of audio, so one worker keeps up with any number of
 * encoders; it is unref'd so an idle meter never keeps the process alive.
 */
import type { Worker } from 'node:worker_threads'
import { startWorker } from '../util/worker.ts'
import { AppError, type ErrorCode } from '../errors.ts'
import { fileError } from '../util/files.ts'
import type { ClipMeasurement, GainPlan } from './loudness-dsp.mjs'

export type { ClipMeasurement }

export interface LoudnessMeter {
  /**
   * Loudness of a WAV clip; with `plan`, also the gain that puts it on target after the limiter, and
   * with `plan.output`, the clip with that gain and limiter applied, written there as a WAV file.
   */
  measure(wavPath: string, plan?: GainPlan): Promise<ClipMeasurement>
  /** Integrated loudness and true peak (4x oversampled) of an MP3 piece, decoded in the worker (mpg123 in WebAssembly). */
  measureMp3(mp3Path: string): Promise<{ integratedLufs: number; truePeakDb: number }>
  close(): Promise<void>
}

export function createLoudnessMeter(): LoudnessMeter {
  let worker: Worker | undefined
  let nextId = 1
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>()

  const failAll = (err: unknown) => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
    worker = undefined
  }
  const ensure = (): Worker => {
    if (worker) return worker
    // A plain-JS entry: no TypeScript loader in this worker (see loudness-dsp.mjs).
    const w = startWorker(new URL('./loudness-worker.mjs', import.meta.url), { execArgv: [] })
    w.unref()
    w.on('message', (msg: { id: number; result?: ClipMeasurement; error?: { code?: string; message: string; errno?: string; target?: string } }) => {
      const p = pending.get(msg.id)
      if (!p) return
      pending.delete(msg.id)
      if (pending.size === 0) w.unref()
      if (msg.error?.code === 'FILE_ERROR') p.reject(fileError(Object.assign(new Error(msg.error.message), { code: msg.error.errno }), msg.error.target ?? ''))
      else if (msg.error) p.reject(new AppError((msg.error.code as ErrorCode) ?? 'UNEXPECTED_ERROR', msg.error.message))
      else p.resolve(msg.result)
    })
    w.on('error', (err) => failAll(err))
    w.on('exit', (code) => {
      if (worker === w) failAll(new AppError('UNEXPECTED_ERROR', `Loudness worker exited with ${code}.`))
    })
    worker = w
    return w
  }

  const post = <T>(message: object): Promise<T> => {
    const w = ensure()
    const id = nextId++
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      w.ref()
      w.postMessage({ id, ...message })
    })
  }

  // Start the thread now: a render creates its meter first thing, and the thread's start-up then
  // overlaps synthesis instead of delaying the first measurement (~40 ms + cold JIT).
  ensure()

  return {
    measure(wavPath, plan) {
      return post<ClipMeasurement>({ file: wavPath, plan })
    },
    measureMp3(mp3Path) {
      return post<{ integratedLufs: number; truePeakDb: number }>({ file: mp3Path, mp3: true })
    },
    async close() {
      const w = worker
      worker = undefined
      failAll(new AppError('ABORTED', 'Loudness meter closed.'))
      if (w) await w.terminate()
    },
  }
}
