/**
 * Issue #14's acceptance with every real part together: two API nodes (`briefcast serve --no-render`) and two
 * `briefcast worker`s, each its own process on its own port with its own data and cache directories (different
 * machines: no BRIEFCAST_FLEET_SINGLE_MACHINE), sharing PostgreSQL (a fresh schema), Redis (a prefix of its own)
 * and S3 (s3rver in this process, reached over 127.0.0.1).
 * - an article posted to node A is heard progressively on node B while it renders; its episode is in the bucket;
 *   B's feed lists it with the stored object's length; a Range request through B returns exactly those bytes;
 * - `kill -9` of the worker holding a render: the other worker finishes it, the episode is whole, one episode row
 *   for the revision, the job done once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg } from '../../src/audio/ffmpeg.ts'
import { S3BlobStore } from '../../src/storage/s3.ts'
import { parseStorageUrl, type S3Location } from '../../src/storage/url.ts'
import { paragraphs } from '../http/helpers.ts'
import { freshSchema, pgQuery, postgresUnavailable, urlWithSchema } from '../store/pg.ts'
import { startS3, type TestS3 } from '../storage/s3rver.ts'
import { article, expectStreamIsEpisode, fleetEnv, jobLines, killHolderMidRender, listenWhileRendering, postArticle, startNode, waitReady, type Node } from './nodes.ts'
import { dropPrefix, REDIS_URL, redisProblem, testPrefix } from './redis-env.ts'

process.env.METADATA_SERVER_DETECTION = 'none'

const pgProblem = await postgresUnavailable('the full fleet (tests/fleet/full-fleet.test.ts)')
const problem = redisProblem ?? pgProblem

const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-full-fleet-'))
const prefix = testPrefix('full-fleet')
const schema = freshSchema()
const nodes: Node[] = []
let s3: TestS3
let bucket: S3BlobStore
let a: Node, b: Node, w1: Node, w2: Node

/** Each node a machine of its own: its own data and cache directories; the database, queue and bucket shared. */
function nodeEnv(name: string): Record<string, string> {
  const env = fleetEnv({
    dir: path.join(dir, name),
    redisUrl: REDIS_URL,
    prefix,
    extra: {
      BRIEFCAST_RENDER_CPU: 'nice',
      BRIEFCAST_DATABASE_URL: urlWithSchema(schema),
      BRIEFCAST_STORAGE_URL: s3.url('news'),
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
    },
  })
  delete env.BRIEFCAST_FLEET_SINGLE_MACHINE
  return env
}

beforeAll(async () => {
  if (problem) return
  await pgQuery(`CREATE SCHEMA ${schema}`)
  s3 = await startS3()
  bucket = new S3BlobStore({ location: parseStorageUrl(s3.url('news')) as S3Location, cacheDir: path.join(dir, 'reader-cache') })
  // The first node creates the tables; the others start beside it.
  a = await startNode('api', 'api-a', nodeEnv('api-a'))
  nodes.push(a)
  const rest = await Promise.all([startNode('api', 'api-b', nodeEnv('api-b')), startNode('worker', 'worker-1', nodeEnv('worker-1')), startNode('worker', 'worker-2', nodeEnv('worker-2'))])
  nodes.push(...rest)
  ;[b, w1, w2] = rest as [Node, Node, Node]
}, 180_000)

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
  await dropPrefix(prefix)
  await bucket?.close()
  await s3?.close()
  rmSync(dir, { recursive: true, force: true })
  // The schema is dropped by tests/store/pg.ts's afterAll.
})

const workers = () => [w1, w2]
const episodeRows = (id: string, revision: number) =>
  pgQuery<{ id: number }>(`SELECT id FROM ${schema}.episodes WHERE article_id = $1 AND revision = $2`, [id, revision])
const jobRows = (id: string) => pgQuery<{ status: string }>(`SELECT status FROM ${schema}.jobs WHERE subject_id = $1`, [id])
/** A URL of the service, asked through node B. */
const throughB = (url: string) => {
  const u = new URL(url)
  return `${b.url}${u.pathname}${u.search}`
}

