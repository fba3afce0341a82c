/**
 * The service with object storage (BRIEFCAST_STORAGE_URL at s3rver on 127.0.0.1): renders land in the
 * bucket, the API node proxies ranged GETs from it with the usual HTTP semantics, an edit on a machine
 * without the local caches re-renders only the changed segments (clips and pieces come from the bucket),
 * BRIEFCAST_STORAGE_PUBLIC_URL turns audio URLs into redirects, /readyz reports a storage outage, and a
 * wrong bucket or endpoint stops the start-up with CONFIG_INVALID naming the setting.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, type Dirent } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startService } from '../../src/main.ts'
import { S3BlobStore } from '../../src/storage/s3.ts'
import { parseStorageUrl, type S3Location } from '../../src/storage/url.ts'
import { paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { startS3, type TestS3 } from './s3rver.ts'

process.env.METADATA_SERVER_DETECTION = 'none'

let s3: TestS3
let svc: TestService
let bucket: S3BlobStore
let cacheDir: string
let dataDir: string
let id: string
let audioUrl: string
let audioKey: string

const keysUnder = async (prefix: string) => {
  const out: { key: string; size: number }[] = []
  for await (const o of bucket.list(prefix)) out.push({ key: o.key, size: o.size })
  return out
}
/** Every file under a directory, relative paths. */
const filesUnder = (dir: string): string[] =>
  existsSync(dir) ? (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[]).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))) : []

let readerDir: string | undefined

beforeAll(async () => {
  s3 = await startS3()
  readerDir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-s3-reader-'))
  bucket = new S3BlobStore({ location: parseStorageUrl(s3.url('news')) as S3Location, cacheDir: readerDir })
  svc = await startTestService({ 'storage.url': s3.url('news') })
  cacheDir = svc.config.cacheDir
  dataDir = svc.config.dataDir
})

afterAll(async () => {
  await svc?.stop()
  await bucket?.close()
  await s3?.close()
  if (readerDir) rmSync(readerDir, { recursive: true, force: true })
})

