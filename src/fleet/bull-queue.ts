/**
 * The distributed job queue: BullMQ on Redis (BRIEFCAST_REDIS_URL).
 *
 * - One job per article revision: the job id is `render:<articleId>:<revision>`
 *   (other kinds: `<kind>:<subject>:<generation>`), so enqueueing the same
 *   revision twice, from any node, is one job.
 * - Retries with exponential backoff (jobs.maxAttempts, jobs.retryBaseMs);
 *   user-caused (4xx) errors fail at once, as in the in-process queue.
 * - A worker killed mid-render loses its lock after LOCK_MS; the stalled check
 *   (every STALLED_MS, on every worker) hands the job to another worker.
 *   BullMQ's defaults (30 s each) would take up to a minute.
 * - A job a listener waits for jumps the queue (BullMQ priority 1; others 10).
 * - cancel() removes a waiting job, or tells the worker running it (pub/sub) to abort.
 * - stop(): no new jobs; running ones get the grace period, then go back to
 *   the queue (moveToDelayed + DelayedError) for another worker.
 *
 * The render itself runs in the render child process, so this process's event
 * loop stays free to renew the lock.
 */
import { DelayedError, Queue as BullQueue, UnrecoverableError, Worker, type Job, type JobState } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { AppError, toAppError } from '../errors.ts'
import { isTransientStoreError } from '../store/errors.ts'
import { within } from '../util/time-limit.ts'
import type { StoredError } from '../store/types.ts'
import { handBack, isHandBack, type JobHandler, type JobHandlerHooks, type Queue, type QueuedJob } from '../episodes/queue.ts'
import type { Fleet } from './redis.ts'

export const LOCK_MS = 10_000
export const STALLED_MS = 5_000
/** Times a job may be found stalled (its worker died) before it fails; each time another worker takes it over. */
export const MAX_STALLED = 3
/**
 * Runs of one job (one article revision) that may crash their worker, counted across the jobs the reconciler
 * enqueues again, before it fails with RENDER_CRASHED.
 */
export const MAX_CRASHES = 3
const CRASH_MEMORY_MS = 24 * 3600_000
/** How long a job whose render met a database outage waits before it runs again. */
export const STORE_RETRY_MS = 3_000
const NORMAL_PRIORITY = 10
const WAITED_PRIORITY = 1
const RENDER_ARTICLE = 'render-article'

interface JobData {
  kind: string
  subjectId: string
  payload: Record<string, unknown>
}

export interface BullJobQueueOptions {
  fleet: Fleet
  logger: Logger
  concurrency: number
  maxAttempts: number
  retryBaseMs: number
  /** Queue name inside the prefix (tests use their own). */
  name?: string
}


// KEYS: the job's running marker, its crash count; ARGV: this worker, how long both are kept (ms).
const COUNT_CRASH = `
local crashes = tonumber(redis.call('GET', KEYS[2]) or '0')
if redis.call('EXISTS', KEYS[1]) == 1 then
  crashes = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return crashes`

