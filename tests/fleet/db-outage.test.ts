/**
 * A PostgreSQL outage while a fleet runs: an API node (`briefcast serve --no-render`) and a `briefcast worker`, both
 * on PostgreSQL through a TCP proxy the test cuts mid-render (every open connection destroyed, new ones refused) and
 * later restores, with Redis up all along.
 * - during the outage: /readyz on both nodes is 503 and names the database as down (Redis ok) within a few seconds;
 *   public and API requests get a 503 DATABASE_UNAVAILABLE JSON error quickly; both processes stay up; the render
 *   finishes its audio, cannot publish, and waits (the job is not failed);
 * - once restored: both nodes are ready again, the article becomes ready with one episode row, the job is done
 *   once, the episode file is whole, and nothing posted during the outage was half-written.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg } from '../../src/audio/ffmpeg.ts'
import { paragraphs } from '../http/helpers.ts'
import { freshSchema, PG_URL, pgQuery, postgresUnavailable, urlWithSchema } from '../store/pg.ts'
import { article, auth, fleetEnv, jobLines, postArticle, waitReady, type Node } from './nodes.ts'
import { fleetRun } from './fixture.ts'
import { REDIS_URL, redisProblem } from './redis-env.ts'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts'

const pgProblem = await postgresUnavailable('the database outage (tests/fleet/db-outage.test.ts)')
const problem = redisProblem ?? pgProblem

const { dir, prefix, nodes, start, onCleanup } = fleetRun('db-outage')
const schema = freshSchema()
let proxy: TcpProxy
let api: Node, worker: Node

beforeAll(async () => {
  if (problem) return
  await pgQuery(`CREATE SCHEMA ${schema}`)
  const target = new URL(PG_URL)
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  const url = new URL(urlWithSchema(schema))
  url.host = `127.0.0.1:${proxy.port}`
  const env = fleetEnv({
    dir,
    redisUrl: REDIS_URL,
    prefix,
    extra: {
      BRIEFCAST_RENDER_CPU: 'nice',
      BRIEFCAST_DATABASE_URL: url.toString(),
      BRIEFCAST_DATABASE_CONNECT_TIMEOUT_MS: '2000',
    },
  })
  api = await start('api', 'api', env)
  worker = await start('worker', 'worker', env)
}, 180_000)

onCleanup(() => proxy?.close())

interface Readyz {
  status: number
  checks: Record<string, { ok: boolean; detail: string }>
  dependencies: Record<string, string>
}
async function readyz(n: Node): Promise<Readyz> {
  const r = await fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(10_000) })
  const body = (await r.json()) as Omit<Readyz, 'status'>
  return { ...body, status: r.status }
}
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now()
  for (;;) {
    const value = await probe()
    if (value !== undefined) return { value, ms: Date.now() - t0 }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
const alive = (n: Node) => n.proc.exitCode === null && n.proc.signalCode === null
/** A request that must be answered quickly with a 503 DATABASE_UNAVAILABLE JSON error. */
async function unavailable(url: string, init: RequestInit = {}): Promise<{ ms: number; retryAfter: string | null }> {
  const t0 = Date.now()
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) })
  const ms = Date.now() - t0
  const body = (await r.json()) as { error: { code: string; message: string } }
  expect(r.status, `${url}: ${JSON.stringify(body)}`).toBe(503)
  expect(body.error.code).toBe('DATABASE_UNAVAILABLE')
  // Nothing of the database's address or driver reaches the public answer.
  expect(body.error.message).not.toMatch(/127\.0\.0\.1|ECONN|terminated/)
  return { ms, retryAfter: r.headers.get('retry-after') }
}

