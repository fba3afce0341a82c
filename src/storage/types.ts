/**
 * One blob-store interface for every file the service keeps: episodes and their
 * sidecars, the clip and piece caches, uploaded assets. Keys are the file names
 * relative to the cache directory (`episodes/<hash>.mp3`, `pieces/<key>.mp3`,
 * `clips/ab/<key>.wav`, `assets/<id>.jpg`), the names the episodes and assets
 * tables already store, so the embedded layout does not change.
 *
 * Two implementations pass one contract suite (tests/storage/contract.ts):
 * LocalBlobStore (files under the cache directory, the embedded default) and
 * S3BlobStore (any S3-compatible bucket, BRIEFCAST_STORAGE_URL).
 *
 * Objects are immutable by convention (named by content hash or random id):
 * a put replaces a whole object atomically, a reader sees either nothing or the
 * whole object. That is what makes `head` results cacheable and the move
 * command (list, head with size + checksum, put) resumable and verifiable.
 */
import type { Readable } from 'node:stream'

export interface BlobInfo {
  key: string
  size: number
  /** The store's own entity tag (S3 ETag, or size+mtime locally), quoted. */
  etag: string
  lastModified: Date
  /** SHA-256 (hex) of the content: recorded at put time (S3 metadata) or computed on request (local). */
  checksum?: string
  contentType?: string
}

export interface PutOptions {
  contentType?: string
  /** Cache-Control stored with the object (S3); served by a CDN in front of the bucket. */
  cacheControl?: string
  /** SHA-256 (hex) when the caller already knows it; otherwise computed while writing. */
  checksum?: string
  signal?: AbortSignal
}

/** Inclusive byte range, as in HTTP. */
export interface ByteRange {
  start: number
  end: number
}

export interface BlobStore {
  readonly kind: 'local' | 's3'
  /** Where the objects live, for logs and /readyz: a directory or s3://bucket/prefix (never credentials). */
  readonly location: string
  /** Store a local file (multipart upload for large files on S3). */
  putFile(key: string, file: string, options?: PutOptions): Promise<BlobInfo>
  /** Store a buffer, a string or a stream. */
  put(key: string, body: Buffer | string | Readable, options?: PutOptions): Promise<BlobInfo>
  /** The object's bytes (or a range of them). NOT_FOUND for a missing key; STORAGE_UNAVAILABLE when the store cannot answer. */
  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable>
  /** The whole object in memory (small objects: sidecars, JSON). */
  getBuffer(key: string, signal?: AbortSignal): Promise<Buffer>
  /** Size, etag, last modified; the checksum when recorded, or always with `{ checksum: true }`. Undefined when missing. */
  head(key: string, options?: { checksum?: boolean; signal?: AbortSignal }): Promise<BlobInfo | undefined>
  exists(key: string): Promise<boolean>
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>
  /** Every object whose key starts with `prefix`, in key order per page. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<BlobInfo>
  /**
   * A local file with the object's content, for what needs a path (ffmpeg, the MP3 joiner).
   * Local: the file itself. S3: a read-through copy under the cache directory (downloaded once).
   * NOT_FOUND when the object does not exist.
   */
  materialize(key: string, signal?: AbortSignal): Promise<string>
  /** The local path a key maps to under the cache directory (it may not exist). */
  localPath(key: string): string
  /** A cheap reachability check: throws STORAGE_UNAVAILABLE (or CONFIG_INVALID for a wrong bucket) with a clear message. */
  check(signal?: AbortSignal): Promise<void>
  close(): Promise<void>
}

/** Keys are relative POSIX paths: no absolute paths, no `..`, no backslashes, no empty segments. */
export function checkKey(key: string): string {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > 900 ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..')
  )
    throw new TypeError(`Invalid blob key ${JSON.stringify(key)}`)
  return key
}

/** Content type from a key's extension, for uploads that do not say. */
export function contentTypeFor(key: string): string {
  const k = key.toLowerCase()
  if (k.endsWith('.mp3')) return 'audio/mpeg'
  if (k.endsWith('.m4a')) return 'audio/mp4'
  if (k.endsWith('.wav')) return 'audio/wav'
  if (k.endsWith('.vtt')) return 'text/vtt; charset=utf-8'
  if (k.endsWith('.chapters.json')) return 'application/json+chapters; charset=utf-8'
  if (k.endsWith('.json')) return 'application/json; charset=utf-8'
  if (k.endsWith('.jpg') || k.endsWith('.jpeg')) return 'image/jpeg'
  if (k.endsWith('.png')) return 'image/png'
  return 'application/octet-stream'
}

/** Everything in the store is named by content or a random id, so it never changes under its name. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
