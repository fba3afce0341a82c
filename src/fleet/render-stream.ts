/**
 * The cross-node event bus of renders: the pieces of a render, in order, in a
 * Redis Stream per article revision (`<prefix>:render:<articleId>:<revision>`),
 * so a reader on any API node hears an article a worker elsewhere is
 * rendering. Readers start from the first entry (late joiners replay, then
 * follow with XREAD BLOCK). Postgres NOTIFY could not carry them: its payloads
 * stop at 8000 bytes, a piece is up to a few hundred KB.
 *
 * Entries: {t: 'start', attempt} | {t: 'piece', i, d: bytes} | {t: 'end'} | {t: 'end', code, message}.
 * A job taken over by another worker (its first worker died) appends the
 * pieces again from 0: readers skip indexes they already have (a render is
 * deterministic: the same script gives the same pieces). An attempt that
 * failed ends the stream with its error; the next attempt starts a new stream.
 * Streams expire: an hour after the last piece, RETAIN_AFTER_END_S after the end.
 */
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { AppError, throwIfAborted } from '../errors.ts'
import type { Fleet } from './redis.ts'

const EXPIRE_WHILE_RENDERING_S = 3600
const RETAIN_AFTER_END_S = 600
/** Far more pieces than an article has; only a guard against a runaway stream. */
const MAX_ENTRIES = 20_000
/** A follower that heard nothing for this long asks whether the render is still expected. */
const BLOCK_MS = 5000
/** The shared reader's blocking read; a new follower interrupts it sooner. */
const READ_BLOCK_MS = 2000

export interface StreamWriter {
  /** Append a piece; writes are queued in order. */
  piece(index: number, data: Buffer): void
  /** Resolves once every piece so far is in Redis (rejects if one could not be written). */
  flush(): Promise<void>
  /** The last entry: the render ended (published), or failed with `error`. */
  end(error?: { code: string; message: string }): Promise<void>
}

export interface FollowOptions {
  signal?: AbortSignal
  /** Asked when nothing arrived for a while: false ends the follow (the job is gone, e.g. superseded). */
  stillExpected(): Promise<boolean>
}

export class RenderStreams {
  readonly #fleet: Fleet
  readonly #logger: Logger
  readonly #reader: StreamReader

  constructor(fleet: Fleet, logger: Logger) {
    this.#fleet = fleet
    this.#logger = logger
    this.#reader = new StreamReader(fleet)
  }

  /** Streams followed on this node now. */
  get followers(): number {
    return this.#reader.followers
  }

  key(articleId: string, revision: number): string {
    return this.#fleet.key('render', articleId, revision)
  }

  /** Open the stream for an attempt of a render. */
  async begin(articleId: string, revision: number, attempt: string): Promise<StreamWriter> {
    const redis = this.#fleet.redis
    const key = this.key(articleId, revision)
    // A previous attempt that failed ended the stream: this attempt starts a new one.
    const last = await redis.xrevrange(key, '+', '-', 'COUNT', 1)
    if (last.length > 0 && fieldsOf(last[0]![1]).t === 'end') await redis.del(key)
    await redis.multi().xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 't', 'start', 'attempt', attempt).expire(key, EXPIRE_WHILE_RENDERING_S).exec()
    let chain: Promise<void> = Promise.resolve()
    let failed: Error | undefined
    const enqueue = (write: () => Promise<unknown>) => {
      chain = chain.then(async () => {
        if (failed) return
        try {
          await write()
        } catch (err) {
          failed = err as Error
        }
      })
    }
    return {
      piece: (index, data) =>
        enqueue(() => redis.multi().xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 't', 'piece', 'i', String(index), 'd', data).expire(key, EXPIRE_WHILE_RENDERING_S).exec()),
      flush: async () => {
        await chain
        if (failed) throw new AppError('SERVICE_UNAVAILABLE', `Could not stream a piece through Redis: ${failed.message}`, { status: 503, cause: failed })
      },
      end: async (error) => {
        enqueue(() =>
          redis
            .multi()
            .xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 't', 'end', ...(error ? ['code', error.code, 'message', error.message] : []))
            .expire(key, RETAIN_AFTER_END_S)
            .exec(),
        )
        await chain
      },
    }
  }

  /**
   * Every piece of the render, from the first, then the rest as they come; ends at the end entry (throws its error,
   * if any). Every follower of this node shares one blocking connection (StreamReader), however many articles are
   * followed at once.
   */
  async *follow(articleId: string, revision: number, options: FollowOptions): AsyncGenerator<Buffer> {
    const key = this.key(articleId, revision)
    const sub: Subscriber = { key, lastId: '0', entries: [], wake: () => {} }
    let next = 0
    this.#reader.add(sub)
    try {
      for (;;) {
        throwIfAborted(options.signal)
        if (sub.entries.length === 0 && !sub.error) await waitFor(sub, BLOCK_MS, options.signal)
        throwIfAborted(options.signal)
        if (sub.error) throw sub.error
        const entries = sub.entries.splice(0)
        if (entries.length === 0) {
          if (!(await options.stillExpected())) {
            // One last look: the end may have been written just before the job went away.
            const tail = await this.#fleet.redis.xreadBuffer('COUNT', 64, 'STREAMS', key, sub.lastId)
            if (!tail?.[0]?.[1]?.length) throw new AppError('EPISODE_NOT_READY', 'The render this stream followed stopped (superseded or cancelled).', { status: 503 })
            sub.entries.push(...tail[0][1].map(([id, raw]) => [id.toString(), raw] as Entry))
          }
          continue
        }
        for (const [, raw] of entries) {
          const f = bufferFieldsOf(raw)
          const t = f.t?.toString()
          if (t === 'piece') {
            const index = Number(f.i?.toString())
            if (index < next) continue // replayed by a worker that took the job over
            if (index > next) throw new AppError('EPISODE_NOT_READY', `A piece of the stream is missing (expected ${next}, got ${index}).`, { status: 503 })
            next++
            yield f.d ?? Buffer.alloc(0)
          } else if (t === 'end') {
            const code = f.code?.toString()
            if (code) throw new AppError('EPISODE_NOT_READY', f.message?.toString() ?? 'The render failed.', { status: 503, details: { error: { code } } })
            return
          }
        }
      }
    } catch (err) {
      if (options.signal?.aborted) throw new AppError('ABORTED', 'The reader left.')
      if (!(err instanceof AppError)) this.#logger.warn({ err: (err as Error).message, article: articleId }, 'following a render stream failed')
      throw err instanceof AppError ? err : new AppError('SERVICE_UNAVAILABLE', 'The render stream is unreachable (Redis); retry shortly.', { status: 503, cause: err })
    } finally {
      this.#reader.remove(sub)
    }
  }

  /** Stop the shared reader (the fleet closes its connection too). */
  close(): void {
    this.#reader.close()
  }
}