describe.skipIf(problem !== undefined)(`a PostgreSQL outage in the middle of a render${problem ? ` (skipped: ${problem})` : ''}`, () => {
  it('readyz names the database, requests get a quick 503, the render waits; after the outage the article is published once, whole', async () => {
    for (const n of nodes) expect((await readyz(n)).status).toBe(200)
    const id = await postArticle(api.url, { title: 'Rendered through an outage', text: paragraphs(30, 'The database went away while this was rendered') })
    await until('the render under way', 120_000, async () => {
      const s = await article(api.url, id)
      expect(s.status).not.toBe('ready') // long enough to be caught mid-render
      return s.status === 'rendering' && (s.progress as number) > 0.05 ? true : undefined
    })

    proxy.cut()
    const cutAt = Date.now()
    for (const n of nodes) {
      const { value: down, ms } = await until(`${n.name} /readyz down`, 10_000, async () => {
        const r = await readyz(n)
        return r.status === 503 ? r : undefined
      })
      console.log(`${n.name}: /readyz 503 ${ms} ms after the cut`)
      expect(Date.now() - cutAt).toBeLessThan(8_000)
      expect(down.checks.database!.ok).toBe(false)
      expect(down.dependencies.database).toMatch(/^down: postgres /)
      expect(down.checks.redis!.ok).toBe(true)
      // Only the database is down.
      expect(Object.entries(down.checks).filter(([, c]) => !c.ok).map(([name]) => name)).toEqual(['database'])
    }

    const answers = [
      await unavailable(`${api.url}/listen/${id}`),
      await unavailable(`${api.url}/api/articles/${id}`, { headers: auth }),
      await unavailable(`${api.url}/feeds/articles.xml`),
      await unavailable(`${api.url}/api/articles`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Posted during the outage', text: paragraphs(2, 'Posted while the database was away') }),
      }),
    ]
    console.log(`503 answers during the outage in ${answers.map((a) => a.ms).join(', ')} ms`)
    for (const a of answers) {
      expect(a.ms).toBeLessThan(10_000)
      expect(a.retryAfter).not.toBeNull()
    }

    // The render's audio is done meanwhile; publishing it needs the database: the job waits instead of failing.
    await until('the worker waiting for the database', 180_000, async () =>
      worker.log.some((e) => e.subject === id && e.msg === 'the database is unavailable; the job waits and runs again') ? true : undefined,
    )
    await new Promise((r) => setTimeout(r, 3000)) // and goes on waiting
    expect(alive(api) && alive(worker)).toBe(true)
    expect(jobLines(worker, id, 'job failed')).toEqual([])
    expect(jobLines(worker, id, 'job failed; will retry')).toEqual([])
    console.log(`outage lasted ${Date.now() - cutAt} ms`)

    proxy.restore()
    const restoredAt = Date.now()
    for (const n of nodes) await until(`${n.name} /readyz ready again`, 30_000, async () => ((await readyz(n)).status === 200 ? true : undefined))
    const ready = await waitReady(api.url, id, 120_000)
    console.log(`article ready ${Date.now() - restoredAt} ms after the database came back`)
    expect(alive(api) && alive(worker)).toBe(true)

    expect(jobLines(worker, id, 'job done')).toHaveLength(1)
    expect(jobLines(worker, id, 'job failed')).toEqual([])
    const ep = ready.episode as { hash: string; bytes: number; durationMs: number; revision: number }
    expect(await pgQuery(`SELECT id FROM ${schema}.episodes WHERE article_id = $1`, [id])).toHaveLength(1)
    // The article posted during the outage was refused whole: one article in the database, no job row of the queue's.
    expect(await pgQuery(`SELECT id FROM ${schema}.articles`)).toEqual([{ id }])
    expect(await pgQuery(`SELECT id FROM ${schema}.jobs`)).toEqual([])
    expect((await article(api.url, id)).job ?? null).toBeNull()
    const file = path.join(dir, 'cache', 'episodes', `${ep.hash}.mp3`)
    expect(readFileSync(file).length).toBe(ep.bytes)
    const probe = await (await createFfmpeg()).probe(file)
    expect(Math.abs(probe.durationMs - ep.durationMs)).toBeLessThan(500)
    // Readers hear it.
    const listen = await fetch(`${api.url}/listen/${id}`, { redirect: 'follow' })
    expect(listen.status).toBe(200)
    expect(Buffer.from(await listen.arrayBuffer()).length).toBe(ep.bytes)
  }, 420_000)
})
