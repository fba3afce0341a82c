/**
 * Several nodes, each its own process, sharing the real Redis: two API nodes
 * (`briefcast serve --no-render`) and two `briefcast worker`s, on one machine
 * (shared SQLite file and cache directory, fleet.singleMachine).
 * - an article posted to node A is heard progressively on node B while a worker renders it;
 * - 50 first listens spread over both API nodes make one render;
 * - `kill -9` of the worker holding a render: the other worker takes the job over and
 *   finishes it; the episode is whole and published once.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import Database from 'better-sqlite3'
import { beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg } from '../../src/audio/ffmpeg.ts'
import { paragraphs, postJson, startTestService, waitForArticle } from '../http/helpers.ts'
import { article, expectStreamIsEpisode, jobLines, killHolderMidRender, listenWhileRendering, postArticle, startNode, waitReady, type Node } from './nodes.ts'
import { fleetRun } from './fixture.ts'
import { redisProblem } from './redis-env.ts'

const { dir, env, start } = fleetRun('fleet')
let a: Node, b: Node, w1: Node, w2: Node

beforeAll(async () => {
  if (redisProblem) return
  // The first node creates the database; the others start beside it.
  a = await start('api', 'api-a')
  ;[b, w1, w2] = await Promise.all([start('api', 'api-b'), start('worker', 'worker-1'), start('worker', 'worker-2')])
}, 180_000)

const workers = () => [w1, w2]
const episodeRows = (id: string) => {
  const db = new Database(path.join(dir, 'data', 'briefcast.db'), { readonly: true })
  try {
    return db.prepare('SELECT id, revision, hash FROM episodes WHERE article_id = ?').all(id) as { id: number; revision: number; hash: string }[]
  } finally {
    db.close()
  }
}

describe.skipIf(redisProblem)('a fleet: 2 API nodes, 2 workers, Redis', () => {
  it('reports Redis in /readyz on API nodes and workers', async () => {
    for (const n of [a, w1]) {
      const r = await fetch(`${n.url}/readyz`)
      expect(r.status).toBe(200)
      const body = (await r.json()) as { checks: Record<string, { ok: boolean; detail: string }> }
      expect(body.checks.redis).toEqual({ ok: true, detail: expect.stringMatching(/^ok: redis:\/\/127\.0\.0\.1/) as unknown })
    }
  })

  it('a worker says ready, and takes jobs, only once its render child has its engine up', async () => {
    const w3 = await startNode('worker', 'worker-3', env)
    try {
      // Checked right at the ready line: the render child is already past its start-up.
      const r = await fetch(`${w3.url}/readyz`)
      const body = (await r.json()) as { checks: Record<string, { ok: boolean; detail: string }> }
      expect(body.checks.renderer).toEqual({ ok: true, detail: 'ready' })
      const ready = w3.log.find((e) => e.msg === 'briefcast worker ready')!
      expect(ready.renderStartMs).toEqual(expect.any(Number))
    } finally {
      await w3.kill('SIGTERM')
    }
  })

  it('an article posted to node A is heard on node B while a worker renders it', async () => {
    const { id, streamed, ready } = await listenWhileRendering(a, b, { title: 'Heard on B', text: paragraphs(14, 'Posted to one node and heard on another') })
    const ep = ready.episode as { hash: string; bytes: number }
    expectStreamIsEpisode(streamed, readFileSync(path.join(dir, 'cache', 'episodes', `${ep.hash}.mp3`)))
    expect(workers().flatMap((w) => jobLines(w, id, 'job started'))).toHaveLength(1)
  })

  it('50 first listens over two API nodes make one render, and all hear the same audio', async () => {
    const id = await postArticle(a.url, { title: 'Fifty readers, two nodes', text: paragraphs(8, 'Fifty readers arrived at two nodes') })
    const bodies = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const node = i % 2 === 0 ? a : b
        const res = await fetch(`${node.url}/listen/${id}`, { redirect: 'manual' })
        if (res.status === 302) return { progressive: false, body: Buffer.from(await (await fetch(res.headers.get('location')!)).arrayBuffer()) }
        expect(res.status, res.status === 200 ? '' : await res.text()).toBe(200)
        return { progressive: true, body: Buffer.from(await res.arrayBuffer()) }
      }),
    )
    await waitReady(a.url, id)
    expect(workers().flatMap((w) => jobLines(w, id, 'job started'))).toHaveLength(1)
    expect(workers().flatMap((w) => jobLines(w, id, 'job done'))).toHaveLength(1)
    const streamed = bodies.filter((x) => x.progressive)
    expect(streamed.length).toBeGreaterThan(0)
    for (const x of streamed) expect(x.body.equals(streamed[0]!.body)).toBe(true)
    expect(episodeRows(id)).toHaveLength(1)
  })

  it('kill -9 of the worker holding a render: the other worker finishes it, published once', async () => {
    const id = await postArticle(a.url, { title: 'Killed worker', text: paragraphs(30, 'The worker rendering this was killed') })
    const { holder, other, takeoverMs } = await killHolderMidRender(a.url, id, [w1, w2])
    expect(takeoverMs).toBeLessThan(30_000)

    const ready = await waitReady(a.url, id)
    expect(jobLines(other, id, 'job done')).toHaveLength(1)
    expect(jobLines(holder, id, 'job done')).toHaveLength(0)
    const rows = episodeRows(id)
    expect(rows).toHaveLength(1)
    const ep = ready.episode as { hash: string; bytes: number; durationMs: number }
    const file = path.join(dir, 'cache', 'episodes', `${ep.hash}.mp3`)
    expect(readFileSync(file).length).toBe(ep.bytes)
    const probe = await (await createFfmpeg()).probe(file)
    expect(Math.abs(probe.durationMs - ep.durationMs)).toBeLessThan(500)
    // Nothing left in the queue for the article.
    expect((await article(b.url, id)).job ?? null).toBeNull()
  })

  it('SIGTERM: the worker finishes its render or hands it back, exits 0, and the article is published once', async () => {
    const survivor = workers().find((w) => w.proc.exitCode === null && w.proc.signalCode === null)!
    const fresh = await start('worker', 'worker-3')
    const id = await postArticle(a.url, { title: 'Worker stopped', text: paragraphs(30, 'The worker rendering this was asked to stop') })
    let holder: Node | undefined
    const deadline = Date.now() + 120_000
    while (!(holder = [survivor, fresh].find((w) => jobLines(w, id, 'job started').length > 0))) {
      if (Date.now() > deadline) throw new Error('the render never started')
      await new Promise((r) => setTimeout(r, 50))
    }
    const other = holder === survivor ? fresh : survivor
    holder.proc.kill('SIGTERM')
    expect(await holder.exited).toBe(0)
    await waitReady(a.url, id)
    const done = [holder, other].flatMap((w) => jobLines(w, id, 'job done'))
    expect(done).toHaveLength(1)
    // Handed back: the other worker took it; finished in the grace period: the other never started it.
    const handedBack = holder.log.some((e) => e.subject === id && e.msg === 'worker stopping: job handed back to the queue')
    expect(jobLines(other, id, 'job started').length).toBe(handedBack ? 1 : 0)
    expect(episodeRows(id)).toHaveLength(1)
  })
})

const redisServer = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
})()

/** A Redis of the test's own, so it can be stopped without disturbing anyone else's. */
function ownRedis(port: number): ChildProcess {
  return spawn(redisServer!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
}

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const { port } = srv.address() as net.AddressInfo
  await new Promise((r) => srv.close(r))
  return port
}

