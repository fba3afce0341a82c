/**
 * The one module that runs a local engine's worker threads (espeak.ts, sherpa.ts): see WorkerPool.
 */
import type { Worker } from 'node:worker_threads'
import { AppError, throwIfAborted } from '../errors.ts'
import { CANCEL_ID, JOB_WAITING, newCancelArray, type PrestartedWorker, type WarmUp } from './espeak-prestart.ts'

/** Omit over each member of a union (a job type per message kind). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

type Pending<Job, Reply> = {
  id: number
  message: Job
  resolve: (reply: Reply) => void
  reject: (err: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

interface Slot<Job, Reply> {
  worker: Worker
  cancel: Int32Array
  ready: boolean
  job: Pending<Job, Reply> | null
}

/**
 * Pool of worker threads for a local engine (espeak-ng, sherpa-onnx), each keeping its engine
 * warm; jobs queue FIFO, one per worker at a time. Elastic: one worker starts with the pool, more
 * start only while jobs wait and fewer workers are starting than jobs are waiting, up to `max`.
 *
 * The worker protocol: it posts `{ ready: true }` once, then one reply per job, `{ id, ok, ... }`;
 * a job it abandoned after a cancel replies `{ ok: false, cancelled: true, samples }`. Cancelling:
 * the pool writes the job id at CANCEL_ID of the worker's shared Int32Array, and sets JOB_WAITING
 * when it posts a job (so an idle-time warm-up stops at once).
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
  private readonly slots: Slot<Job, Reply>[] = []
  private readonly queue: Pending<Job, Reply>[] = []
  private nextId = 1
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
    const free = this.slots.filter((s) => !s.job).length
    if (this.queue.length > free) this.slots.push(this.spawn())
  }

  private spawn(): Slot<Job, Reply> {
    // The first worker may have been started before the engine (espeak-prestart.ts), with the same warm-up setting.
    const early = this.slots.length === 0 ? this.takePrestarted() : undefined
    if (early && early.warmUp !== this.warmUp) void early.worker.terminate()
    const adopted = early && early.warmUp === this.warmUp ? early : undefined
    const cancel = adopted?.cancel ?? newCancelArray()
    const worker = adopted?.worker ?? this.startWorker(cancel, this.warmUp)
    const slot: Slot<Job, Reply> = { worker, cancel, ready: false, job: null }
    worker.on('message', (msg: Reply | { ready: true }) => {
      if ('ready' in msg) {
        slot.ready = true
        this.resolveFirstReady()
        this.idle(slot)
        this.pump()
        return
      }
      const job = slot.job
      slot.job = null
      if (!msg.ok && msg.cancelled) {
        this.cancelled.jobs++
        this.cancelled.lastSamples = msg.samples ?? 0
      }
      if (job && job.id === msg.id) {
        job.signal?.removeEventListener('abort', job.onAbort!)
        job.resolve(msg)
      }
      this.idle(slot)
      this.pump()
    })
    worker.on('error', (err) => {
      // The worker dies after 'error'; fail its job and replace it (see 'exit').
      const job = slot.job
      slot.job = null
      if (job) job.reject(new AppError('ENGINE_FAILED', `${this.name} worker failed: ${err.message}`, { cause: err }))
      if (!slot.ready) {
        this.failedStart = true
        this.rejectFirstReady(new AppError('ENGINE_FAILED', `${this.name} could not start: ${err.message}`, { cause: err }))
      }
    })
    worker.on('exit', () => {
      const job = slot.job
      slot.job = null
      if (job)
        job.reject(
          this.closed
            ? new AppError('ENGINE_UNAVAILABLE', `The ${this.name} engine was closed during synthesis.`)
            : new AppError('ENGINE_FAILED', `${this.name} worker exited during synthesis.`),
        )
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

  /** Idle workers must not keep the process alive (a CLI exits when its work is done). */
  private idle(slot: Slot<Job, Reply>): void {
    if (!slot.job) slot.worker.unref()
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return
      if (!slot.ready || slot.job) continue
      const job = this.queue.shift()!
      slot.job = job
      slot.worker.ref()
      // A warm-up sentence in progress stops at its next audio chunk (the worker clears the flag).
      Atomics.store(slot.cancel, JOB_WAITING, 1)
      slot.worker.postMessage(job.message)
    }
  }

  run(message: DistributiveOmit<Job, 'id'>, signal?: AbortSignal): Promise<Reply> {
    if (this.closed) return Promise.reject(new AppError('ENGINE_UNAVAILABLE', `The ${this.name} engine is closed.`))
    // No worker could start (and none is tried again): nothing would ever take the job.
    if (this.failedStart && this.slots.length === 0) return Promise.reject(new AppError('ENGINE_FAILED', `${this.name} could not start.`))
    throwIfAborted(signal)
    const id = this.nextId++
    return new Promise<Reply>((resolve, reject) => {
      const job: Pending<Job, Reply> = { id, message: { ...message, id } as unknown as Job, resolve, reject, signal }
      if (signal) {
        job.onAbort = () => {
          const queued = this.queue.indexOf(job)
          if (queued >= 0) this.queue.splice(queued, 1)
          const slot = this.slots.find((s) => s.job === job)
          // Running: tell the worker to stop at its next audio chunk. The slot stays busy
          // until the worker acknowledges, so nothing else is posted to it meanwhile.
          if (slot) {
            Atomics.store(slot.cancel, CANCEL_ID, id)
            job.resolve = () => {}
            job.reject = () => {}
          }
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
    return { queued: this.queue.length, running: this.slots.filter((s) => s.job).length, workers: this.slots.length, maxWorkers: this.max }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const job of this.queue.splice(0)) job.reject(new AppError('ENGINE_UNAVAILABLE', `The ${this.name} engine was closed.`))
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }
}