// Delete the subject's pointer only if it still names this job.
const UNLINK = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`

export function jobIdFor(kind: string, subjectId: string, payload: Record<string, unknown>): string {
  // BullMQ ids hold ':' only as exactly three parts.
  const subject = subjectId.replaceAll(':', '_')
  if (kind === RENDER_ARTICLE && typeof payload.revision === 'number') return `render:${subject}:${payload.revision}`
  const generation = typeof payload.revision === 'number' ? payload.revision : Date.now().toString(36) + Math.random().toString(36).slice(2, 6)
  return `${kind}:${subject}:${generation}`
}

interface Running {
  job: QueuedJob
  controller: AbortController
}

export class BullJobQueue implements Queue {
  readonly backend = 'redis' as const
  readonly #o: BullJobQueueOptions
  readonly #name: string
  readonly #queue: BullQueue<JobData>
  readonly #queueConn: Redis
  readonly #handlers = new Map<string, { handler: JobHandler; hooks: JobHandlerHooks }>()
  readonly #running = new Map<string, Running>()
  readonly #subjectsKey: string
  readonly #cancelChannel: string
  #worker: Worker<JobData> | undefined
  #workerConn: Redis | undefined
  #sub: Redis | undefined
  #stopping = false
  #peak = 0

  constructor(options: BullJobQueueOptions) {
    this.#o = options
    this.#name = options.name ?? 'jobs'
    this.#queueConn = options.fleet.connect('queue')
    this.#queue = new BullQueue<JobData>(this.#name, { connection: this.#queueConn, prefix: options.fleet.prefix })
    this.#queue.on('error', (err) => options.logger.warn({ err: err.message }, 'job queue: redis error'))
    this.#subjectsKey = options.fleet.key(this.#name, 'subjects')
    this.#cancelChannel = options.fleet.key(this.#name, 'cancel')
  }

  register(kind: string, handler: JobHandler, hooks: JobHandlerHooks = {}): void {
    this.#handlers.set(kind, { handler, hooks })
  }

  start(): void {
    if (this.#worker || this.#stopping) return
    const { fleet, logger } = this.#o
    this.#workerConn = fleet.connect('worker')
    this.#worker = new Worker<JobData>(this.#name, (job, token) => this.#process(job, token), {
      connection: this.#workerConn,
      prefix: fleet.prefix,
      concurrency: this.#o.concurrency,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_MS,
      maxStalledCount: MAX_STALLED,
    })
    this.#worker.on('error', (err) => logger.warn({ err: err.message }, 'job worker: redis error'))
    this.#worker.on('stalled', (jobId) => logger.warn({ jobId }, 'a job whose worker stopped answering was taken over'))
    this.#sub = fleet.connect('cancel')
    void this.#sub.subscribe(this.#cancelChannel).catch((err: Error) => logger.warn({ err: err.message }, 'cannot subscribe to job cancellations'))
    this.#sub.on('message', (_channel: string, jobId: string) => {
      const r = this.#running.get(jobId)
      if (r) r.controller.abort(new AppError('ABORTED', 'Superseded or cancelled.'))
    })
  }

  async enqueue(kind: string, subjectId: string, payload: Record<string, unknown> = {}): Promise<QueuedJob | undefined> {
    const id = jobIdFor(kind, subjectId, payload)
    const field = `${kind}:${subjectId}`
    try {
      const redis = this.#o.fleet.redis
      // Someone asked for this job (not the reconciler enqueueing it again): its earlier crashes are forgiven.
      if (payload.again !== true) await redis.del(this.#crashesKey(id))
      const previous = await redis.hget(this.#subjectsKey, field)
      if (previous && previous !== id) await this.#cancelJob(previous)
      await redis.hset(this.#subjectsKey, field, id)
      const job = await this.#queue.add(
        kind,
        { kind, subjectId, payload },
        {
          jobId: id,
          attempts: this.#o.maxAttempts,
          backoff: { type: 'exponential', delay: this.#o.retryBaseMs },
          priority: NORMAL_PRIORITY,
          removeOnComplete: true,
          removeOnFail: true,
        },
      )
      return toQueued(job, 'queued')
    } catch (err) {
      // Never fails the request that caused it: the reconciler enqueues queued articles again.
      this.#o.logger.error({ err: (err as Error).message, kind, subject: subjectId }, 'enqueueing a job failed')
      return undefined
    }
  }

  async cancel(kind: string, subjectId: string): Promise<void> {
    const field = `${kind}:${subjectId}`
    const id = await unreachableAfter(this.#o.fleet.redis.hget(this.#subjectsKey, field))
    if (!id) return
    await this.#cancelJob(id)
    await this.#o.fleet.redis.eval(UNLINK, 1, this.#subjectsKey, field, id)
  }

  async #cancelJob(id: string): Promise<void> {
    const job = await this.#queue.getJob(id)
    if (!job) return
    const state = await job.getState()
    if (state !== 'active') {
      try {
        await job.remove()
        return
      } catch {
        // Taken by a worker meanwhile: tell it.
      }
    }
    await this.#o.fleet.redis.publish(this.#cancelChannel, id)
  }

  async #active(kind: string, subjectId: string): Promise<{ job: Job<JobData>; state: JobState | 'unknown' } | undefined> {
    const id = await this.#o.fleet.redis.hget(this.#subjectsKey, `${kind}:${subjectId}`)
    if (!id) return undefined
    const job = await this.#queue.getJob(id)
    if (!job) return undefined
    const state = await job.getState()
    if (state === 'completed' || state === 'failed' || state === 'unknown') return undefined
    return { job, state }
  }

  async prioritize(kind: string, subjectId: string): Promise<QueuedJob | undefined> {
    const found = await unreachableAfter(this.#active(kind, subjectId))
    if (!found) return undefined
    if ((found.state === 'prioritized' || found.state === 'waiting') && found.job.priority !== WAITED_PRIORITY) {
      await found.job.changePriority({ priority: WAITED_PRIORITY }).catch(() => {}) // taken meanwhile: fine
    }
    return toQueued(found.job, found.state === 'active' ? 'running' : 'queued')
  }

  async findActive(kind: string, subjectId: string): Promise<QueuedJob | undefined> {
    const found = await unreachableAfter(this.#active(kind, subjectId))
    return found ? toQueued(found.job, found.state === 'active' ? 'running' : 'queued') : undefined
  }

  async counts(): Promise<Record<string, number>> {
    const c = await unreachableAfter(this.#queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed'))
    return { queued: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0), running: c.active ?? 0 }
  }

  get runningCount(): number {
    return this.#running.size
  }

  get peakRunning(): number {
    return this.#peak
  }

  async #process(job: Job<JobData>, token: string | undefined): Promise<void> {
    const { kind, subjectId } = job.data
    const entry = this.#handlers.get(kind)
    if (!entry) throw new UnrecoverableError(`No handler for job kind "${kind}".`)
    const controller = new AbortController()
    const record = toQueued(job, 'running')
    record.attempts = job.attemptsMade + 1
    const jobId = job.id!
    const log = this.#o.logger.child({ job: jobId, kind, subject: subjectId, attempt: record.attempts })
    const crashes = await this.#crashesBefore(jobId)
    if (crashes >= MAX_CRASHES) {
      // Its runs keep killing their worker (out of memory, a crashing engine): BullMQ's stalled count starts again with
      // every job the reconciler re-enqueues, this count does not. Failed for good, until an edit or re-render.
      const error: StoredError = { code: 'RENDER_CRASHED', message: `The job stopped its worker process ${crashes} times (${jobId}); it is not tried again.` }
      log.error({ crashes }, 'job failed: it crashed its worker every time it ran')
      entry.hooks.onFailed?.(record, error)
      // The count stays (a day): a reconciler that re-enqueues the job before it sees the article failed gets this
      // answer again. Enqueueing it otherwise (a re-render) starts the count afresh (enqueue()).
      await this.#o.fleet.redis.del(this.#runningKey(jobId)).catch(() => {})
      void this.#o.fleet.redis.eval(UNLINK, 1, this.#subjectsKey, `${kind}:${subjectId}`, jobId).catch(() => {})
      throw new UnrecoverableError(`${error.code}: ${error.message}`)
    }
    this.#running.set(jobId, { job: record, controller })
    this.#peak = Math.max(this.#peak, this.#running.size)
    let lastSaved = 0
    const setProgress = (fraction: number) => {
      const t = Date.now()
      if (t - lastSaved < 250 && fraction < 1) return
      lastSaved = t
      void job.updateProgress(Math.max(0, Math.min(1, fraction))).catch(() => {})
    }
    const started = Date.now()
    log.info('job started')
    let settled = true
    let ended = true
    try {
      await entry.handler({ job: record, signal: controller.signal, setProgress, logger: log })
      log.info({ ms: Date.now() - started }, 'job done')
    } catch (err) {
      ended = false
      const reason: unknown = controller.signal.reason
      if (controller.signal.aborted && isHandBack(reason)) {
        settled = false
        log.info('worker stopping: job handed back to the queue')
        await job.moveToDelayed(Date.now(), token)
        throw new DelayedError()
      }
      if (controller.signal.aborted) {
        ended = true
        log.info({ reason: String((reason as Error)?.message ?? reason) }, 'job aborted')
        return // cancelled or superseded: nothing to retry
      }
      if (isTransientStoreError(err)) {
        // The database being away is nobody's fault: the job waits and runs again, without using up an attempt
        // (moveToDelayed keeps attemptsMade), however long the outage lasts.
        settled = false
        log.warn({ err: (err as Error).message, retryInMs: STORE_RETRY_MS }, 'the database is unavailable; the job waits and runs again')
        await job.moveToDelayed(Date.now() + STORE_RETRY_MS, token)
        throw new DelayedError()
      }
      const e = toAppError(err)
      const error: StoredError = { code: e.code, message: e.message }
      const permanent = e.status >= 400 && e.status < 500 && e.code !== 'RATE_LIMITED'
      if (permanent || record.attempts >= record.maxAttempts) {
        ended = true
        if (e.code === 'UNEXPECTED_ERROR') log.error({ err }, 'job failed')
        else log.warn({ code: e.code, message: e.message }, 'job failed')
        entry.hooks.onFailed?.(record, error)
        throw permanent ? new UnrecoverableError(`${e.code}: ${e.message}`) : err
      }
      settled = false
      const runAfter = Date.now() + this.#o.retryBaseMs * 2 ** (record.attempts - 1)
      log.warn({ code: e.code, runAfter: new Date(runAfter).toISOString() }, 'job failed; will retry')
      entry.hooks.onRetry?.(record, error, runAfter)
      throw new Error(`${e.code}: ${e.message}`, { cause: err })
    } finally {
      this.#running.delete(jobId)
      // This run came back (done, failed, retried, handed back): it did not crash its worker. A job that ended also
      // forgets its earlier crashes.
      void (ended ? this.#clearCrashes(jobId) : this.#o.fleet.redis.del(this.#runningKey(jobId))).catch(() => {})
      if (settled) void this.#o.fleet.redis.eval(UNLINK, 1, this.#subjectsKey, `${kind}:${subjectId}`, jobId).catch(() => {})
    }
  }

  #runningKey = (jobId: string) => this.#o.fleet.key(this.#name, 'running', jobId)
  #crashesKey = (jobId: string) => this.#o.fleet.key(this.#name, 'crashes', jobId)

  /**
   * Marks the job as running on this worker and returns how many earlier runs crashed: a run whose marker is still
   * there when the job runs again never came back (its worker died), and adds one. Kept a day after the last run.
   */
  async #crashesBefore(jobId: string): Promise<number> {
    try {
      return Number(await this.#o.fleet.redis.eval(COUNT_CRASH, 2, this.#runningKey(jobId), this.#crashesKey(jobId), String(process.pid), CRASH_MEMORY_MS))
    } catch {
      return 0 // Redis away: the job cannot run anyway; BullMQ's own stalled count still applies
    }
  }

  async #clearCrashes(jobId: string): Promise<void> {
    await this.#o.fleet.redis.del(this.#runningKey(jobId), this.#crashesKey(jobId))
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true
    const worker = this.#worker
    if (worker) {
      // close() takes no new jobs and waits for the running ones.
      const closed = worker.close()
      let timer: NodeJS.Timeout | undefined
      const timedOut = await Promise.race([closed.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))])
      clearTimeout(timer)
      if (timedOut) {
        for (const r of this.#running.values()) r.controller.abort(handBack())
        await closed.catch(() => {})
      }
    }
    await this.#queue.close().catch(() => {})
    for (const c of [this.#sub, this.#workerConn, this.#queueConn]) {
      if (!c || c.status === 'end') continue
      if (c.status === 'ready') await c.quit().catch(() => c.disconnect())
      else c.disconnect()
    }
  }
}

/**
 * Questions a request waits on (Listen, the admin API) fail after ANSWER_MS while Redis is unreachable,
 * with a 503 the client can retry, instead of hanging until Redis is back.
 */
const ANSWER_MS = 3000
function unreachableAfter<T>(p: Promise<T>, ms = ANSWER_MS): Promise<T> {
  return within(p, ms, new AppError('SERVICE_UNAVAILABLE', 'The job queue (Redis) is not answering; retry in a moment.', { status: 503, help: 'Retry shortly; GET /readyz shows whether Redis is down.' }))
}

function toQueued(job: Job<JobData>, status: QueuedJob['status']): QueuedJob {
  const maxAttempts = job.opts.attempts ?? 1
  return {
    id: job.id ?? '',
    kind: job.data.kind,
    subjectId: job.data.subjectId,
    payload: job.data.payload ?? {},
    status,
    attempts: job.attemptsMade,
    maxAttempts,
    runAfter: job.delay > 0 ? job.timestamp + job.delay : job.timestamp,
    progress: typeof job.progress === 'number' ? job.progress : 0,
    error: job.failedReason ? storedError(job.failedReason) : null,
  }
}

/** The failure BullMQ kept (`CODE: message`, as #process throws it) as a stored error. */
function storedError(reason: string): StoredError {
  const m = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(reason)
  return m ? { code: m[1]!, message: m[2]! } : { code: 'UNEXPECTED_ERROR', message: reason }
}
