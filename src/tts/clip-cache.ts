/**
 * Clip cache: audio-cache/clips/<k0k1>/<key>.wav (+ <key>.json with word timings).
 *
 * - A clip is written to a temp name and renamed, so a reader never sees half a file.
 * - Concurrent requests for one key share one synthesis (single flight). The flight
 *   is cancelled only when every waiter has aborted.
 * - Size cap with least-recently-used eviction: an in-memory index (built from a
 *   directory scan, mtime = last use) is touched on every hit, mtime too, so the
 *   order survives restarts.
 * - Every hit is checked (WAV header, data length = file length); a corrupt or
 *   truncated clip is deleted and synthesized again, never served.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { AppError, throwIfAborted } from '../errors.ts'
import { fileError, tempPathFor } from '../util/files.ts'
import type { BlobStore } from '../storage/types.ts'
import type { Clip, WordTiming } from './engine.ts'
import type { CachedClip } from './types.ts'
import { checkWavFile, wavFromPcm } from './wav.ts'

export interface ClipCacheOptions {
  /** Directory of clips, e.g. `${cacheDir}/clips`. */
  dir: string
  maxBytes: number
  logger?: { warn(obj: object, msg?: string): void }
  /**
   * Object storage shared by every worker (BRIEFCAST_STORAGE_URL): a clip missing here is fetched from it, a new
   * clip is stored into it. This directory is then a read-through cache with the same LRU cap; nothing is evicted
   * from the bucket.
   */
  remote?: BlobStore
}

interface IndexEntry {
  bytes: number
  lastUsed: number
}

interface Flight {
  promise: Promise<CachedClip>
  controller: AbortController
  waiters: number
}

export interface ClipCacheStats {
  hits: number
  misses: number
  corrupt: number
  evictions: number
  bytes: number
  files: number
}

export class ClipCache {
  readonly dir: string
  private readonly maxBytes: number
  private readonly logger?: ClipCacheOptions['logger']
  private readonly remote?: BlobStore
  private readonly flights = new Map<string, Flight>()
  private index: Map<string, IndexEntry> | null = null
  private indexing: Promise<void> | null = null
  private totalBytes = 0
  private evicting: Promise<void> = Promise.resolve()
  readonly stats = { hits: 0, misses: 0, corrupt: 0, evictions: 0 }

  constructor(options: ClipCacheOptions) {
    this.dir = options.dir
    this.maxBytes = options.maxBytes
    this.logger = options.logger
    this.remote = options.remote
  }

  /** Blob keys of a clip's WAV and timings: the cache-dir layout, clips/<k0k1>/<key>.wav. */
  private remoteKey(key: string, ext: 'wav' | 'json'): string {
    return `clips/${key.slice(0, 2)}/${key}.${ext}`
  }

  /** Fetch a clip and its timings from object storage when it is not on this machine; false when it is nowhere. */
  private async fetchRemote(key: string): Promise<boolean> {
    if (!this.remote) return false
    const ignoreMissing = (err: unknown) => {
      if (err instanceof AppError && err.code === 'NOT_FOUND') return undefined
      throw err
    }
    try {
      // The WAV first (one request for a clip that is nowhere); its timings were stored before it, so they are there too.
      const wav = await this.remote.materialize(this.remoteKey(key, 'wav')).catch(ignoreMissing)
      if (wav) await this.remote.materialize(this.remoteKey(key, 'json')).catch(ignoreMissing)
      return wav !== undefined
    } catch (err) {
      // Storage down: synthesize again rather than fail the render; the new clip is stored when it is back.
      this.logger?.warn({ key, err }, 'could not fetch a clip from object storage')
      return false
    }
  }

