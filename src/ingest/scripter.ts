/**
 * articleToScript off the main thread: one lazily started worker, requests
 * answered in order. The worker is unref'd while idle so it never keeps the
 * process alive.
 */
import type { Worker } from 'node:worker_threads'
import { AppError, type ErrorCode } from '../errors.ts'
import type { ArticleInput, Script, SegmentOptions } from '../script/types.ts'
import { startWorker } from '../util/worker.ts'

type Reply = { id: number; script?: Script; error?: { code: ErrorCode; message: string; status: number; details?: unknown; help?: string } }

export class Scripter {
  #worker: Worker | undefined
  #next = 1
  #pending = new Map<number, { resolve(s: Script): void; reject(e: unknown): void }>()

  #ensure(): Worker {
    if (this.#worker) return this.#worker
    const w = startWorker(new URL('./script-worker.ts', import.meta.url))
    w.on('message', (msg: Reply) => {
      const p = this.#pending.get(msg.id)
      if (!p) return
      this.#pending.delete(msg.id)
      if (this.#pending.size === 0) w.unref()
      if (msg.error) p.reject(new AppError(msg.error.code, msg.error.message, { status: msg.error.status, details: msg.error.details, help: msg.error.help }))
      else p.resolve(msg.script!)
    })
    const failAll = (err: unknown) => {
      for (const p of this.#pending.values()) p.reject(new AppError('UNEXPECTED_ERROR', `The article converter stopped: ${(err as Error)?.message ?? err}`, { cause: err }))
      this.#pending.clear()
      if (this.#worker === w) this.#worker = undefined
    }
    w.on('error', failAll)
    w.on('exit', (code) => failAll(new Error(`exit code ${code}`)))
    w.unref()
    this.#worker = w
    return w
  }

  toScript(input: ArticleInput, options?: SegmentOptions): Promise<Script> {
    const w = this.#ensure()
    const id = this.#next++
    return new Promise<Script>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      w.ref()
      w.postMessage({ id, input, options })
    })
  }

  async close(): Promise<void> {
    const w = this.#worker
    this.#worker = undefined
    if (w) await w.terminate()
  }
}