describe.skipIf(!redisServer)('a Redis outage while running', () => {
  it('/readyz names Redis as down; an article posted meanwhile renders once Redis is back', async () => {
    const port = await freePort()
    let redis = ownRedis(port)
    const svc = await startTestService({ 'redis.url': `redis://127.0.0.1:${port}`, 'fleet.singleMachine': true })
    try {
      const readyz = async () => {
        const r = await fetch(`${svc.url}/readyz`)
        return { status: r.status, redis: ((await r.json()) as { checks: Record<string, { ok: boolean; detail: string }> }).checks.redis! }
      }
      const before = await (async () => {
        for (let i = 0; i < 50; i++) {
          const r = await readyz()
          if (r.status === 200) return r
          await new Promise((res) => setTimeout(res, 100))
        }
        return readyz()
      })()
      expect(before.status).toBe(200)
      expect(before.redis.ok).toBe(true)

      redis.kill('SIGKILL')
      await once(redis, 'exit')
      const down = await readyz()
      expect(down.status).toBe(503)
      expect(down.redis.ok).toBe(false)
      expect(down.redis.detail).toMatch(/^down: redis:\/\/127\.0\.0\.1:\d+/)

      // Stored at once; its render waits for Redis.
      const r = await postJson(svc, '/api/articles', { title: 'During the outage', text: paragraphs(2, 'Posted while Redis was down') })
      expect(r.status).toBe(201)
      const { id } = (await r.json()) as { id: string }
      await new Promise((res) => setTimeout(res, 1000))
      expect((await svc.deps.store.articles.get(id))!.status).toBe('queued')
      // A reader asking meanwhile gets a clear error to retry, not a request that hangs.
      const t0 = Date.now()
      const listen = await fetch(`${svc.url}/listen/${id}`)
      expect(listen.status).toBe(503)
      expect(((await listen.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE')
      expect(Date.now() - t0).toBeLessThan(10_000)

      redis = ownRedis(port)
      await waitForArticle(svc, id, (a) => a.status === 'ready', 90_000)
      expect((await readyz()).status).toBe(200)
      expect((await svc.deps.store.episodes.listForArticle(id))).toHaveLength(1)
    } finally {
      await svc.stop()
      redis.kill('SIGKILL')
    }
  })
})
