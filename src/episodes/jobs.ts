/**
 * Durable job queue on SQLite. Jobs survive restarts: on start, jobs left
 * 'running' by a crash go back to 'queued' and run again. Failures retry with
 * exponential backoff (retryBaseMs * 2^(attempt-1)) until maxAttempts, then the
 * job ends 'failed' with the error. User-caused errors (AppError with a 4xx
 * status) fail at once: retrying cannot fix the input.
 *
 * At most `concurrency` jobs run at once, whoever asks: a public Listen
 * request cannot start work of its own. prioritize() lets a job someone is
 * waiting for run next (still within the limit, and never before its retry
 * backoff ends).
 */
import type { Logger } from 'pino'
import { AppError, toAppError } from '../errors.ts'
import type { JobRecord, Store, StoredError } from '../store/types.ts'
import type { JobHandler, JobHandlerHooks, Queue } from './queue.ts'

export type { JobContext, JobHandler, JobHandlerHooks } from './queue.ts'

export interface JobQueueOptions {
  store: Store
  logger: Logger
  concurrency: number
  maxAttempts: number
  retryBaseMs: number
  /** How often to look for due jobs when idle (ms); a timer also wakes at the next retry. */
  pollMs?: number
}

interface Running {
  job: JobRecord
  controller: AbortController
  done: Promise<void>
}

export class JobQueue implements Queue {
  readonly backend = 'store' as const
  readonly #store: Store
  readonly #logger: Logger
  readonly #opts: JobQueueOptions
  readonly #handlers = new Map<string, { handler: JobHandler; hooks: JobHandlerHooks }>()
  readonly #running = new Map<number, Running>()
  #timer: NodeJS.Timeout | undefined
  #started = false
  #stopping = false
  #pumping = false
  #peak = 0

  constructor(options: JobQueueOptions) {
    this.#store = options.store
    this.#logger = options.logger
    this.#opts = options
  }

  register(kind: string, handler: JobHandler, hooks: JobHandlerHooks = {}): void {
    this.#handlers.set(kind, { handler, hooks })
  }

