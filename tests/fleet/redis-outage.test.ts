/**
 * A Redis outage in the middle of a render (tests/fleet/fleet.test.ts covers one that starts before the article is
 * posted): an API node and a worker reach Redis through a TCP proxy the test cuts while the worker renders (longer
 * than the job's lock, so the job is also found stalled) and then restores.
 * - during the outage: /readyz on both nodes is 503 and names only Redis; a reader gets a quick 503; both stay up;
 * - once restored: the article is published once (one episode row), whole, and no run of the job failed.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg } from '../../src/audio/ffmpeg.ts'
import { LOCK_MS } from '../../src/fleet/bull-queue.ts'
import { paragraphs } from '../http/helpers.ts'
import { article, fleetEnv, jobLines, postArticle, waitReady, type Node } from './nodes.ts'
import { fleetRun } from './fixture.ts'
import { REDIS_URL, redisProblem } from './redis-env.ts'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts'

const { dir, prefix, nodes, start, onCleanup } = fleetRun('redis-outage')
let proxy: TcpProxy
let api: Node, worker: Node

beforeAll(async () => {
  if (redisProblem) return
  const target = new URL(REDIS_URL)
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
  const via = new URL(REDIS_URL)
  via.host = `127.0.0.1:${proxy.port}`
  const env = fleetEnv({ dir, redisUrl: via.toString(), prefix, extra: { BRIEFCAST_RENDER_CPU: 'nice' } })
  api = await start('api', 'api', env)
  worker = await start('worker', 'worker', env)
}, 180_000)

onCleanup(() => proxy?.close())

async function readyz(n: Node): Promise<{ status: number; checks: Record<string, { ok: boolean; detail: string }> }> {
  const r = await fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(10_000) })
  const body = (await r.json()) as { checks: Record<string, { ok: boolean; detail: string }> }
  return { status: r.status, checks: body.checks }
}
const alive = (n: Node) => n.proc.exitCode === null && n.proc.signalCode === null
const episodeRows = (id: string) => {
  const db = new Database(path.join(dir, 'data', 'briefcast.db'), { readonly: true })
  try {
    return db.prepare('SELECT id FROM episodes WHERE article_id = ?').all(id)
  } finally {
    db.close()
  }
}

describe.skipIf(redisProblem)('a Redis outage in the middle of a render', () => {
  it('readyz names Redis, readers get a quick 503; after the outage the article is published once, whole', async () => {
    const id = await postArticle(api.url, { title: 'Rendered through a Redis outage', text: paragraphs(30, 'Redis went away while this was rendered') })
    const deadline = Date.now() + 120_000
    for (;;) {
      const s = await article(api.url, id)
      if (s.status === 'rendering' && (s.progress as number) > 0.05) break
      expect(s.status).not.toBe('ready')
      if (Date.now() > deadline) throw new Error('the render never got under way')
      await new Promise((r) => setTimeout(r, 50))
    }

    proxy.cut()
    const cutAt = Date.now()
    for (const n of nodes) {
      let r = await readyz(n)
      while (r.status !== 503 && Date.now() - cutAt < 10_000) {
        await new Promise((res) => setTimeout(res, 100))
        r = await readyz(n)
      }
      console.log(`${n.name}: /readyz ${r.status} ${Date.now() - cutAt} ms after the cut`)
      expect(r.status).toBe(503)
      expect(r.checks.redis!.ok).toBe(false)
      expect(Object.entries(r.checks).filter(([, c]) => !c.ok).map(([name]) => name)).toEqual(['redis'])
    }
    const t0 = Date.now()
    const listen = await fetch(`${api.url}/listen/${id}`, { signal: AbortSignal.timeout(15_000) })
    expect(listen.status).toBe(503)
    expect(((await listen.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE')
    expect(Date.now() - t0).toBeLessThan(10_000)
    // Longer than the job's lock: the worker loses it, and the job is found stalled once Redis is back.
    while (Date.now() - cutAt < LOCK_MS + 3000) await new Promise((r) => setTimeout(r, 200))
    expect(alive(api) && alive(worker)).toBe(true)

    proxy.restore()
    const restoredAt = Date.now()
    const ready = await waitReady(api.url, id, 180_000)
    console.log(`article ready ${Date.now() - restoredAt} ms after Redis came back`)
    for (const n of nodes) expect((await readyz(n)).status).toBe(200)
    expect(alive(api) && alive(worker)).toBe(true)
    console.log(`runs of the job: ${jobLines(worker, id, 'job started').length}`)
    expect(jobLines(worker, id, 'job failed')).toEqual([])
    expect(jobLines(worker, id, 'job done').length).toBeGreaterThanOrEqual(1)
    expect(episodeRows(id)).toHaveLength(1)
    const ep = ready.episode as { hash: string; bytes: number; durationMs: number }
    const file = path.join(dir, 'cache', 'episodes', `${ep.hash}.mp3`)
    expect(readFileSync(file).length).toBe(ep.bytes)
    const probe = await (await createFfmpeg()).probe(file)
    expect(Math.abs(probe.durationMs - ep.durationMs)).toBeLessThan(500)
    // Nothing of the job left in the queue.
    const end = Date.now() + 30_000
    while (((await article(api.url, id)).job ?? null) !== null && Date.now() < end) await new Promise((r) => setTimeout(r, 200))
    expect((await article(api.url, id)).job ?? null).toBeNull()
  }, 420_000)
})
