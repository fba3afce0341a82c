/**
 * The job queue the service uses, whichever runs it: the durable in-process
 * JobQueue on the store (src/episodes/jobs.ts, the embedded default) or BullMQ
 * on Redis (src/fleet/bull-queue.ts, when BRIEFCAST_REDIS_URL is set).
 *
 * Methods may answer synchronously (the in-process queue) or with a promise
 * (Redis); callers await them either way. enqueue() never throws for a queue
 * that is briefly unreachable: the Redis queue logs the failure and the
 * reconciler (src/fleet/reconcile.ts) enqueues the article again later.
 */
import type { Logger } from 'pino'
import { AppError } from '../errors.ts'
import type { JobState, Repositories, StoredError } from '../store/types.ts'

export type MaybePromise<T> = T | Promise<T>

/** A job as handlers and hooks see it (a JobRecord in the in-process queue). */
export interface QueuedJob extends JobState {
  /** The store's row id (in-process) or the BullMQ job id (`render:<articleId>:<revision>`). */
  id: number | string
}

export interface JobContext {
  job: QueuedJob
  signal: AbortSignal
  /** 0..1; persisted at most a few times a second. */
  setProgress(fraction: number): void
  logger: Logger
}

export interface JobHandlerHooks {
  /** Called when a job ends failed for good (no attempts left, or a permanent error). */
  onFailed?(job: QueuedJob, error: StoredError): void
  /** Called when an attempt failed and the job was rescheduled. */
  onRetry?(job: QueuedJob, error: StoredError, runAfter: number): void
}

export type JobHandler = (ctx: JobContext) => Promise<void>

export interface Queue {
  /** 'store' (in-process, durable in the store) or 'redis' (BullMQ). */
  readonly backend: 'store' | 'redis'
  register(kind: string, handler: JobHandler, hooks?: JobHandlerHooks): void
  /**
   * Start taking jobs. A node that does not render (`briefcast serve --no-render`)
   * never calls it: it only enqueues, prioritizes and cancels.
   */
  start(): void
  /**
   * Enqueue a job; an active job of the same kind and subject for another payload is superseded.
   * `tx`: the in-process queue writes the job in that store transaction (the Redis queue has none: enqueue after the commit).
   */
  enqueue(kind: string, subjectId: string, payload?: Record<string, unknown>, tx?: Repositories): MaybePromise<unknown>
  /** Cancel the active job of a subject; a running attempt is aborted, wherever it runs. */
  cancel(kind: string, subjectId: string): MaybePromise<void>
  /** Someone waits for the subject's job: let it run before the others. Returns the active job, if any. */
  prioritize(kind: string, subjectId: string): MaybePromise<QueuedJob | undefined>
  /** The queued or running job of a subject, if any. */
  findActive(kind: string, subjectId: string): MaybePromise<QueuedJob | undefined>
  /** Jobs by state, for /readyz. */
  counts(): MaybePromise<Record<string, number>>
  /** Jobs running in this process. */
  readonly runningCount: number
  /** The most jobs that ran at once in this process. */
  readonly peakRunning: number
  /** Take no new jobs; give running ones graceMs to finish, then hand them back to the queue. */
  stop(graceMs?: number): Promise<void>
}

/** The abort reason of a running job whose worker stops: the job goes back to the queue for another worker. */
export const handBack = (): AppError => new AppError('ABORTED', 'This worker is stopping; the job goes back to the queue.', { details: { handBack: true } })
export const isHandBack = (reason: unknown): boolean => reason instanceof AppError && (reason.details as { handBack?: boolean } | undefined)?.handBack === true
