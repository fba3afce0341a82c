import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { JobQueue } from '../../src/episodes/jobs.ts'
import { AppError } from '../../src/errors.ts'
import { openStore, type Store } from '../../src/store/index.ts'

const logger = pino({ level: 'silent' })
const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function setup(opts: { concurrency?: number; maxAttempts?: number; retryBaseMs?: number } = {}, file?: string) {
  let dbFile = file
  if (!dbFile) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-jobs-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    dbFile = path.join(dir, 'jobs.db')
  }
  const store = await openStore({ file: dbFile })
  const queue = new JobQueue({ store, logger, concurrency: opts.concurrency ?? 1, maxAttempts: opts.maxAttempts ?? 3, retryBaseMs: opts.retryBaseMs ?? 20, pollMs: 50 })
  cleanups.push(async () => {
    await queue.stop(100)
    await store.close()
  })
  return { store, queue, file: dbFile }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

const statusOf = async (store: Store, id: number) => (await store.jobs.get(id))!.status

describe('JobQueue', () => {
  it('retries with exponential backoff, then fails with the error', async () => {
    const { store, queue } = await setup({ maxAttempts: 3, retryBaseMs: 40 })
    const times: number[] = []
    const failed: string[] = []
    queue.register('flaky', async () => {
      times.push(Date.now())
      throw new AppError('ENGINE_UNAVAILABLE', 'engine down')
    }, { onFailed: (_job, err) => failed.push(err.code) })
    await queue.start()
    const job = await queue.enqueue('flaky', 's1')
    await until(async () => (await statusOf(store, job.id)) === 'failed')
    expect(times).toHaveLength(3)
    // Backoff doubles: >= 40 ms, then >= 80 ms.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(35)
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(75)
    expect((await store.jobs.get(job.id))!.error).toEqual({ code: 'ENGINE_UNAVAILABLE', message: 'engine down' })
    expect(failed).toEqual(['ENGINE_UNAVAILABLE'])
  })

  it('succeeds after a transient failure', async () => {
    const { store, queue } = await setup()
    let calls = 0
    queue.register('once-flaky', async () => {
      if (++calls === 1) throw new Error('transient')
    })
    await queue.start()
    const job = await queue.enqueue('once-flaky', 's')
    await until(async () => (await statusOf(store, job.id)) === 'done')
    expect(calls).toBe(2)
    expect((await store.jobs.get(job.id))!.attempts).toBe(2)
  })

  it('fails at once on a user error (4xx): retrying cannot fix the input', async () => {
    const { store, queue } = await setup()
    let calls = 0
    queue.register('bad-input', async () => {
      calls++
      throw new AppError('NO_ARTICLE_TEXT', 'nothing to read')
    })
    await queue.start()
    const job = await queue.enqueue('bad-input', 's')
    await until(async () => (await statusOf(store, job.id)) === 'failed')
    expect(calls).toBe(1)
  })

  it('runs at most `concurrency` jobs; a prioritized job runs next, never beyond the limit', async () => {
    const { store, queue } = await setup({ concurrency: 2 })
    let running = 0
    let peak = 0
    const order: string[] = []
    const releases: (() => void)[] = []
    queue.register('slow', async ({ job }) => {
      running++
      peak = Math.max(peak, running)
      order.push(job.subjectId)
      await new Promise<void>((r) => releases.push(r))
      running--
    })
    await queue.start()
    const jobs: { id: number }[] = []
    for (let i = 0; i < 5; i++) jobs.push(await queue.enqueue('slow', `s${i}`))
    await until(() => running === 2)
    await new Promise((r) => setTimeout(r, 150))
    expect(running).toBe(2)
    // A reader is waiting for s4: it goes to the front of the queue, but does not start beyond the limit.
    expect(await queue.prioritize('slow', 's4')).toMatchObject({ subjectId: 's4', status: 'queued' })
    await new Promise((r) => setTimeout(r, 150))
    expect(running).toBe(2)
    while ((await Promise.all(jobs.map((j) => statusOf(store, j.id)))).some((st) => st !== 'done')) {
      releases.splice(0, 1).forEach((r) => r())
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(peak).toBe(2)
    expect(queue.peakRunning).toBe(2)
    expect(order.slice(0, 3)).toEqual(['s0', 's1', 's4'])
  })

  it('a prioritized job keeps its retry backoff', async () => {
    const { store, queue } = await setup({ concurrency: 1, retryBaseMs: 1500 })
    const starts: number[] = []
    queue.register('flaky', async () => {
      starts.push(Date.now())
      if (starts.length === 1) throw new Error('transient')
    })
    await queue.start()
    const job = await queue.enqueue('flaky', 'f')
    await until(async () => starts.length === 1 && (await statusOf(store, job.id)) === 'queued')
    await queue.prioritize('flaky', 'f')
    await until(async () => (await statusOf(store, job.id)) === 'done', 10_000)
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(1400)
  })

  it('a newer job for the same subject supersedes (aborts) the running one', async () => {
    const { store, queue } = await setup()
    let aborted = false
    queue.register('render', async ({ job, signal }) => {
      if (job.payload.v === 1) {
        await new Promise<void>((resolve, reject) => signal.addEventListener('abort', () => {
          aborted = true
          reject(signal.reason)
        }))
      }
    })
    await queue.start()
    const first = await queue.enqueue('render', 'article', { v: 1 })
    await until(async () => (await statusOf(store, first.id)) === 'running')
    const second = await queue.enqueue('render', 'article', { v: 2 })
    await until(async () => (await statusOf(store, second.id)) === 'done')
    expect(aborted).toBe(true)
    expect(await statusOf(store, first.id)).toBe('cancelled')
  })

  it('resumes jobs interrupted by a crash, and stop() checkpoints running jobs', async () => {
    const a = await setup()
    a.queue.register('long', ({ signal }) => new Promise<void>((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))))
    await a.queue.start()
    const job = await a.queue.enqueue('long', 'x')
    await until(async () => (await statusOf(a.store, job.id)) === 'running')
    await a.queue.stop(50) // grace over: aborted and put back to queued
    expect(await statusOf(a.store, job.id)).toBe('queued')
    // Simulate a crash mid-run: the row says running, nobody is running it.
    await a.store.jobs.claim(job.id)
    await a.store.close()

    const b = await setup({}, a.file)
    let ran = 0
    b.queue.register('long', async () => {
      ran++
    })
    await b.queue.start()
    await until(async () => (await statusOf(b.store, job.id)) === 'done')
    expect(ran).toBe(1)
  })
})