  /** Resume interrupted jobs and start the scheduler. */
  start(): void {
    if (this.#started) return
    this.#started = true
    const n = this.#store.jobs.requeueInterrupted()
    if (n > 0) this.#logger.info({ jobs: n }, 'resuming jobs interrupted by a restart')
    this.#wake()
  }

  /**
   * Enqueue a job. An active (queued or running) job of the same kind and
   * subject is cancelled first: the newest request supersedes it (an edit
   * while rendering renders the new revision only).
   */
  enqueue(kind: string, subjectId: string, payload: Record<string, unknown> = {}): JobRecord {
    this.cancel(kind, subjectId)
    const job = this.#store.jobs.enqueue({ kind, subjectId, payload, maxAttempts: this.#opts.maxAttempts })
    this.#wake()
    return job
  }

  /** Cancel the active job of a subject; a running attempt is aborted. */
  cancel(kind: string, subjectId: string): void {
    for (const r of this.#running.values()) {
      if (r.job.kind === kind && r.job.subjectId === subjectId) r.controller.abort(new AppError('ABORTED', 'Superseded or cancelled.'))
    }
    this.#store.jobs.cancelForSubject(kind, subjectId)
  }

  /** The in-process attempt running for a subject, if any. */
  runningFor(kind: string, subjectId: string): { job: JobRecord; done: Promise<void> } | undefined {
    for (const r of this.#running.values()) if (r.job.kind === kind && r.job.subjectId === subjectId) return r
    return undefined
  }

  /**
   * Someone is waiting for the subject's job: run it before the others that
   * are due, within the concurrency limit and after its backoff. Returns the
   * active job (queued or running), or undefined if there is none.
   */
  prioritize(kind: string, subjectId: string): JobRecord | undefined {
    const job = this.#store.jobs.findActive(kind, subjectId)
    if (!job) return undefined
    if (job.status === 'queued' && this.#store.jobs.prioritize(kind, subjectId)) this.#wake()
    return job
  }

  findActive(kind: string, subjectId: string): JobRecord | undefined {
    return this.#store.jobs.findActive(kind, subjectId)
  }

  counts(): Record<string, number> {
    return this.#store.jobs.counts()
  }

  get runningCount(): number {
    return this.#running.size
  }

  /** The most jobs that ran at the same time since the queue was made. */
  get peakRunning(): number {
    return this.#peak
  }

  #wake(delay = 0): void {
    if (!this.#started || this.#stopping) return
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#pump()
    }, delay)
    this.#timer.unref?.()
  }

  #pump(): void {
    if (this.#pumping || this.#stopping) return
    this.#pumping = true
    try {
      const free = this.#opts.concurrency - this.#running.size
      if (free > 0) {
        const due = this.#store.jobs.listRunnable(Date.now(), free + this.#running.size)
        let started = 0
        for (const job of due) {
          if (started >= free) break
          if (this.#running.has(job.id)) continue
          if (this.#run(job)) started++
        }
      }
      const next = this.#store.jobs.nextRunAfter()
      const poll = this.#opts.pollMs ?? 5000
      const delay = next === undefined ? poll : Math.max(10, Math.min(poll, next - Date.now()))
      this.#wake(delay)
    } catch (err) {
      this.#logger.error({ err }, 'job scheduler failed; retrying')
      this.#wake(1000)
    } finally {
      this.#pumping = false
    }
  }

  #run(queued: JobRecord): Running | undefined {
    const entry = this.#handlers.get(queued.kind)
    if (!entry) {
      this.#store.jobs.fail(queued.id, { code: 'UNEXPECTED_ERROR', message: `No handler for job kind "${queued.kind}".` })
      return undefined
    }
    const job = this.#store.jobs.claim(queued.id)
    if (!job) return undefined
    const controller = new AbortController()
    const log = this.#logger.child({ job: job.id, kind: job.kind, subject: job.subjectId, attempt: job.attempts })
    let lastSaved = 0
    const setProgress = (fraction: number) => {
      const t = Date.now()
      if (t - lastSaved < 250 && fraction < 1) return
      lastSaved = t
      try {
        this.#store.jobs.setProgress(job.id, Math.max(0, Math.min(1, fraction)))
      } catch {}
    }
    const record: Running = { job, controller, done: Promise.resolve() }
    this.#running.set(job.id, record)
    this.#peak = Math.max(this.#peak, this.#running.size)
    log.info('job started')
    const started = Date.now()
    record.done = (async () => {
      try {
        await entry.handler({ job, signal: controller.signal, setProgress, logger: log })
        if (!this.#store.isOpen()) return
        this.#store.jobs.complete(job.id)
        log.info({ ms: Date.now() - started }, 'job done')
      } catch (err) {
        if (!this.#store.isOpen()) return
        this.#settleFailure(job, err, controller.signal, entry.hooks, log)
      } finally {
        this.#running.delete(job.id)
        this.#wake()
      }
    })()
    return record
  }

  #settleFailure(job: JobRecord, err: unknown, signal: AbortSignal, hooks: JobHandlerHooks, log: Logger): void {
    const e = toAppError(err)
    const error: StoredError = { code: e.code, message: e.message }
    if (signal.aborted) {
      // Cancelled (superseded, deleted) or stopping: leave the row as cancel()/stop() set it.
      log.info({ reason: String((signal.reason as Error)?.message ?? signal.reason) }, 'job aborted')
      return
    }
    const permanent = e.status >= 400 && e.status < 500 && e.code !== 'RATE_LIMITED'
    if (!permanent && job.attempts < job.maxAttempts) {
      const runAfter = Date.now() + this.#opts.retryBaseMs * 2 ** (job.attempts - 1)
      this.#store.jobs.retryLater(job.id, error, runAfter)
      log.warn({ err: e, code: e.code, runAfter: new Date(runAfter).toISOString() }, 'job failed; will retry')
      hooks.onRetry?.(job, error, runAfter)
      return
    }
    this.#store.jobs.fail(job.id, error)
    if (e.code === 'UNEXPECTED_ERROR') log.error({ err }, 'job failed')
    else log.warn({ code: e.code, message: e.message }, 'job failed')
    hooks.onFailed?.(job, error)
  }

  /**
   * Graceful stop: claim nothing new, give running jobs `graceMs` to finish,
   * then abort them and put them back to 'queued' (checkpoint) so the next
   * start resumes them; the clip cache keeps the work already done.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true
    if (this.#timer) clearTimeout(this.#timer)
    const all = [...this.#running.values()]
    if (all.length === 0) return
    let timer: NodeJS.Timeout | undefined
    const finished = Promise.allSettled(all.map((r) => r.done))
    const timedOut = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ])
    clearTimeout(timer)
    if (timedOut) {
      for (const r of this.#running.values()) r.controller.abort(new AppError('ABORTED', 'The service is shutting down.'))
      await Promise.allSettled(all.map((r) => r.done))
      if (this.#store.isOpen()) this.#store.jobs.requeueInterrupted()
    }
  }
}
