/** serveBlobRaw (src/http/serve-file.ts) over an S3 bucket: exact ranged bytes, and a clear 503 when the bucket goes away. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serveBlobRaw } from '../../src/http/serve-file.ts'
import { S3BlobStore } from '../../src/storage/s3.ts'
import { parseStorageUrl, type S3Location } from '../../src/storage/url.ts'
import { startS3, type TestS3 } from './s3rver.ts'

let s3: TestS3
let store: S3BlobStore
let server: http.Server
let base: string
let dir: string
const data = randomBytes(300_000)

beforeAll(async () => {
  s3 = await startS3()
  dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-serve-blob-'))
  store = new S3BlobStore({ location: parseStorageUrl(s3.url('p')) as S3Location, cacheDir: dir, connectTimeoutMs: 300 })
  await store.put('episodes/x.mp3', data, { contentType: 'audio/mpeg' })
  await store.put('episodes/y.mp3', data.subarray(0, 1000), { contentType: 'audio/mpeg' })
  server = http.createServer((req, res) => {
    const key = `episodes/${req.url!.slice(1)}`
    void serveBlobRaw(req, res, { store, key, contentType: 'audio/mpeg', etag: '"x-mp3"', cacheControl: 'public, max-age=31536000, immutable' }).then((err) => {
      if (!err) return
      res.statusCode = err.status
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ error: err.toJSON() }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server?.close()
  await store?.close()
  await s3?.close().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
})

describe('serveBlobRaw', () => {
  it('streams the exact range, the whole object, and 404 for a missing key', async () => {
    const r = await fetch(`${base}/x.mp3`, { headers: { range: 'bytes=250000-299999' } })
    expect(r.status).toBe(206)
    expect(r.headers.get('content-range')).toBe('bytes 250000-299999/300000')
    expect(Buffer.from(await r.arrayBuffer()).equals(data.subarray(250_000))).toBe(true)
    const whole = await fetch(`${base}/x.mp3`)
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true)
    const missing = await fetch(`${base}/none.mp3`)
    expect(missing.status).toBe(404)
  })

  it('answers 503 STORAGE_UNAVAILABLE (JSON, no file headers) when the bucket is unreachable', async () => {
    // y.mp3's size is known (cached) before the outage: the GET itself fails.
    expect((await fetch(`${base}/y.mp3`, { method: 'HEAD' })).status).toBe(200)
    await s3.close()
    for (const name of ['y.mp3', 'x2.mp3']) {
      const r = await fetch(`${base}/${name}`, { headers: { range: 'bytes=0-99' } })
      expect(r.status).toBe(503)
      expect(r.headers.get('etag')).toBeNull()
      expect(r.headers.get('content-range')).toBeNull()
      const body = (await r.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('STORAGE_UNAVAILABLE')
      expect(body.error.message).toMatch(/did not answer/)
    }
  })
})
