/**
 * Copying every object of one blob store into another, for `briefcast move` (src/cli/move.ts): in practice the
 * local cache directory (episodes and their sidecars, pieces, clips, assets) into a bucket.
 *
 * Resumable without any bookkeeping: an object already in the target with the same size and SHA-256 (S3 records
 * it as x-amz-meta-sha256 at put time, so `head` answers without a download) is skipped, anything else is put
 * again (putFile: multipart for large files; S3 shows an object only once it is complete, so an interrupted
 * upload leaves nothing half-written). Objects are named by content or a random id and never change under their
 * name, so a copy made earlier is still right.
 */
import { AppError } from '../errors.ts'
import { contentTypeFor, IMMUTABLE_CACHE_CONTROL, type BlobInfo, type BlobStore } from './types.ts'

export interface ObjectProgress {
  phase: 'files'
  done: number
  total: number
  bytes: number
  totalBytes: number
}

export interface CopyObjectsOptions {
  concurrency: number
  progress?: (p: ObjectProgress) => void
  /** Called after each object is settled (the test hook that kills the process mid-run). */
  afterObject?: () => void
  signal?: AbortSignal
}

export interface CopyObjectsSummary {
  objects: number
  bytes: number
  copied: number
  copiedBytes: number
  skipped: number
  /** Listed, then gone before it was copied (the service's clip cache evicts files; a running service). */
  vanished: string[]
  /** SHA-256 of each source object, for the verification that follows. */
  checksums: Map<string, string>
}

export interface ObjectCheck {
  objects: number
  bytes: number
  missing: string[]
  different: { key: string; source: string; target: string }[]
  /** Objects in the target that the source does not have (left alone; not a failure). */
  extra: number
}

/** Every object of a store, in key order. */
export async function listAll(store: BlobStore, signal?: AbortSignal): Promise<BlobInfo[]> {
  const out: BlobInfo[] = []
  for await (const o of store.list('', signal)) out.push(o)
  return out
}

/** Run `fn` over `items`, at most `limit` at a time; the first failure stops the rest and is thrown. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0
  let failed: unknown
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      if (signal?.aborted) throw new AppError('ABORTED', 'The move was interrupted; run the same command again to resume.')
      const item = items[next++]!
      try {
        await fn(item)
      } catch (err) {
        failed ??= err
        throw err
      }
    }
  }
  const lanes = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane))
  const rejected = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected')
  if (rejected) throw failed ?? rejected.reason
}

const same = (a: BlobInfo | undefined, size: number, checksum: string) => a !== undefined && a.size === size && a.checksum === checksum

export async function copyObjects(source: BlobStore, target: BlobStore, options: CopyObjectsOptions): Promise<CopyObjectsSummary> {
  const list = await listAll(source, options.signal)
  const totalBytes = list.reduce((n, o) => n + o.size, 0)
  const summary: CopyObjectsSummary = { objects: list.length, bytes: totalBytes, copied: 0, copiedBytes: 0, skipped: 0, vanished: [], checksums: new Map() }
  let done = 0
  let bytes = 0
  options.progress?.({ phase: 'files', done, total: list.length, bytes, totalBytes })
  await pool(
    list,
    options.concurrency,
    async (o) => {
      const local = await source.head(o.key, { checksum: true, ...(options.signal ? { signal: options.signal } : {}) })
      if (!local) {
        summary.vanished.push(o.key)
      } else {
        summary.checksums.set(o.key, local.checksum!)
        // The recorded checksum first (no download); an object without one is hashed only when the size matches.
        let there = await target.head(o.key, options.signal ? { signal: options.signal } : {})
        if (there && there.size === local.size && !there.checksum) there = await target.head(o.key, { checksum: true, ...(options.signal ? { signal: options.signal } : {}) })
        if (same(there, local.size, local.checksum!)) summary.skipped++
        else {
          await target.putFile(o.key, source.localPath(o.key), {
            checksum: local.checksum!,
            contentType: contentTypeFor(o.key),
            cacheControl: IMMUTABLE_CACHE_CONTROL,
            ...(options.signal ? { signal: options.signal } : {}),
          })
          summary.copied++
          summary.copiedBytes += local.size
        }
      }
      done++
      bytes += o.size
      options.progress?.({ phase: 'files', done, total: list.length, bytes, totalBytes })
      options.afterObject?.()
    },
    options.signal,
  )
  return summary
}

/**
 * Every source object is in the target with the same size and SHA-256 (the target's recorded checksum, else its
 * content hashed). `known` holds source checksums computed moments ago by the copy; others are computed here.
 */
export async function verifyObjects(source: BlobStore, target: BlobStore, concurrency: number, known?: Map<string, string>, signal?: AbortSignal): Promise<ObjectCheck> {
  const list = await listAll(source, signal)
  const check: ObjectCheck = { objects: list.length, bytes: list.reduce((n, o) => n + o.size, 0), missing: [], different: [], extra: 0 }
  await pool(
    list,
    concurrency,
    async (o) => {
      const sum = known?.get(o.key) ?? (await source.head(o.key, { checksum: true }))?.checksum
      if (sum === undefined) return // gone from the source since it was listed
      const there = await target.head(o.key, { checksum: true, ...(signal ? { signal } : {}) })
      if (!there) check.missing.push(o.key)
      else if (!same(there, o.size, sum)) check.different.push({ key: o.key, source: `${o.size} bytes, sha256 ${sum}`, target: `${there.size} bytes, sha256 ${there.checksum ?? '?'}` })
    },
    signal,
  )
  const keys = new Set(list.map((o) => o.key))
  for await (const o of target.list('', signal)) if (!keys.has(o.key)) check.extra++
  check.missing.sort()
  check.different.sort((a, b) => (a.key < b.key ? -1 : 1))
  return check
}
