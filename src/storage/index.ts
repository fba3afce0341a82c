/**
 * The blob store chosen by the configuration: S3 when BRIEFCAST_STORAGE_URL is
 * set, else files under the cache directory (the embedded default).
 */
import type { Config } from '../config.ts'
import { AppError, toAppError } from '../errors.ts'
import { LocalBlobStore } from './local.ts'
import { S3BlobStore } from './s3.ts'
import type { BlobStore } from './types.ts'
import { parseStorageUrl } from './url.ts'

export type { BlobInfo, BlobStore, ByteRange, PutOptions } from './types.ts'
export { LocalBlobStore } from './local.ts'
export { S3BlobStore } from './s3.ts'

export function createBlobStore(config: Pick<Config, 'cacheDir' | 'storage'>): BlobStore {
  const url = config.storage.url
  if (!url) return new LocalBlobStore(config.cacheDir)
  const loc = parseStorageUrl(url)
  // config.ts validated the URL already; a string here means a Config built by hand.
  if (typeof loc === 'string') throw new AppError('CONFIG_INVALID', `BRIEFCAST_STORAGE_URL ${loc}.`)
  return new S3BlobStore({ location: loc, cacheDir: config.cacheDir, connectTimeoutMs: config.storage.connectTimeoutMs, requestTimeoutMs: config.storage.requestTimeoutMs })
}

/** The remote store, or undefined in the embedded mode (where the cache directory is the store). */
export function remoteBlobStore(config: Pick<Config, 'cacheDir' | 'storage'>): BlobStore | undefined {
  return config.storage.url ? createBlobStore(config) : undefined
}

/**
 * Start-up check: the bucket exists and answers with these credentials. Any
 * failure is one CONFIG_INVALID naming BRIEFCAST_STORAGE_URL (the service does
 * not start half-configured).
 */
export async function checkStorageAtStartup(store: BlobStore, timeoutMs = 10_000): Promise<void> {
  if (store.kind === 'local') return
  try {
    await store.check(AbortSignal.timeout(timeoutMs))
  } catch (err) {
    const e = toAppError(err)
    const reason = e.code === 'ABORTED' ? `no answer within ${timeoutMs / 1000} s` : e.message
    throw new AppError('CONFIG_INVALID', `BRIEFCAST_STORAGE_URL: cannot use ${store.location}: ${reason}`, {
      help: e.help ?? 'Fix BRIEFCAST_STORAGE_URL (bucket, ?endpoint=, ?region=) or the AWS credentials, or unset it to keep files in the cache directory.',
      details: { setting: 'BRIEFCAST_STORAGE_URL', cause: e.code },
      cause: err,
    })
  }
}

/** For /readyz and `briefcast doctor`: ok, or down with the reason (a timeout counts as down). */
export async function storageHealth(store: BlobStore, timeoutMs = 3000): Promise<{ ok: boolean; detail: string }> {
  try {
    await store.check(AbortSignal.timeout(timeoutMs))
    return { ok: true, detail: store.location }
  } catch (err) {
    const e = toAppError(err)
    return { ok: false, detail: `down: ${e.code === 'ABORTED' ? `no answer within ${timeoutMs / 1000} s` : e.message}` }
  }
}

const shared = new WeakMap<object, BlobStore>()

/**
 * The one blob store of a configuration (the service builds its Config once, frozen), so every part of a
 * process (routes, deletions, the render coordinator) shares one S3 client and its connection pool.
 */
export function blobStoreFor(config: Pick<Config, 'cacheDir' | 'storage'>): BlobStore {
  let store = shared.get(config)
  if (!store) {
    store = createBlobStore(config)
    shared.set(config, store)
  }
  return store
}

/** Close the shared store of a configuration (service shutdown). */
export async function closeBlobStoreFor(config: Pick<Config, 'cacheDir' | 'storage'>): Promise<void> {
  const store = shared.get(config)
  shared.delete(config)
  await store?.close()
}

/** A file name stored in the episodes/assets tables (relative to the cache dir) as a blob key. */
export function keyOf(relativeFile: string): string {
  return relativeFile.split('\\').join('/')
}
