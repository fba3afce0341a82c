/**
 * One contract for every BlobStore (src/storage/types.ts), run by
 * tests/storage/blob-store.test.ts against LocalBlobStore and S3BlobStore
 * (s3rver on 127.0.0.1). Each case uses its own keys, so order does not matter.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import type { BlobStore } from '../../src/storage/types.ts'

export interface ContractContext {
  store: BlobStore
  /** A scratch directory for local files. */
  dir: string
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const read = async (r: Readable) => {
  const chunks: Buffer[] = []
  for await (const c of r) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

export function blobStoreContract(name: string, ctx: () => ContractContext): void {
  describe(`BlobStore contract: ${name}`, () => {
    it('put a buffer, get it back whole and by range, head gives size, etag, date and checksum', async () => {
      const { store } = ctx()
      const data = randomBytes(100_000)
      const put = await store.put('episodes/abc.mp3', data, { contentType: 'audio/mpeg' })
      expect(put.size).toBe(data.length)
      expect(put.checksum).toBe(sha(data))
      expect((await read(await store.get('episodes/abc.mp3'))).equals(data)).toBe(true)
      expect((await read(await store.get('episodes/abc.mp3', { start: 10, end: 19 }))).equals(data.subarray(10, 20))).toBe(true)
      expect((await read(await store.get('episodes/abc.mp3', { start: 99_990, end: 99_999 }))).equals(data.subarray(99_990))).toBe(true)
      expect((await store.getBuffer('episodes/abc.mp3')).equals(data)).toBe(true)
      const head = await store.head('episodes/abc.mp3', { checksum: true })
      expect(head).toMatchObject({ key: 'episodes/abc.mp3', size: data.length, checksum: sha(data) })
      expect(head!.etag).toMatch(/^".+"$/)
      expect(Math.abs(head!.lastModified.getTime() - Date.now())).toBeLessThan(120_000)
      // Stable: the same object gives the same etag.
      expect((await store.head('episodes/abc.mp3'))!.etag).toBe(head!.etag)
      expect(await store.exists('episodes/abc.mp3')).toBe(true)
    })

    it('put a string and a stream', async () => {
      const { store } = ctx()
      await store.put('episodes/s.vtt', 'WEBVTT\n\n')
      expect((await store.getBuffer('episodes/s.vtt')).toString()).toBe('WEBVTT\n\n')
      const parts = [Buffer.from('one '), Buffer.from('two '), Buffer.from('three')]
      const info = await store.put('episodes/stream.json', Readable.from(parts))
      expect(info.size).toBe(13)
      expect((await store.getBuffer('episodes/stream.json')).toString()).toBe('one two three')
    })

    it('putFile of a large file (> 5 MB, multipart on S3) round-trips byte for byte, with its checksum', async () => {
      const { store, dir } = ctx()
      const data = randomBytes(12 * 1024 * 1024 + 123)
      const file = path.join(dir, 'big.mp3')
      await fs.writeFile(file, data)
      const info = await store.putFile('episodes/big.mp3', file, { contentType: 'audio/mpeg' })
      expect(info.size).toBe(data.length)
      const head = await store.head('episodes/big.mp3', { checksum: true })
      expect(head).toMatchObject({ size: data.length, checksum: sha(data) })
      const back = await read(await store.get('episodes/big.mp3'))
      expect(back.length).toBe(data.length)
      expect(sha(back)).toBe(sha(data))
      // A range across the 8 MiB part boundary.
      const start = 8 * 1024 * 1024 - 5
      expect((await read(await store.get('episodes/big.mp3', { start, end: start + 9 }))).equals(data.subarray(start, start + 10))).toBe(true)
    })

    it('a put replaces the whole object', async () => {
      const { store } = ctx()
      await store.put('assets/r.png', Buffer.alloc(5000, 1))
      await store.put('assets/r.png', Buffer.alloc(10, 2))
      const back = await store.getBuffer('assets/r.png')
      expect(back.equals(Buffer.alloc(10, 2))).toBe(true)
      expect((await store.head('assets/r.png'))!.size).toBe(10)
    })

    it('a failed upload leaves nothing behind: no object, not half of one', async () => {
      const { store } = ctx()
      let count = 0
      const failing = new Readable({
        read() {
          this.push(randomBytes(64 * 1024))
          if (++count === 3) this.destroy(new Error('source broke'))
        },
      })
      await expect(store.put('episodes/half.mp3', failing)).rejects.toThrow()
      expect(await store.exists('episodes/half.mp3')).toBe(false)
      expect(await store.head('episodes/half.mp3')).toBeUndefined()
      const keys = (await collect(store.list('episodes/'))).map((i) => i.key)
      expect(keys.filter((k) => k.includes('half'))).toEqual([])
    })

    it('missing keys: head undefined, exists false, get and materialize NOT_FOUND, delete is a no-op', async () => {
      const { store } = ctx()
      expect(await store.head('episodes/none.mp3')).toBeUndefined()
      expect(await store.exists('episodes/none.mp3')).toBe(false)
      const err = await store.get('episodes/none.mp3').then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).code).toBe('NOT_FOUND')
      await expect(store.getBuffer('episodes/none.mp3')).rejects.toMatchObject({ code: 'NOT_FOUND' })
      await expect(store.materialize('episodes/none.mp3')).rejects.toMatchObject({ code: 'NOT_FOUND' })
      await store.delete('episodes/none.mp3')
    })

    it('delete removes an object', async () => {
      const { store } = ctx()
      await store.put('pieces/del.mp3', Buffer.from('x'))
      await store.delete('pieces/del.mp3')
      expect(await store.exists('pieces/del.mp3')).toBe(false)
      await expect(store.get('pieces/del.mp3')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    })

    it('list by prefix: every key under it and nothing else, with sizes', async () => {
      const { store } = ctx()
      await store.put('list/a/1.json', Buffer.from('1'))
      await store.put('list/a/2.json', Buffer.from('22'))
      await store.put('list/ab.json', Buffer.from('333'))
      await store.put('list/b/3.json', Buffer.from('4444'))
      await store.put('other/x.json', Buffer.from('x'))
      const all = (await collect(store.list('list/'))).map((i) => [i.key, i.size]).sort()
      expect(all).toEqual([
        ['list/a/1.json', 1],
        ['list/a/2.json', 2],
        ['list/ab.json', 3],
        ['list/b/3.json', 4],
      ])
      expect((await collect(store.list('list/a'))).map((i) => i.key).sort()).toEqual(['list/a/1.json', 'list/a/2.json', 'list/ab.json'])
      expect((await collect(store.list('list/a/'))).map((i) => i.key).sort()).toEqual(['list/a/1.json', 'list/a/2.json'])
      expect(await collect(store.list('nothing-here/'))).toEqual([])
    })

    it('materialize gives a local file with the content', async () => {
      const { store } = ctx()
      const data = randomBytes(3000)
      await store.put('assets/m.jpg', data)
      const file = await store.materialize('assets/m.jpg')
      expect(path.isAbsolute(file)).toBe(true)
      expect((await fs.readFile(file)).equals(data)).toBe(true)
      expect(file).toBe(store.localPath('assets/m.jpg'))
      // Concurrent callers share it.
      const [a, b] = await Promise.all([store.materialize('assets/m.jpg'), store.materialize('assets/m.jpg')])
      expect(a).toBe(b)
      expect(existsSync(a)).toBe(true)
    })

    it('rejects keys that could escape the store', async () => {
      const { store } = ctx()
      for (const bad of ['../x', '/etc/passwd', 'a//b', 'a/../b', 'a\\b', ''])
        await expect(store.put(bad, Buffer.from('x'))).rejects.toThrow(/Invalid blob key/)
    })

    it('check passes on a working store', async () => {
      await ctx().store.check()
    })
  })
}