  pathFor(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.wav`)
  }

  private metaPathFor(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`)
  }

  /**
   * Whether the clip of `key` is in the local cache, by the existence of its file alone: no use is
   * counted, nothing is read, checked or fetched (a corrupt file counts; get() finds it out later).
   */
  async has(key: string): Promise<boolean> {
    return fs.stat(this.pathFor(key)).then(
      (st) => st.isFile(),
      () => false,
    )
  }

  /** A valid cached clip, or null (a corrupt one is deleted). Counts as a use. */
  async get(key: string): Promise<CachedClip | null> {
    await this.ensureIndex()
    const wavPath = this.pathFor(key)
    let header = await checkWavFile(wavPath)
    if (!header) {
      const existed = await fs.stat(wavPath).then(
        () => true,
        () => false,
      )
      // Not on this machine: maybe another worker made it (object storage).
      if (!existed && (await this.fetchRemote(key))) header = await checkWavFile(wavPath)
    }
    if (!header) {
      const existed = await fs.stat(wavPath).then(
        () => true,
        () => false,
      )
      if (existed) {
        this.stats.corrupt++
        this.logger?.warn({ key, wavPath }, 'corrupt or truncated clip in the cache; synthesizing it again')
        await this.remove(key)
      }
      return null
    }
    const now = Date.now()
    const entry = this.index!.get(key)
    if (entry) entry.lastUsed = now
    else this.track(key, header.dataOffset + header.dataBytes, now)
    // mtime doubles as "last used" so LRU order survives a restart; a failed touch only costs ordering.
    await fs.utimes(wavPath, new Date(now), new Date(now)).catch(() => {})
    let words: WordTiming[] | undefined
    let sentences: WordTiming[] | undefined
    try {
      const meta = JSON.parse(await fs.readFile(this.metaPathFor(key), 'utf8')) as { words?: WordTiming[]; sentences?: WordTiming[] }
      words = meta.words
      sentences = meta.sentences
    } catch {
      // Timings are optional; the audio is what matters.
    }
    return { key, wavPath, sampleRate: header.sampleRate, durationMs: header.durationMs, ...(words ? { words } : {}), ...(sentences ? { sentences } : {}), cached: true }
  }

  /**
   * The clip for key: from the cache, else from `synthesize` (once per key however
   * many callers wait). `synthesize` gets a signal that aborts only when all waiters did.
   */
  async getOrCreate(key: string, synthesize: (signal: AbortSignal) => Promise<Clip>, signal?: AbortSignal): Promise<CachedClip> {
    throwIfAborted(signal)
    let flight = this.flights.get(key)
    if (!flight) {
      const controller = new AbortController()
      const promise = (async () => {
        const hit = await this.get(key)
        if (hit) {
          this.stats.hits++
          return hit
        }
        this.stats.misses++
        const clip = await synthesize(controller.signal)
        throwIfAborted(controller.signal)
        return await this.put(key, clip)
      })()
      flight = { promise, controller, waiters: 0 }
      this.flights.set(key, flight)
      const registered = flight
      promise.then(
        () => this.flights.get(key) === registered && this.flights.delete(key),
        () => this.flights.get(key) === registered && this.flights.delete(key),
      )
    } else {
      this.stats.hits++
    }
    const current = flight
    current.waiters++
    if (!signal) {
      try {
        return await current.promise
      } finally {
        current.waiters--
      }
    }
    return await new Promise<CachedClip>((resolve, reject) => {
      let settled = false
      const onAbort = () => {
        if (settled) return
        settled = true
        current.waiters--
        // The last waiter leaving cancels the work itself.
        if (current.waiters === 0) {
          current.controller.abort(signal.reason)
          if (this.flights.get(key) === current) this.flights.delete(key)
        }
        reject(new AppError('ABORTED', 'Speech synthesis was cancelled.', { cause: signal.reason }))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      current.promise.then(
        (clip) => {
          if (settled) return
          settled = true
          current.waiters--
          signal.removeEventListener('abort', onAbort)
          resolve({ ...clip })
        },
        (err: unknown) => {
          if (settled) return
          settled = true
          current.waiters--
          signal.removeEventListener('abort', onAbort)
          reject(err)
        },
      )
    })
  }

  /** Store a clip (temp file, then rename) and return it as a cache entry. */
  async put(key: string, clip: Clip): Promise<CachedClip> {
    await this.ensureIndex()
    if (clip.pcm.length === 0) throw new AppError('ENGINE_FAILED', 'The engine returned an empty clip.')
    const wavPath = this.pathFor(key)
    const wav = wavFromPcm(clip.pcm, clip.sampleRate)
    await fs.mkdir(path.dirname(wavPath), { recursive: true }).catch((err: unknown) => {
      throw fileError(err, wavPath)
    })
    // Sidecar first: the WAV's rename is the commit point, so a clip never appears without its timings.
    if (clip.words?.length || clip.sentences?.length)
      await writeAtomic(this.metaPathFor(key), JSON.stringify({ ...(clip.words?.length ? { words: clip.words } : {}), ...(clip.sentences?.length ? { sentences: clip.sentences } : {}) }))
    await writeAtomic(wavPath, wav)
    if (this.remote) {
      // Timings first, as locally: a worker that finds the WAV finds its timings too.
      if (clip.words?.length || clip.sentences?.length) await this.remote.putFile(this.remoteKey(key, 'json'), this.metaPathFor(key), { contentType: 'application/json' })
      await this.remote.putFile(this.remoteKey(key, 'wav'), wavPath, { contentType: 'audio/wav' })
    }
    this.track(key, wav.length, Date.now())
    this.scheduleEviction(key)
    return {
      key,
      wavPath,
      sampleRate: clip.sampleRate,
      durationMs: clip.durationMs,
      ...(clip.words ? { words: clip.words } : {}),
      ...(clip.sentences ? { sentences: clip.sentences } : {}),
      cached: false,
    }
  }

  /** Bytes and files currently tracked. */
  async usage(): Promise<ClipCacheStats> {
    await this.ensureIndex()
    await this.evicting
    return { ...this.stats, bytes: this.totalBytes, files: this.index!.size }
  }

  private track(key: string, bytes: number, lastUsed: number): void {
    const old = this.index!.get(key)
    if (old) this.totalBytes -= old.bytes
    this.index!.set(key, { bytes, lastUsed })
    this.totalBytes += bytes
  }

  private async remove(key: string): Promise<void> {
    const entry = this.index?.get(key)
    if (entry) {
      this.totalBytes -= entry.bytes
      this.index!.delete(key)
    }
    await fs.rm(this.pathFor(key), { force: true })
    await fs.rm(this.metaPathFor(key), { force: true })
  }

  /** Evict least recently used clips (never the one just written) until under the cap. */
  private scheduleEviction(keep: string): void {
    this.evicting = this.evicting.then(async () => {
      if (this.totalBytes <= this.maxBytes) return
      const victims = [...this.index!.entries()].filter(([k]) => k !== keep && !this.flights.has(k)).sort((a, b) => a[1].lastUsed - b[1].lastUsed)
      for (const [key] of victims) {
        if (this.totalBytes <= this.maxBytes) break
        await this.remove(key).catch((err: unknown) => this.logger?.warn({ key, err }, 'could not evict clip'))
        this.stats.evictions++
      }
    })
  }

  private ensureIndex(): Promise<void> {
    if (this.index) return Promise.resolve()
    this.indexing ??= this.scan()
    return this.indexing
  }

  private async scan(): Promise<void> {
    const index = new Map<string, IndexEntry>()
    let total = 0
    const shards = await fs.readdir(this.dir).catch(() => [] as string[])
    for (const shard of shards) {
      const files = await fs.readdir(path.join(this.dir, shard)).catch(() => [] as string[])
      for (const f of files) {
        const full = path.join(this.dir, shard, f)
        if (f.endsWith('.tmp')) {
          // Left over from a crash mid-write (never served). Temp names carry the writer's pid (util/files.ts
          // tempPathFor): one whose process is gone goes now; others only when old, since another process
          // sharing the cache (on this machine or, over a network file system, another) may be writing it.
          const st = await fs.stat(full).catch(() => null)
          if (st && (writerGone(f) || Date.now() - st.mtimeMs > 10 * 60_000)) await fs.rm(full, { force: true }).catch(() => {})
          continue
        }
        if (!f.endsWith('.wav')) continue
        const st = await fs.stat(full).catch(() => null)
        if (!st) continue
        index.set(f.slice(0, -4), { bytes: st.size, lastUsed: st.mtimeMs })
        total += st.size
      }
    }
    this.index = index
    this.totalBytes = total
  }
}

/** Temp file then rename. No fsync: a clip lost in a crash is re-synthesized, and the header check catches a torn one. */
async function writeAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(target)
  try {
    await fs.writeFile(tmp, data)
    await fs.rename(tmp, target)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw fileError(err, target)
  }
}

/** True when a temp file's name (".<name>.<pid>.<hex>.tmp") names a process of this machine that no longer runs. */
function writerGone(name: string): boolean {
  const pid = Number(/\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)?.[1])
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