describe('service with S3 storage', () => {
  it('renders an article into the bucket; nothing but caches and temp files stays local', async () => {
    const r = await postJson(svc, '/api/articles', { title: 'Stored in a bucket', text: paragraphs(3) })
    expect(r.status).toBe(201)
    id = ((await r.json()) as { id: string }).id
    const a = await waitForArticle(svc, id, ready)
    expect(a.status).toBe('ready')
    audioUrl = a.audioUrl as string
    const ep = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(id))!.episodeId!))!
    audioKey = ep.audioFile
    const episodes = (await keysUnder('episodes/')).map((o) => o.key).sort()
    expect(episodes).toEqual(
      [ep.audioFile, ep.chaptersFile, ep.timingsFile, ep.vttFile, `episodes/${ep.hash}.info.json`].sort(),
    )
    expect((await bucket.head(ep.audioFile))!.size).toBe(ep.bytes)
    expect((await bucket.head(ep.audioFile, { checksum: true }))!.checksum).toMatch(/^[0-9a-f]{64}$/)
    // Clips and pieces are shared through the bucket.
    expect((await keysUnder('pieces/')).filter((o) => o.key.endsWith('.mp3')).length).toBeGreaterThanOrEqual(3)
    expect((await keysUnder('clips/')).filter((o) => o.key.endsWith('.wav')).length).toBeGreaterThanOrEqual(3)
    // The default cover went to the bucket too.
    expect((await keysUnder('assets/')).length).toBeGreaterThanOrEqual(1)
    // Locally: no episode files, only read-through caches (clips, pieces, assets), temp dirs and small state files.
    const local = filesUnder(cacheDir)
    expect(local.filter((f) => f.startsWith('episodes/'))).toEqual([])
    expect(local.filter((f) => !/^(clips|pieces|assets|tmp)\//.test(f) && !['espeak-voices.json', 'ffmpeg-check.json'].includes(f))).toEqual([])
  })

  it('the feed lists the episode with the length of the stored object', async () => {
    const xml = await (await fetch(svc.url + '/feeds/articles.xml')).text()
    const ep = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(id))!.episodeId!))!
    const m = new RegExp(`<enclosure url="([^"]+)" length="(\\d+)"`).exec(xml)
    expect(m).not.toBeNull()
    expect(m![1]).toBe(audioUrl)
    expect(Number(m![2])).toBe((await bucket.head(ep.audioFile))!.size)
  })

  it('proxies ranged GETs from the bucket: exact bytes, HEAD, ETag, 304, If-Range and 416', async () => {
    const object = await bucket.getBuffer(audioKey)
    const size = object.length
    const head = await fetch(audioUrl, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(Number(head.headers.get('content-length'))).toBe(size)
    expect(head.headers.get('accept-ranges')).toBe('bytes')
    expect(head.headers.get('cache-control')).toMatch(/immutable/)
    const etag = head.headers.get('etag')!
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+-mp3"$/)

    const r = await fetch(audioUrl, { headers: { range: 'bytes=1000-5999' } })
    expect(r.status).toBe(206)
    expect(r.headers.get('content-range')).toBe(`bytes 1000-5999/${size}`)
    expect(r.headers.get('etag')).toBe(etag)
    expect(Buffer.from(await r.arrayBuffer()).equals(object.subarray(1000, 6000))).toBe(true)

    const tail = await fetch(audioUrl, { headers: { range: 'bytes=-100' } })
    expect(tail.status).toBe(206)
    expect(Buffer.from(await tail.arrayBuffer()).equals(object.subarray(size - 100))).toBe(true)

    const whole = await fetch(audioUrl)
    expect(whole.status).toBe(200)
    expect(Buffer.from(await whole.arrayBuffer()).equals(object)).toBe(true)

    expect((await fetch(audioUrl, { headers: { 'if-none-match': etag } })).status).toBe(304)
    const stale = await fetch(audioUrl, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } })
    expect(stale.status).toBe(200)
    expect(Buffer.from(await stale.arrayBuffer()).length).toBe(size)

    const bad = await fetch(audioUrl, { headers: { range: `bytes=${size}-` } })
    expect(bad.status).toBe(416)
    expect(bad.headers.get('content-range')).toBe(`bytes */${size}`)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('RANGE_NOT_SATISFIABLE')

    const info = (await (await fetch(svc.url + `/listen/${id}/info.json`)).json()) as Record<string, string>
    const vtt = await fetch(info.transcriptUrl!)
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/)
    expect(await vtt.text()).toMatch(/^WEBVTT/)
  })

  it('an edit on a machine without the local caches re-renders only the changed segments (clips and pieces from the bucket)', async () => {
    // Another worker: nothing of the first render on its disk.
    rmSync(path.join(cacheDir, 'clips'), { recursive: true, force: true })
    rmSync(path.join(cacheDir, 'pieces'), { recursive: true, force: true })
    const before = (await svc.deps.store.articles.get(id))!.episodeId!
    const r = await postJson(svc, `/api/articles/${id}`, { text: paragraphs(3) + '\n\nOne more paragraph was added at the end of the story.' }, 'PUT')
    expect(r.status).toBe(200)
    const done = await waitForArticle(svc, id, (a) => ready(a) && (a.episode as { revision: number } | null)?.revision === 2)
    expect(done.status).toBe('ready')
    const ep = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(id))!.episodeId!))!
    expect(ep.id).not.toBe(before)
    const { segments, synthesized, cached, encoded } = ep.stats as Record<string, number>
    expect(cached).toBeGreaterThan(0)
    expect(synthesized).toBeLessThan(segments!)
    expect(encoded).toBeLessThan(segments!)
    expect(cached! + synthesized!).toBe(segments)
    expect(await bucket.exists(ep.audioFile)).toBe(true)
    // The previous version stays served (a reader may be halfway through it).
    expect((await fetch(audioUrl, { method: 'HEAD' })).status).toBe(200)
  })

  it('deleting the article removes its episodes from the bucket', async () => {
    const eps = (await svc.deps.store.episodes.listForArticle(id))
    expect(eps.length).toBeGreaterThan(0)
    const r = await svc.api(`/api/articles/${id}`, { method: 'DELETE' })
    expect(r.status).toBe(204)
    for (const ep of eps) {
      expect(await bucket.exists(ep.audioFile)).toBe(false)
      expect(await bucket.exists(ep.timingsFile)).toBe(false)
      expect(await bucket.exists(`episodes/${ep.hash}.info.json`)).toBe(false)
    }
    expect((await fetch(audioUrl, { method: 'HEAD' })).status).toBe(404)
  })

  it('with BRIEFCAST_STORAGE_PUBLIC_URL, versioned audio URLs redirect to the public copy', async () => {
    const r = await postJson(svc, '/api/articles', { title: 'Behind a CDN', text: paragraphs(2, 'The harbour reopened') })
    const cdnId = ((await r.json()) as { id: string }).id
    const a = await waitForArticle(svc, cdnId, ready)
    expect(a.status).toBe('ready')
    const url = a.audioUrl as string
    const key = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(cdnId))!.episodeId!))!.audioFile
    await svc.close()
    // The same data and bucket, now with a public base URL (here the bucket itself, path style).
    const publicUrl = `${s3.endpoint}/${s3.bucket}/news`
    const restarted = await startService({
      env: {},
      cwd: path.resolve(import.meta.dirname, '../..'),
      handleSignals: false,
      shutdownGraceMs: 2000,
      logger: pino({ level: 'silent' }),
      overrides: { port: 0, host: '127.0.0.1', apiKey: 'test-key-0123456789abcdef', dataDir, cacheDir, 'storage.url': s3.url('news'), 'storage.publicUrl': publicUrl },
    })
    try {
      const path_ = new URL(url).pathname
      const res = await fetch(restarted.url + path_, { redirect: 'manual' })
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe(`${publicUrl}/${key}`)
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      // Following it gives the stored bytes.
      const followed = await fetch(restarted.url + path_)
      expect(followed.status).toBe(200)
      expect(Buffer.from(await followed.arrayBuffer()).equals(await bucket.getBuffer(key))).toBe(true)
    } finally {
      await restarted.close()
    }
  })
})

