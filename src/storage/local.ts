/**
 * The embedded blob store: files under the cache directory, in exactly the
 * layout briefcast has always used (audio-cache/episodes/<hash>.mp3, pieces/,
 * clips/, assets/). Writes go to a temp file beside the target and are renamed
 * into place, so a reader sees the whole file or none.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, promises as fs } from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AppError } from '../errors.ts'
import { fileError, tempPathFor } from '../util/files.ts'
import { checkKey, type BlobInfo, type BlobStore, type ByteRange, type PutOptions } from './types.ts'

/** Directories of the cache that are not blobs (per-run temp dirs). */
const NOT_BLOBS = new Set(['tmp'])

export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const
  readonly root: string

  constructor(root: string) {
    this.root = path.resolve(root)
  }

  get location(): string {
    return this.root
  }

  localPath(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'))
  }

  async putFile(key: string, file: string, options: PutOptions = {}): Promise<BlobInfo> {
    const target = this.localPath(key)
    // Already in place (the renderer and the upload routes write straight into the cache directory): nothing to copy.
    if (path.resolve(file) === target) return { ...(await this.head(key))!, ...(options.checksum ? { checksum: options.checksum } : {}) }
    return await this.put(key, createReadStream(file), options)
  }

  async put(key: string, body: Buffer | string | Readable, options: PutOptions = {}): Promise<BlobInfo> {
    const target = this.localPath(key)
    await fs.mkdir(path.dirname(target), { recursive: true }).catch((err: unknown) => {
      throw fileError(err, target)
    })
    const tmp = tempPathFor(target)
    const hash = createHash('sha256')
    try {
      const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of chunks) {
            hash.update(c)
            yield c
          }
        },
        createWriteStream(tmp),
        ...(options.signal ? [{ signal: options.signal }] : []),
      )
      await fs.rename(tmp, target)
    } catch (err) {
      await fs.rm(tmp, { force: true })
      if (options.signal?.aborted) throw new AppError('ABORTED', `Storing ${key} was cancelled.`, { cause: err })
      throw fileError(err, target)
    }
    const st = await fs.stat(target)
    return { key, size: st.size, etag: localEtag(st), lastModified: st.mtime, checksum: hash.digest('hex'), ...(options.contentType ? { contentType: options.contentType } : {}) }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.localPath(key)
    // Open first so a missing file is an error here, not an 'error' event on a stream already handed out.
    const fh = await fs.open(file, 'r').catch((err: unknown) => {
      throw notFoundOr(err, key)
    })
    return fh.createReadStream({ ...(range ? { start: range.start, end: range.end } : {}), highWaterMark: 64 * 1024, autoClose: true })
  }

  async getBuffer(key: string): Promise<Buffer> {
    return await fs.readFile(this.localPath(key)).catch((err: unknown) => {
      throw notFoundOr(err, key)
    })
  }

  async head(key: string, options: { checksum?: boolean } = {}): Promise<BlobInfo | undefined> {
    const file = this.localPath(key)
    const st = await fs.stat(file).catch(() => undefined)
    if (!st?.isFile()) return undefined
    const info: BlobInfo = { key, size: st.size, etag: localEtag(st), lastModified: st.mtime }
    if (options.checksum) {
      const hash = createHash('sha256')
      await pipeline(createReadStream(file), hash)
      info.checksum = hash.digest('hex')
    }
    return info
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined
  }

  async delete(key: string): Promise<void> {
    const file = this.localPath(key)
    await fs.rm(file, { force: true }).catch((err: unknown) => {
      throw fileError(err, file)
    })
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // The directory part of the prefix is walked; the rest filters names.
    const slash = prefix.lastIndexOf('/')
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : ''
    const start = dirKey ? this.localPath(dirKey) : this.root
    const walk = async function* (self: LocalBlobStore, dir: string, keyDir: string): AsyncGenerator<BlobInfo> {
      const entries = (await fs.readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1))
      for (const e of entries) {
        const key = keyDir ? `${keyDir}/${e.name}` : e.name
        if (e.isDirectory()) {
          if (!keyDir && NOT_BLOBS.has(e.name)) continue
          if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue
          yield* walk(self, path.join(dir, e.name), key)
        } else if (e.isFile() && key.startsWith(prefix) && !e.name.endsWith('.tmp')) {
          const info = await self.head(key)
          if (info) yield info
        }
      }
    }
    yield* walk(this, start, dirKey)
  }

  async materialize(key: string): Promise<string> {
    const file = this.localPath(key)
    const st = await fs.stat(file).catch(() => undefined)
    if (!st?.isFile()) throw new AppError('NOT_FOUND', `No stored file ${key}.`)
    return file
  }

  async check(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true }).catch((err: unknown) => {
      throw fileError(err, this.root)
    })
    await fs.access(this.root, fs.constants.W_OK).catch((err: unknown) => {
      throw new AppError('STORAGE_UNAVAILABLE', `The cache directory ${this.root} is not writable (${(err as NodeJS.ErrnoException).code}).`, { cause: err })
    })
  }

  async close(): Promise<void> {}
}

function localEtag(st: { size: number; mtimeMs: number }): string {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`
}

function notFoundOr(err: unknown, key: string): AppError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return new AppError('NOT_FOUND', `No stored file ${key}.`, { cause: err })
  return new AppError('STORAGE_UNAVAILABLE', `Reading ${key} failed (${code ?? (err as Error).message}).`, { cause: err })
}
