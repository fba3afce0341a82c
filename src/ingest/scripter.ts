/**
 * articleToScript off the main thread: one lazily started worker, requests
 * answered in order, over a Channel (src/util/channel.ts), which keeps the
 * worker unref'd while idle so it never keeps the process alive.
 */
import { AppError, type ErrorCode } from '../errors.ts'
import type { ArticleInput, Script, SegmentOptions } from '../script/types.ts'
import { Channel, workerEndpoint } from '../util/channel.ts'
import { startWorker, stopWorker } from '../util/worker.ts'
import type { Worker } from 'node:worker_threads'

type Reply = { id: number; script?: Script; error?: { code: ErrorCode; message: string; status: number; details?: unknown; help?: string } }

export class Scripter {
  #worker: Worker | undefined
  #channel: Channel<object, Reply> | undefined

  #ensure(): Channel<object, Reply> {
    if (this.#channel && !this.#channel.closed) return this.#channel
    const w = startWorker(new URL('./script-worker.ts', import.meta.url))
    this.#worker = w
    this.#channel = new Channel<object, Reply>(workerEndpoint(w), {
      closedError: (cause) => new AppError('UNEXPECTED_ERROR', `The article converter stopped: ${cause.description}`, { cause: cause.error }),
    })
    return this.#channel
  }

  async toScript(input: ArticleInput, options?: SegmentOptions): Promise<Script> {
    const msg = await this.#ensure().request({ input, options })
    if (msg.error) throw new AppError(msg.error.code, msg.error.message, { status: msg.error.status, details: msg.error.details, help: msg.error.help })
    return msg.script!
  }

  async close(): Promise<void> {
    const w = this.#worker
    const channel = this.#channel
    this.#worker = undefined
    this.#channel = undefined
    if (w) await stopWorker(w, channel)
  }
}