describe.skipIf(problem !== undefined)(`a fleet of separate machines: 2 API nodes, 2 workers, PostgreSQL, Redis, S3${problem ? ` (skipped: ${problem})` : ''}`, () => {
  it('starts without fleet.singleMachine; /readyz reports the database, Redis and storage', async () => {
    for (const n of nodes) {
      const r = await fetch(`${n.url}/readyz`)
      const body = (await r.json()) as { checks: Record<string, { ok: boolean; detail: string }> }
      expect(r.status, `${n.name}: ${JSON.stringify(body)}`).toBe(200)
      expect(body.checks.redis?.ok).toBe(true)
      expect(body.checks.database?.detail).toMatch(/^postgres /)
    }
  })

  let firstId: string
  let audioKey: string
  let audioUrl: string

  it('an article posted to node A is heard progressively on node B while it renders; the episode is in the bucket', async () => {
    const { id, streamed, ready } = await listenWhileRendering(a, b, { title: 'Heard on B from the bucket', text: paragraphs(14, 'Posted to one machine and heard on another') })
    firstId = id
    const ep = ready.episode as { hash: string; bytes: number; revision: number }
    audioUrl = ready.audioUrl as string
    audioKey = `episodes/${ep.hash}.mp3`
    const keys: { key: string; size: number }[] = []
    for await (const o of bucket.list('episodes/')) keys.push({ key: o.key, size: o.size })
    expect(keys.map((k) => k.key)).toContain(audioKey)
    expect(keys.find((k) => k.key === audioKey)!.size).toBe(ep.bytes)
    const file = await bucket.getBuffer(audioKey)
    expect(file.length).toBe(ep.bytes)
    expectStreamIsEpisode(streamed, file)
    expect(workers().flatMap((w) => jobLines(w, id, 'job started'))).toHaveLength(1)
    expect(workers().flatMap((w) => jobLines(w, id, 'job done'))).toHaveLength(1)
    expect(await episodeRows(id, ep.revision)).toHaveLength(1)
  })

  it("B's feed lists it with the stored object's length; a Range request through B returns exactly those bytes", async () => {
    const size = (await bucket.head(audioKey))!.size
    const xml = await (await fetch(`${b.url}/feeds/articles.xml`)).text()
    const item = xml.split('<item>').find((i) => i.includes('Heard on B from the bucket'))
    expect(item).toBeDefined()
    const m = /<enclosure url="([^"]+)" length="(\d+)"/.exec(item!)
    expect(m).not.toBeNull()
    expect(Number(m![2])).toBe(size)
    expect(new URL(m![1]!).pathname).toBe(new URL(audioUrl).pathname)

    const object = await bucket.getBuffer(audioKey)
    const r = await fetch(throughB(audioUrl), { headers: { range: 'bytes=1000-5999' } })
    expect(r.status).toBe(206)
    expect(r.headers.get('content-range')).toBe(`bytes 1000-5999/${size}`)
    expect(Buffer.from(await r.arrayBuffer()).equals(object.subarray(1000, 6000))).toBe(true)
    const tail = await fetch(throughB(audioUrl), { headers: { range: 'bytes=-777' } })
    expect(tail.status).toBe(206)
    expect(Buffer.from(await tail.arrayBuffer()).equals(object.subarray(size - 777))).toBe(true)
    const whole = await fetch(`${b.url}/listen/${firstId}`, { redirect: 'follow' })
    expect(whole.status).toBe(200)
    expect(Buffer.from(await whole.arrayBuffer()).equals(object)).toBe(true)
  })

  it('kill -9 of the worker holding a render: the other worker finishes it; whole episode, one row, done once', async () => {
    const id = await postArticle(a.url, { title: 'Killed worker, separate machines', text: paragraphs(30, 'The machine rendering this was killed') })
    const { holder, other } = await killHolderMidRender(a.url, id, [w1, w2])

    const ready = await waitReady(b.url, id)
    expect(jobLines(other, id, 'job done')).toHaveLength(1)
    expect(jobLines(holder, id, 'job done')).toHaveLength(0)
    const ep = ready.episode as { hash: string; bytes: number; durationMs: number; revision: number }
    expect(await episodeRows(id, ep.revision)).toHaveLength(1)
    // The queue is Redis: nothing of the job in the database's own job table, nothing left in the queue.
    expect(await jobRows(id)).toEqual([])
    const object = await bucket.getBuffer(`episodes/${ep.hash}.mp3`)
    expect(object.length).toBe(ep.bytes)
    const file = path.join(dir, 'killed.mp3')
    writeFileSync(file, object)
    const probe = await (await createFfmpeg()).probe(file)
    expect(Math.abs(probe.durationMs - ep.durationMs)).toBeLessThan(500)
    // What B serves is that object.
    const served = await fetch(throughB(ready.audioUrl as string))
    expect(Buffer.from(await served.arrayBuffer()).equals(object)).toBe(true)
    expect((await article(b.url, id)).job ?? null).toBeNull()
  })
})