type Entry = [id: string, fields: Buffer[]]

interface Subscriber {
  key: string
  /** The last entry handed to this subscriber ('0': none yet). */
  lastId: string
  /** Entries read for it and not yet taken. */
  entries: Entry[]
  error?: Error
  wake(): void
}

/** Resolves when the subscriber has entries or an error, after ms, or when the signal aborts. */
function waitFor(sub: Subscriber, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      sub.wake = () => {}
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    sub.wake = done
  })
}

/** Stream entry ids (`<ms>-<seq>`) in order. */
function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-')
  const [bm = '0', bs = '0'] = b.split('-')
  const d = BigInt(am) - BigInt(bm) || BigInt(as) - BigInt(bs)
  return d === 0n ? 0 : d < 0n ? -1 : 1
}

/**
 * One XREAD BLOCK over every stream this node follows, on one connection, instead of a connection per follower.
 * A follower that joins interrupts the blocking read (CLIENT UNBLOCK from the shared command connection) so the
 * next read includes its stream at once. During an outage the read fails fast and every follower gets the error.
 */
class StreamReader {
  readonly #fleet: Fleet
  readonly #subs = new Set<Subscriber>()
  #conn: Redis | undefined
  #clientId: string | undefined
  #running = false
  #blocked = false
  #closed = false

  constructor(fleet: Fleet) {
    this.#fleet = fleet
  }

  get followers(): number {
    return this.#subs.size
  }

  add(sub: Subscriber): void {
    this.#subs.add(sub)
    if (!this.#running) void this.#loop()
    else if (this.#blocked && this.#clientId) void this.#fleet.redis.client('UNBLOCK', this.#clientId).catch(() => {})
  }

  remove(sub: Subscriber): void {
    this.#subs.delete(sub)
  }

  close(): void {
    this.#closed = true
    this.#conn?.disconnect()
    this.#conn = undefined
  }

  async #loop(): Promise<void> {
    this.#running = true
    try {
      while (this.#subs.size > 0 && !this.#closed) {
        const conn = (this.#conn ??= this.#fleet.connect(`follow:${this.#fleet.prefix}`, { failFast: true }))
        try {
          this.#clientId ??= String(await conn.client('ID'))
          // Per stream, the earliest position a follower of it still needs.
          const from = new Map<string, string>()
          for (const s of this.#subs) {
            const cur = from.get(s.key)
            if (cur === undefined || compareIds(s.lastId, cur) < 0) from.set(s.key, s.lastId)
          }
          const keys = [...from.keys()]
          this.#blocked = true
          let res: [Buffer, [Buffer, Buffer[]][]][] | null
          try {
            res = (await conn.xreadBuffer('COUNT', 64, 'BLOCK', READ_BLOCK_MS, 'STREAMS', ...keys, ...keys.map((k) => from.get(k)!))) as typeof res
          } finally {
            this.#blocked = false
          }
          for (const [rawKey, entries] of res ?? []) {
            const key = rawKey.toString()
            for (const s of this.#subs) {
              if (s.key !== key) continue
              for (const [rawId, fields] of entries) {
                const id = rawId.toString()
                if (compareIds(id, s.lastId) <= 0) continue
                s.entries.push([id, fields])
                s.lastId = id
              }
              if (s.entries.length > 0) s.wake()
            }
          }
        } catch (err) {
          // Redis unreachable (or the connection closed): every follower is told; the next follower opens a new one.
          for (const s of this.#subs) {
            s.error = err as Error
            s.wake()
          }
          this.#subs.clear()
          this.#conn?.disconnect()
          this.#conn = undefined
          this.#clientId = undefined
        }
      }
    } finally {
      this.#running = false
    }
  }
}

function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

function bufferFieldsOf(flat: Buffer[]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!.toString()] = flat[i + 1]!
  return out
}
