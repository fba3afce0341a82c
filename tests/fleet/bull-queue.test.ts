/**
 * The BullMQ queue against the real Redis: one job per article revision,
 * retries with backoff, a job a listener waits on jumps the queue, cancel,
 * and a worker that stops hands its job back to another. Also the fleet-wide
 * rate limit and the start-up check of fleet settings.
 */
import { pino } from 'pino'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import { BullJobQueue, jobIdFor } from '../../src/fleet/bull-queue.ts'
import { fleetProblems } from '../../src/fleet/config-check.ts'
import { redisRateLimiter } from '../../src/fleet/rate-limit.ts'
import { openFleet, redactRedisUrl, type Fleet } from '../../src/fleet/redis.ts'
import { dropPrefix, REDIS_URL, redisProblem, testPrefix } from './redis-env.ts'

const logger = pino({ level: 'silent' })
const prefix = testPrefix('queue')
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
afterAll(() => dropPrefix(prefix))

function fleet(): Fleet {
  const f = openFleet(REDIS_URL, prefix, logger)
  cleanups.push(() => f.close())
  return f
}

let queues = 0
function queue(opts: { concurrency?: number; maxAttempts?: number; retryBaseMs?: number; name?: string } = {}) {
  const name = opts.name ?? `q${++queues}`
  const q = new BullJobQueue({ fleet: fleet(), logger, concurrency: opts.concurrency ?? 1, maxAttempts: opts.maxAttempts ?? 3, retryBaseMs: opts.retryBaseMs ?? 50, name })
  cleanups.push(() => q.stop(200))
  return { q, name }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe.skipIf(redisProblem)('BullJobQueue (Redis)', () => {
  it('makes one job per article revision, whichever node enqueues it', async () => {
    expect(jobIdFor('render-article', 'a1', { revision: 3 })).toBe('render:a1:3')
    const { q, name } = queue()
    const other = queue({ name }).q // a second node on the same queue
    const runs: string[] = []
    for (const x of [q, other]) x.register('render-article', async ({ job }) => void runs.push(`${job.subjectId}@${String(job.payload.revision)}`))
    await Promise.all([q.enqueue('render-article', 'a1', { revision: 1 }), other.enqueue('render-article', 'a1', { revision: 1 }), q.enqueue('render-article', 'a1', { revision: 1 })])
    expect((await q.findActive('render-article', 'a1'))?.id).toBe('render:a1:1')
    expect(await q.counts()).toEqual({ queued: 1, running: 0 })
    q.start()
    other.start()
    await until(() => runs.length === 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(runs).toEqual(['a1@1'])
    expect(await q.findActive('render-article', 'a1')).toBeUndefined()
  })

  it('a new revision supersedes the queued one', async () => {
    const { q } = queue()
    const runs: unknown[] = []
    q.register('render-article', async ({ job }) => void runs.push(job.payload.revision))
    await q.enqueue('render-article', 'a2', { revision: 1 })
    await q.enqueue('render-article', 'a2', { revision: 2 })
    q.start()
    await until(() => runs.length === 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(runs).toEqual([2])
  })

  it('retries with exponential backoff, then fails for good with the error', async () => {
    const { q } = queue({ maxAttempts: 3, retryBaseMs: 100 })
    const times: number[] = []
    const retries: string[] = []
    const failed: string[] = []
    q.register('flaky', async () => {
      times.push(Date.now())
      throw new AppError('ENGINE_UNAVAILABLE', 'engine down')
    }, { onRetry: (_j, e) => retries.push(e.code), onFailed: (j, e) => failed.push(`${e.code}@${j.attempts}`) })
    q.start()
    await q.enqueue('flaky', 's1', { revision: 1 })
    await until(() => failed.length === 1)
    expect(times).toHaveLength(3)
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(95)
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(195)
    expect(retries).toEqual(['ENGINE_UNAVAILABLE', 'ENGINE_UNAVAILABLE'])
    expect(failed).toEqual(['ENGINE_UNAVAILABLE@3'])
  })

  it('fails a user-caused (4xx) error at once', async () => {
    const { q } = queue({ maxAttempts: 5 })
    let runs = 0
    const failed: string[] = []
    q.register('bad', async () => {
      runs++
      throw new AppError('VALIDATION_FAILED', 'bad input')
    }, { onFailed: (_j, e) => failed.push(e.code) })
    q.start()
    await q.enqueue('bad', 's1', { revision: 1 })
    await until(() => failed.length === 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(runs).toBe(1)
    expect(failed).toEqual(['VALIDATION_FAILED'])
  })

  it('runs a job a listener waits for before the others', async () => {
    const { q } = queue({ concurrency: 1 })
    const order: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    q.register('render-article', async ({ job }) => {
      order.push(job.subjectId)
      if (job.subjectId === 'first') await gate
    })
    q.start()
    await q.enqueue('render-article', 'first', { revision: 1 })
    await until(() => order.length === 1)
    for (const id of ['b', 'c', 'd', 'waited']) await q.enqueue('render-article', id, { revision: 1 })
    const job = await q.prioritize('render-article', 'waited')
    expect(job?.status).toBe('queued')
    release()
    await until(() => order.length === 5)
    expect(order[1]).toBe('waited')
  })

  it('cancel removes a queued job and aborts a running one on another node', async () => {
    const { q, name } = queue()
    const api = queue({ name }).q // enqueues and cancels, never runs jobs
    let aborted = false
    let started = false
    q.register('render-article', async ({ signal }) => {
      started = true
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
      aborted = true
      signal.throwIfAborted()
    })
    q.start()
    await api.enqueue('render-article', 'x', { revision: 1 })
    await until(() => started)
    await api.cancel('render-article', 'x')
    await until(() => aborted)
    await until(async () => (await api.findActive('render-article', 'x')) === undefined)
  })

  it('stop() hands a running job back to the queue; another worker finishes it', async () => {
    const { q, name } = queue()
    const other = queue({ name }).q
    const runs: string[] = []
    q.register('render-article', async ({ signal }) => {
      runs.push('first')
      await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }))
    })
    other.register('render-article', async () => void runs.push('second'))
    q.start()
    await q.enqueue('render-article', 'h', { revision: 1 })
    await until(() => runs.length === 1)
    await q.stop(100)
    other.start()
    await until(() => runs.length === 2)
    expect(runs).toEqual(['first', 'second'])
  })
})

describe.skipIf(redisProblem)('fleet-wide rate limit (Redis)', () => {
  it('two processes share one requests-per-window budget', async () => {
    const a = redisRateLimiter(fleet(), 'openai https://api.example', 4, 1500)
    const b = redisRateLimiter(fleet(), 'openai https://api.example', 4, 1500)
    const t0 = Date.now()
    const times: number[] = []
    await Promise.all([a, b, a, b, a, b].map(async (l) => {
      await l.take()
      times.push(Date.now() - t0)
    }))
    times.sort((x, y) => x - y)
    expect(times.slice(0, 4).every((t) => t < 500)).toBe(true)
    // The 5th and 6th wait for the window to move on.
    expect(times[4]!).toBeGreaterThanOrEqual(1300)
  })
})

describe('fleet start-up check', () => {
  const cfg = (env: Record<string, string>) => loadConfig({ env, cwd: '/nonexistent' })
  const shape = { role: 'all' as const, database: 'sqlite' as const, storage: 'local' as const }
  it('refuses Redis with SQLite or local files across machines, saying what to add', () => {
    const problems = fleetProblems(cfg({ BRIEFCAST_REDIS_URL: 'redis://127.0.0.1:6379' }), shape)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/BRIEFCAST_DATABASE_URL/)
    expect(problems[0]).toMatch(/BRIEFCAST_STORAGE_URL/)
    expect(problems[0]).toMatch(/BRIEFCAST_FLEET_SINGLE_MACHINE/)
    expect(fleetProblems(cfg({ BRIEFCAST_REDIS_URL: 'redis://h', BRIEFCAST_FLEET_SINGLE_MACHINE: 'true' }), shape)).toEqual([])
    expect(fleetProblems(cfg({ BRIEFCAST_REDIS_URL: 'redis://h' }), { ...shape, database: 'postgres', storage: 's3' })).toEqual([])
  })
  it('refuses workers, API-only nodes and a shared database without Redis', () => {
    expect(fleetProblems(cfg({}), { ...shape, role: 'worker' })[0]).toMatch(/BRIEFCAST_REDIS_URL/)
    expect(fleetProblems(cfg({}), { ...shape, role: 'api' })[0]).toMatch(/--no-render/)
    expect(fleetProblems(cfg({}), { ...shape, database: 'postgres', storage: 's3' })[0]).toMatch(/BRIEFCAST_REDIS_URL/)
    expect(fleetProblems(cfg({}), shape)).toEqual([])
  })
  it('rejects a URL that is not redis:// and never shows a password', () => {
    expect(() => cfg({ BRIEFCAST_REDIS_URL: 'http://h:6379' })).toThrow(/redis\.url/)
    expect(redactRedisUrl('redis://user:s3cret@h:6379/0')).toBe('redis://user:***@h:6379/0')
  })
})
