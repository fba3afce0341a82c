/**
 * The one module that runs a local engine's worker threads (espeak.ts, sherpa.ts): see WorkerPool.
 */
import type { Worker } from 'node:worker_threads'
import { AppError, throwIfAborted } from '../errors.ts'
import { Channel, workerEndpoint } from '../util/channel.ts'
import { CANCEL_ID, JOB_WAITING, newCancelArray, type PrestartedWorker, type WarmUp } from './espeak-prestart.ts'
import { stopWorker } from '../util/worker.ts'

/** Omit over each member of a union (a job type per message kind). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A job waiting for a worker. */
type Queued<Job, Reply> = {
  message: DistributiveOmit<Job, 'id'>
  resolve: (reply: Reply) => void
  reject: (err: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

interface Slot<Reply> {
  worker: Worker
  cancel: Int32Array
  ready: boolean
  /** Requests to the worker (one job at a time): ids, the job running, its abort, the worker's death. */
  channel: Channel<object, Reply | { ready: true }>
}

/**
 * Pool of worker threads for a local engine (espeak-ng, sherpa-onnx), each keeping its engine
 * warm; jobs queue FIFO, one per worker at a time. Elastic: one worker starts with the pool, more
 * start only while jobs wait and fewer workers are starting than jobs are waiting, up to `max`.
 *
 * The worker protocol: it posts `{ ready: true }` once, then one reply per job, `{ id, ok, ... }`;
 * a job it abandoned after a cancel replies `{ ok: false, cancelled: true, samples }`. Cancelling:
 * the pool writes the job id at CANCEL_ID of the worker's shared Int32Array, and sets JOB_WAITING
 * when it posts a job (so an idle-time warm-up stops at once). Each worker is talked to over a
 * Channel (src/util/channel.ts); a cancelled job keeps its worker busy until the worker answers it.
 */
export interface PoolReply {
  id: number
  ok: boolean
  cancelled?: boolean
  samples?: number
}

export interface WorkerPoolOptions {
  /** The engine's name, for error messages. */
  name: string
  /** Most workers. */
  max: number
  warmUp?: WarmUp
  /** Starts a worker thread with its shared flags and warm-up mode. */
  startWorker: (cancel: Int32Array, warmUp: WarmUp) => Worker
  /** A first worker started before the pool (espeak-prestart.ts), adopted when its warm-up mode matches. */
  takePrestarted?: () => PrestartedWorker | undefined
}

export class WorkerPool<Job extends { id: number }, Reply extends PoolReply> {
  private readonly slots: Slot<Reply>[] = []
  private readonly queue: Queued<Job, Reply>[] = []
  private closed = false
  /** Jobs a worker abandoned mid-text after an abort, and how much audio the last one had made. */
  readonly cancelled = { jobs: 0, lastSamples: 0 }
  private readonly firstReady: Promise<void>
  private resolveFirstReady!: () => void
  private rejectFirstReady!: (err: unknown) => void
  /** Set when no worker could start: new workers are not tried again for every job. */
  private failedStart = false

  private readonly name: string
  private readonly max: number
  private readonly warmUp: WarmUp
  private readonly startWorker: (cancel: Int32Array, warmUp: WarmUp) => Worker
  private readonly takePrestarted: () => PrestartedWorker | undefined

  constructor(options: WorkerPoolOptions) {
    this.name = options.name
    this.max = options.max
    this.warmUp = options.warmUp ?? true
    this.startWorker = options.startWorker
    this.takePrestarted = options.takePrestarted ?? (() => undefined)
    this.firstReady = new Promise((resolve, reject) => {
      this.resolveFirstReady = resolve
      this.rejectFirstReady = reject
    })
    // Nobody may be waiting for the first worker when it fails to start (the failure then reaches the
    // jobs instead): never an unhandled rejection. Callers of ready() still see it.
    this.firstReady.catch(() => {})
    this.slots.push(this.spawn())
  }

  ready(): Promise<void> {
    return this.firstReady
  }

  /** Start another worker when jobs wait that the idle and starting workers cannot take. */
  private grow(): void {
    if (this.closed || this.failedStart || this.slots.length >= this.max) return
    const free = this.slots.filter((s) => s.channel.pending === 0).length
    if (this.queue.length > free) this.slots.push(this.spawn())
  }

  private spawn(): Slot<Reply> {
    // The first worker may have been started before the engine (espeak-prestart.ts), with the same warm-up setting.
    const early = this.slots.length === 0 ? this.takePrestarted() : undefined
    if (early && early.warmUp !== this.warmUp) void early.worker.terminate()
    const adopted = early && early.warmUp === this.warmUp ? early : undefined
    const cancel = adopted?.cancel ?? newCancelArray()
    const worker = adopted?.worker ?? this.startWorker(cancel, this.warmUp)
    const channel = new Channel<object, Reply | { ready: true }>(workerEndpoint(worker), {
      // Until it is ready the worker keeps the process alive (a command may be waiting for it); then only while it works.
      keepAlive: true,
      abortMessage: 'Speech synthesis was cancelled.',
      onMessage: (msg) => {
        if (!('ready' in msg)) return
        slot.ready = true
        this.resolveFirstReady()
        channel.keepAlive(false)
        this.pump()
      },
      onReply: (msg) => {
        if (!('ready' in msg) && !msg.ok && msg.cancelled) {
          this.cancelled.jobs++
          this.cancelled.lastSamples = msg.samples ?? 0
        }
        this.pump()
      },
      // The worker dies after 'error' (see 'exit').
      closedError: (cause) =>
        cause.error
          ? new AppError('ENGINE_FAILED', `${this.name} worker failed: ${cause.error.message}`, { cause: cause.error })
          : this.closed
            ? new AppError('ENGINE_UNAVAILABLE', `The ${this.name} engine was closed during synthesis.`)
            : new AppError('ENGINE_FAILED', `${this.name} worker exited during synthesis.`),
    })
    const slot: Slot<Reply> = { worker, cancel, ready: false, channel }
    worker.on('error', (err) => {
      if (!slot.ready) {
        this.failedStart = true
        this.rejectFirstReady(new AppError('ENGINE_FAILED', `${this.name} could not start: ${err.message}`, { cause: err }))
      }
    })
    worker.on('exit', () => {
      const index = this.slots.indexOf(slot)
      if (index < 0) return
      // Replace a worker that died after it had worked (if there is still work for it);
      // one that never started would only die again.
      this.slots.splice(index, 1)
      if (!slot.ready && this.slots.every((s) => !s.ready)) {
        this.failedStart = true
        this.rejectFirstReady(new AppError('ENGINE_FAILED', `${this.name} worker exited before it was ready.`))
        // Nothing can run these jobs now.
        for (const job of this.queue.splice(0)) job.reject(new AppError('ENGINE_FAILED', `${this.name} could not start.`))
        return
      }
      if (!this.closed && slot.ready && this.slots.length === 0) this.slots.push(this.spawn())
      this.grow()
      this.pump()
    })
    // Replay what the prestarted worker said before it was adopted ('ready', or an early failure).
    for (const { event, value } of adopted?.backlog ?? []) worker.emit(event, value)
    return slot
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return
      if (!slot.ready || slot.channel.pending > 0) continue
      const job = this.queue.shift()!
      if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort)
      // A warm-up sentence in progress stops at its next audio chunk (the worker clears the flag).
      Atomics.store(slot.cancel, JOB_WAITING, 1)
      slot.channel
        .request(job.message as object, {
          signal: job.signal,
          // Running: tell the worker to stop at its next audio chunk. The channel keeps the job pending (the
          // worker busy) until the worker acknowledges, so nothing else is posted to it meanwhile.
          onAbort: (id) => Atomics.store(slot.cancel, CANCEL_ID, id),
        })
        .then((reply) => job.resolve(reply as Reply), job.reject)
    }
  }

  run(message: DistributiveOmit<Job, 'id'>, signal?: AbortSignal): Promise<Reply> {
    if (this.closed) return Promise.reject(new AppError('ENGINE_UNAVAILABLE', `The ${this.name} engine is closed.`))
    // No worker could start (and none is tried again): nothing would ever take the job.
    if (this.failedStart && this.slots.length === 0) return Promise.reject(new AppError('ENGINE_FAILED', `${this.name} could not start.`))
    throwIfAborted(signal)
    return new Promise<Reply>((resolve, reject) => {
      const job: Queued<Job, Reply> = { message, resolve, reject, signal }
      if (signal) {
        // Aborted while queued (once it runs, its channel takes the abort).
        job.onAbort = () => {
          this.queue.splice(this.queue.indexOf(job), 1)
          reject(new AppError('ABORTED', 'Speech synthesis was cancelled.', { cause: signal.reason }))
        }
        signal.addEventListener('abort', job.onAbort, { once: true })
      }
      this.queue.push(job)
      this.pump()
      this.grow()
    })
  }

  /** Jobs waiting or running, and workers started; for tests and stats. */
  get load(): { queued: number; running: number; workers: number; maxWorkers: number } {
    return { queued: this.queue.length, running: this.slots.filter((s) => s.channel.pending > 0).length, workers: this.slots.length, maxWorkers: this.max }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const job of this.queue.splice(0)) job.reject(new AppError('ENGINE_UNAVAILABLE', `The ${this.name} engine was closed.`))
    await Promise.all(this.slots.map((s) => stopWorker(s.worker, s.channel)))
  }
}

