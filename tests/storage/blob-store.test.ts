/** The BlobStore contract (tests/storage/contract.ts) against the local store and S3 (s3rver on 127.0.0.1). */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalBlobStore } from '../../src/storage/local.ts'
import { S3BlobStore } from '../../src/storage/s3.ts'
import { parseStorageUrl, type S3Location } from '../../src/storage/url.ts'
import { blobStoreContract, type ContractContext } from './contract.ts'
import { startS3, type TestS3 } from './s3rver.ts'

describe('LocalBlobStore', () => {
  let dir: string
  let ctx: ContractContext
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-blobs-'))
    ctx = { store: new LocalBlobStore(path.join(dir, 'cache')), dir }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  blobStoreContract('local', () => ctx)

  it('keeps the embedded layout: a key is the file name under the cache directory, no temp files left', async () => {
    await ctx.store.put('episodes/layout.mp3', Buffer.from('abc'))
    expect(ctx.store.localPath('episodes/layout.mp3')).toBe(path.join(dir, 'cache', 'episodes', 'layout.mp3'))
    expect(readdirSync(path.join(dir, 'cache', 'episodes')).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})

describe('S3BlobStore (s3rver)', () => {
  let s3: TestS3
  let dir: string
  let ctx: ContractContext
  let loc: S3Location
  beforeAll(async () => {
    s3 = await startS3()
    dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-blobs-'))
    loc = parseStorageUrl(s3.url('site/one')) as S3Location
    ctx = { store: new S3BlobStore({ location: loc, cacheDir: path.join(dir, 'cache') }), dir }
  })
  afterAll(async () => {
    await ctx.store.close()
    await s3.close()
    rmSync(dir, { recursive: true, force: true })
  })
  blobStoreContract('s3', () => ctx)

  it('writes under the prefix, with content type, Cache-Control and the checksum as metadata', async () => {
    await ctx.store.put('episodes/p.mp3', Buffer.from('id3'), { contentType: 'audio/mpeg' })
    const r = await fetch(`${s3.endpoint}/${s3.bucket}/site/one/episodes/p.mp3`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('audio/mpeg')
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(r.headers.get('x-amz-meta-sha256')).toMatch(/^[0-9a-f]{64}$/)
    expect(await r.text()).toBe('id3')
    // Nothing at the bucket root: the prefix is honoured.
    expect((await fetch(`${s3.endpoint}/${s3.bucket}/episodes/p.mp3`)).status).toBe(404)
  })

  it('a missing bucket fails check with a message naming the bucket; an unreachable endpoint says so', async () => {
    const missing = new S3BlobStore({ location: { ...loc, bucket: 'no-such-bucket' }, cacheDir: dir })
    await expect(missing.check()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringContaining('"no-such-bucket" does not exist') })
    await missing.close()
    const down = new S3BlobStore({ location: { ...loc, endpoint: 'http://127.0.0.1:9' }, cacheDir: dir, connectTimeoutMs: 500 })
    await expect(down.check()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringContaining('did not answer') })
    await expect(down.get('episodes/p.mp3')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' })
    await down.close()
  })
})
