/**
 * S3-compatible object storage (AWS S3, MinIO, Ceph, R2, ...) behind the
 * BlobStore interface.
 *
 * - Every request has a connect timeout and a socket timeout, and the SDK
 *   retries transient failures (3 attempts, exponential backoff).
 * - Files above MULTIPART_THRESHOLD go up as multipart uploads
 *   (@aws-sdk/lib-storage); S3 makes the object visible only when the upload
 *   completes, so a reader never sees half of it, and a failed upload is
 *   aborted (its parts removed).
 * - The SHA-256 of the content is stored as object metadata (x-amz-meta-sha256),
 *   so `head` gives a checksum without reading the object (the move command
 *   verifies copies with it).
 * - `materialize` keeps a read-through copy under the cache directory, in the
 *   same layout as the embedded store; what evicts those copies is the owner of
 *   each kind of file (the clip cache's LRU for clips, see docs/deployment.md).
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, promises as fs } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createRequire } from 'node:module'
import type * as S3Sdk from '@aws-sdk/client-s3'
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import type * as LibStorage from '@aws-sdk/lib-storage'
import { AppError } from '../errors.ts'
import { fileError, tempPathFor } from '../util/files.ts'
import { checkKey, contentTypeFor, IMMUTABLE_CACHE_CONTROL, type BlobInfo, type BlobStore, type ByteRange, type PutOptions } from './types.ts'
import { describeLocation, type S3Location } from './url.ts'

// The SDK (a few MB of modules) loads only when object storage is configured: the embedded mode never pays for it.
const requireCjs = createRequire(import.meta.url)
let sdk: { s3: typeof S3Sdk; storage: typeof LibStorage } | undefined
const loadSdk = () => (sdk ??= { s3: requireCjs('@aws-sdk/client-s3') as typeof S3Sdk, storage: requireCjs('@aws-sdk/lib-storage') as typeof LibStorage })

/** Above this size a file is uploaded in parts (S3's minimum part is 5 MiB). */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024
const PART_SIZE = 8 * 1024 * 1024

export interface S3BlobStoreOptions {
  location: S3Location
  /** Where read-through copies live (the cache directory). */
  cacheDir: string
  /** Milliseconds to establish a connection (default 5000). */
  connectTimeoutMs?: number
  /** Milliseconds a socket may stay idle during a request (default 30000). */
  requestTimeoutMs?: number
  /** Tests and special set-ups: explicit credentials instead of the SDK's default chain. */
  credentials?: S3ClientConfig['credentials']
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const
  readonly location: string
  readonly bucket: string
  readonly prefix: string
  readonly client: S3Client
  private readonly cacheDir: string
  private readonly downloads = new Map<string, Promise<string>>()

