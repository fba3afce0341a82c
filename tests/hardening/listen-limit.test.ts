/**
 * Public Listen requests share the render concurrency limit: with
 * BRIEFCAST_JOB_CONCURRENCY=1, listeners of 20 queued articles never cause
 * more than one render at a time, and each still hears its article.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, startTestService, type TestService } from '../http/helpers.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService({ 'jobs.concurrency': 1 })
})
afterAll(async () => {
  await svc?.stop()
})

describe('listener-triggered renders', () => {
  it('20 listens of 20 queued articles run one render at a time, and every listener hears its article', { timeout: 240_000 }, async () => {
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      const r = await postJson(svc, '/api/articles', { title: `Story ${i}`, text: `Story number ${i}. The council met on Tuesday and agreed on the budget.` })
      expect(r.status).toBe(201)
      ids.push(((await r.json()) as { id: string }).id)
    }
    // Sample the running jobs in the store while the listeners wait (independent of the queue's own counter).
    let peak = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await svc.deps.store.jobs.counts()).running)
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    const t0 = Date.now()
    const heard = await Promise.all(
      ids.map(async (id) => {
        const res = await fetch(`${svc.url}/listen/${id}`)
        expect(res.status, id).toBe(200)
        expect(res.headers.get('content-type')).toMatch(/^audio\//)
        const body = Buffer.from(await res.arrayBuffer())
        return { id, bytes: body.length, ms: Date.now() - t0 }
      }),
    )
    sampling = false
    await sampler
    console.log(`20 listeners heard their articles after ${heard.map((h) => h.ms).sort((a, b) => a - b).join(', ')} ms; peak renders at once: ${peak} (queue: ${svc.deps.jobs.peakRunning})`)
    expect(peak).toBeLessThanOrEqual(1)
    expect(svc.deps.jobs.peakRunning).toBe(1)
    for (const h of heard) expect(h.bytes, h.id).toBeGreaterThan(1000)
    for (const id of ids) expect(svc.deps.renders.rendersByArticle.get(id)).toBe(1)
  })
})
