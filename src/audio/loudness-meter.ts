/**
 * One worker thread that measures clip loudness. A measurement takes about a
 * millisecond per second of audio, so one worker keeps up with any number of
 * encoders; it is unref'd so an idle meter never keeps the process alive.
 */
import type { Worker } from 'node:worker_threads'
import { startWorker } from '../util/worker.ts'
import { AppError } from '../errors.ts'
import { Channel, resultOf, workerEndpoint, type ResultReply } from '../util/channel.ts'
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
  let channel: Channel<object, ResultReply> | undefined

  const ensure = (): Channel<object, ResultReply> => {
    if (channel && !channel.closed) return channel
    // A plain-JS entry: no TypeScript loader in this worker (see loudness-dsp.mjs).
    const w = startWorker(new URL('./loudness-worker.mjs', import.meta.url), { execArgv: [] })
    worker = w
    channel = new Channel<object, ResultReply>(workerEndpoint(w), {
      closedError: (cause) => cause.error ?? new AppError('UNEXPECTED_ERROR', `Loudness worker exited with ${cause.code}.`),
    })
    return channel
  }

  const post = async <T>(message: object): Promise<T> => resultOf<T>(await ensure().request(message))

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
      channel?.close(new AppError('ABORTED', 'Loudness meter closed.'))
      if (w) await w.terminate()
    },
  }
}
