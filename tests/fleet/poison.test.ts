/**
 * A render that kills its worker every time (the test plays the out-of-memory killer: `kill -9` of the worker as
 * soon as it starts the article, and a new worker started in its place, as a supervisor would). After MAX_CRASHES
 * runs that never came back the article fails with RENDER_CRASHED, visible in the API; the reconciler of a fresh
 * worker does not enqueue it again; an edit renders it again.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_CRASHES } from '../../src/fleet/bull-queue.ts'
import { paragraphs } from '../http/helpers.ts'
import { article, auth, jobLines, postArticle, waitReady, type Node } from './nodes.ts'
import { fleetRun } from './fixture.ts'
import { redisProblem } from './redis-env.ts'

const { start } = fleetRun('poison')
let api: Node

beforeAll(async () => {
  if (redisProblem) return
  api = await start('api', 'api')
}, 180_000)

const worker = (name: string): Promise<Node> => start('worker', name)

async function until(what: string, timeoutMs: number, ok: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.skipIf(redisProblem)('a render that crashes its worker every time', () => {
  it(`fails with RENDER_CRASHED after ${MAX_CRASHES} crashes, is not enqueued again, and renders again after an edit`, async () => {
    let w = await worker('worker-1')
    const id = await postArticle(api.url, { title: 'Crashes its worker', text: paragraphs(30, 'Rendering this kills the worker') })
    const t0 = Date.now()
    for (let crash = 1; crash <= MAX_CRASHES; crash++) {
      const current = w
      await until(`run ${crash} started`, 90_000, () => jobLines(current, id, 'job started').length > 0)
      await current.kill('SIGKILL')
      console.log(`run ${crash} killed ${Date.now() - t0} ms in`)
      w = await worker(`worker-${crash + 1}`)
    }
    // The next run (once the stalled check hands the job to the new worker) is refused.
    const last = w
    await until('the article failed', 90_000, async () => (await article(api.url, id)).status === 'failed')
    const failed = await article(api.url, id)
    console.log(`failed ${Date.now() - t0} ms in`)
    expect((failed.error as { code: string }).code).toBe('RENDER_CRASHED')
    expect(last.log.filter((e) => e.subject === id && e.msg === 'job failed: it crashed its worker every time it ran')).toHaveLength(1)
    expect(jobLines(last, id, 'job started')).toEqual([])
    expect(failed.job ?? null).toBeNull()

    // A fresh worker's reconciler (first sweep a second after start) leaves the failed article alone.
    const fresh = await worker('worker-fresh')
    await new Promise((r) => setTimeout(r, 5000))
    for (const n of [last, fresh]) expect(jobLines(n, id, 'job started')).toEqual([])
    expect((await article(api.url, id)).status).toBe('failed')

    // An edit is a new revision: it renders (nobody kills it now).
    const r = await fetch(`${api.url}/api/articles/${id}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ text: paragraphs(3, 'Edited so that it renders') }),
    })
    expect(r.status, await r.clone().text()).toBe(200)
    const ready = await waitReady(api.url, id, 180_000)
    expect(ready.error ?? null).toBeNull()
    expect([last, fresh].flatMap((n) => jobLines(n, id, 'job done'))).toHaveLength(1)
  }, 480_000)
})