describe('storage outages and bad settings', () => {
  it('/readyz says when storage is down (503, storage: down: ...)', async () => {
    const own = await startS3()
    const service = await startTestService({ 'storage.url': own.url(), 'storage.connectTimeoutMs': 500 })
    try {
      const ok = await fetch(service.url + '/readyz')
      const okBody = (await ok.json()) as { checks: Record<string, { ok: boolean; detail?: string }> }
      expect(okBody.checks.storage).toEqual({ ok: true, detail: expect.stringContaining(own.bucket) })
      await own.close()
      const down = await fetch(service.url + '/readyz')
      expect(down.status).toBe(503)
      const body = (await down.json()) as { checks: Record<string, { ok: boolean; detail?: string }> }
      expect(body.checks.storage!.ok).toBe(false)
      expect(body.checks.storage!.detail).toMatch(/^down: /)
    } finally {
      await service.stop()
    }
  })

  it('a missing bucket or an unreachable endpoint stops the start-up with one CONFIG_INVALID naming BRIEFCAST_STORAGE_URL', async () => {
    const missing = s3.url('x').replace(s3.bucket, 'no-such-bucket')
    await expect(startTestService({ 'storage.url': missing })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/BRIEFCAST_STORAGE_URL[\s\S]*"no-such-bucket" does not exist/),
    })
    await expect(startTestService({ 'storage.url': 's3://some-bucket/x?endpoint=http://127.0.0.1:9&forcePathStyle=true', 'storage.connectTimeoutMs': 500 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/BRIEFCAST_STORAGE_URL: cannot use s3:\/\/some-bucket\/x/),
    })
  })
})
