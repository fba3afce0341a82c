/**
 * Readers following renders share Redis connections: 20 readers of 20 different articles on one API node (their
 * renders queued, no worker yet) hold at most one follow connection of that node open (CLIENT LIST), not one each;
 * once a worker starts, every one of them hears its article through it.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Redis } from 'ioredis'
import { beforeAll, describe, expect, it } from 'vitest'
import { postArticle, waitReady, type Node } from './nodes.ts'
import { fleetRun } from './fixture.ts'
import { REDIS_URL, redisProblem } from './redis-env.ts'

const { dir, prefix, env, start } = fleetRun('follow')
let api: Node

beforeAll(async () => {
  if (redisProblem) return
  api = await start('api', 'api')
}, 180_000)

/** This run's follow connections, by the name each node gives them (src/fleet/render-stream.ts). */
async function followConnections(): Promise<number> {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  try {
    const list = (await r.client('LIST')) as string
    return list.split('\n').filter((line) => line.includes(` name=briefcast-follow:${prefix} `)).length
  } finally {
    r.disconnect()
  }
}

const FOLLOWERS = 20

describe.skipIf(redisProblem)('followers of renders on one API node', () => {
  it(`${FOLLOWERS} readers of different articles share one Redis connection, and each hears its article`, async () => {
    const ids: string[] = []
    for (let i = 0; i < FOLLOWERS; i++) ids.push(await postArticle(api.url, { title: `Followed ${i}`, text: `Story number ${i + 1} is short. It has two sentences.` }))
    // The answers start with the first piece: until a worker renders, every reader is following a queued render.
    const listens = ids.map((id) => fetch(`${api.url}/listen/${id}`))
    await new Promise((r) => setTimeout(r, 3000))
    const open = await followConnections()
    console.log(`${FOLLOWERS} followers: ${open} follow connection(s)`)
    expect(open).toBeGreaterThanOrEqual(1)
    expect(open).toBeLessThanOrEqual(1)

    await start('worker', 'worker', { ...env, BRIEFCAST_JOB_CONCURRENCY: '2' })
    const responses = await Promise.all(listens)
    for (const r of responses) {
      expect(r.status).toBe(200)
      expect(r.headers.get('x-briefcast-progressive')).toBe('1')
    }
    const bodies = responses.map(async (r) => Buffer.from(await r.arrayBuffer()))
    const heard = await Promise.all(bodies)
    for (const [i, id] of ids.entries()) {
      const ready = await waitReady(api.url, id)
      const ep = ready.episode as { hash: string }
      const file = readFileSync(path.join(dir, 'cache', 'episodes', `${ep.hash}.mp3`))
      expect(heard[i]!.length, `article ${i}`).toBeGreaterThan(0)
      expect(file.indexOf(heard[i]!), `article ${i}: the streamed audio is its episode's`).toBeGreaterThanOrEqual(0)
    }
    expect(await followConnections()).toBeLessThanOrEqual(1)
  }, 400_000)
})