  constructor(options: S3BlobStoreOptions) {
    const { location: loc } = options
    this.bucket = loc.bucket
    this.prefix = loc.prefix ? `${loc.prefix}/` : ''
    this.location = describeLocation(loc)
    this.cacheDir = path.resolve(options.cacheDir)
    const agentOptions = { keepAlive: true, maxSockets: 64 }
    const { S3Client } = loadSdk().s3
    this.client = new S3Client({
      region: loc.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(loc.endpoint ? { endpoint: loc.endpoint } : {}),
      forcePathStyle: loc.forcePathStyle,
      maxAttempts: 3,
      retryMode: 'standard',
      // Default CRC32 request checksums (SDK >= 3.729) are refused by several S3-compatible servers; we record SHA-256 ourselves.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 5000,
        requestTimeout: options.requestTimeoutMs ?? 30_000,
        httpAgent: new http.Agent(agentOptions),
        httpsAgent: new https.Agent(agentOptions),
      },
      ...(options.credentials ? { credentials: options.credentials } : {}),
    })
  }

  private objectKey(key: string): string {
    return this.prefix + checkKey(key)
  }

  localPath(key: string): string {
    return path.join(this.cacheDir, ...checkKey(key).split('/'))
  }

  async putFile(key: string, file: string, options: PutOptions = {}): Promise<BlobInfo> {
    const st = await fs.stat(file).catch((err: unknown) => {
      throw new AppError('NOT_FOUND', `Cannot upload ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { cause: err })
    })
    if (st.size <= MULTIPART_THRESHOLD) return await this.put(key, await fs.readFile(file), options)
    const checksum = options.checksum ?? (await sha256File(file))
    return await this.upload(key, createReadStream(file, { highWaterMark: 1024 * 1024 }), { ...options, checksum })
  }

  async put(key: string, body: Buffer | string | Readable, options: PutOptions = {}): Promise<BlobInfo> {
    if (!(typeof body === 'string' || Buffer.isBuffer(body))) return await this.upload(key, body, options)
    const data = Buffer.from(body)
    const checksum = options.checksum ?? createHash('sha256').update(data).digest('hex')
    const out = await this.send(
      () =>
        this.client.send(
          new (loadSdk().s3.PutObjectCommand)({ Bucket: this.bucket, Key: this.objectKey(key), Body: data, ContentLength: data.length, ...this.headers(key, options, checksum) }),
          { abortSignal: options.signal },
        ),
      `storing ${key}`,
      options.signal,
    )
    return { key, size: data.length, etag: out.ETag ?? `"${checksum}"`, lastModified: new Date(), checksum, contentType: options.contentType ?? contentTypeFor(key) }
  }

  /** Multipart upload (lib-storage): parts of PART_SIZE, four at a time; aborted (parts removed) on failure. */
  private async upload(key: string, body: Readable, options: PutOptions): Promise<BlobInfo> {
    let size = 0
    const counted = body.pipe(
      new PassThrough({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length
          cb(null, chunk)
        },
      }),
    )
    body.once('error', (err) => counted.destroy(err))
    const upload = new (loadSdk().storage.Upload)({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: counted, ...this.headers(key, options, options.checksum) },
      partSize: PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false,
    })
    const onAbort = () => void upload.abort().catch(() => {})
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const out = await this.send(() => upload.done(), `uploading ${key}`, options.signal)
      return { key, size, etag: out.ETag ?? '""', lastModified: new Date(), ...(options.checksum ? { checksum: options.checksum } : {}), contentType: options.contentType ?? contentTypeFor(key) }
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  private headers(key: string, options: PutOptions, checksum: string | undefined) {
    return {
      ContentType: options.contentType ?? contentTypeFor(key),
      CacheControl: options.cacheControl ?? IMMUTABLE_CACHE_CONTROL,
      ...(checksum ? { Metadata: { sha256: checksum } } : {}),
    }
  }

  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const out = await this.send(
      () => this.client.send(new (loadSdk().s3.GetObjectCommand)({ Bucket: this.bucket, Key: this.objectKey(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }), { abortSignal: signal }),
      `reading ${key}`,
      signal,
    )
    const body = out.Body
    if (!body) throw new AppError('STORAGE_UNAVAILABLE', `The object storage returned no body for ${key}.`)
    return body instanceof Readable ? body : Readable.fromWeb(body as never)
  }

  async getBuffer(key: string, signal?: AbortSignal): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const c of await this.get(key, undefined, signal)) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }

  async head(key: string, options: { checksum?: boolean; signal?: AbortSignal } = {}): Promise<BlobInfo | undefined> {
    try {
      const out = await this.send(
        () => this.client.send(new (loadSdk().s3.HeadObjectCommand)({ Bucket: this.bucket, Key: this.objectKey(key) }), { abortSignal: options.signal }),
        `looking up ${key}`,
        options.signal,
      )
      let checksum = out.Metadata?.sha256
      if (!checksum && options.checksum) {
        const hash = createHash('sha256')
        await pipeline(await this.get(key, undefined, options.signal), hash)
        checksum = hash.digest('hex')
      }
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: out.ETag ?? '""',
        lastModified: out.LastModified ?? new Date(0),
        ...(checksum ? { checksum } : {}),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
      }
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') return undefined
      throw err
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined
  }

  async delete(key: string): Promise<void> {
    await this.send(() => this.client.send(new (loadSdk().s3.DeleteObjectCommand)({ Bucket: this.bucket, Key: this.objectKey(key) })), `deleting ${key}`).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'NOT_FOUND') return
      throw err
    })
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<BlobInfo> {
    let token: string | undefined
    do {
      const page = await this.send(
        () => this.client.send(new (loadSdk().s3.ListObjectsV2Command)({ Bucket: this.bucket, Prefix: this.prefix + prefix, ...(token ? { ContinuationToken: token } : {}) }), { abortSignal: signal }),
        `listing ${prefix || 'the bucket'}`,
        signal,
      )
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(this.prefix)) continue
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, etag: o.ETag ?? '""', lastModified: o.LastModified ?? new Date(0) }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  /** A local copy (downloaded once, to a temp name then renamed; concurrent callers share the download). */
  async materialize(key: string, signal?: AbortSignal): Promise<string> {
    const target = this.localPath(key)
    const st = await fs.stat(target).catch(() => undefined)
    if (st?.isFile()) return target
    let p = this.downloads.get(key)
    if (!p) {
      p = (async () => {
        await fs.mkdir(path.dirname(target), { recursive: true }).catch((err: unknown) => {
          throw fileError(err, target)
        })
        const tmp = tempPathFor(target)
        try {
          await pipeline(await this.get(key, undefined, signal), createWriteStream(tmp))
          await fs.rename(tmp, target)
        } catch (err) {
          await fs.rm(tmp, { force: true })
          throw err instanceof AppError ? err : fileError(err, target)
        }
        return target
      })()
      this.downloads.set(key, p)
      void p.then(
        () => this.downloads.delete(key),
        () => this.downloads.delete(key),
      )
    }
    return await p
  }

  async check(signal?: AbortSignal): Promise<void> {
    await this.send(() => this.client.send(new (loadSdk().s3.HeadBucketCommand)({ Bucket: this.bucket }), { abortSignal: signal }), 'checking the bucket', signal, true)
  }

  async close(): Promise<void> {
    this.client.destroy()
  }

  /** Run a request; map the SDK's errors to AppErrors that say what to change. */
  private async send<T>(fn: () => Promise<T>, what: string, signal?: AbortSignal, bucketCheck = false): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof TypeError && err.message.startsWith('Invalid blob key')) throw err
      if (signal?.aborted) throw new AppError('ABORTED', `Cancelled ${what}.`, { cause: err })
      throw s3Error(err, what, this, bucketCheck)
    }
  }
}

function s3Error(err: unknown, what: string, store: S3BlobStore, bucketCheck: boolean): AppError {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } }
  const status = e.$metadata?.httpStatusCode
  const name = e.name ?? ''
  const where = store.location
  if (name === 'NoSuchBucket' || (bucketCheck && (status === 404 || name === 'NotFound')))
    return new AppError('STORAGE_UNAVAILABLE', `The bucket "${store.bucket}" does not exist (${where}).`, { cause: err, help: 'Create the bucket, or fix the bucket name in BRIEFCAST_STORAGE_URL.' })
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new AppError('NOT_FOUND', `No stored object for ${what.replace(/^\w+ /, '')}.`, { cause: err })
  if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'CredentialsProviderError')
    return new AppError('STORAGE_UNAVAILABLE', `The object storage refused ${what} (${name || status}) at ${where}.`, {
      cause: err,
      help: 'Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that they may read, write, list and delete in the bucket.',
    })
  if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed')
    return new AppError('STORAGE_UNAVAILABLE', `The bucket "${store.bucket}" is in another region (${name || status}).`, { cause: err, help: 'Set ?region= in BRIEFCAST_STORAGE_URL to the bucket\'s region.' })
  if (status === 416 || name === 'InvalidRange') return new AppError('RANGE_NOT_SATISFIABLE', `The range is outside the stored object (${what}).`, { cause: err })
  const reason = e.code ?? (name || (status ? `HTTP ${status}` : (e.message ?? String(err))))
  return new AppError('STORAGE_UNAVAILABLE', `The object storage did not answer ${what} at ${where} (${reason}).`, {
    cause: err,
    help: 'Check that the endpoint in BRIEFCAST_STORAGE_URL is reachable from this machine; readers get 503 until it is.',
  })
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash)
  return hash.digest('hex')
}
