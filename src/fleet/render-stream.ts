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
const BLOCK_MS = 5000

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

  constructor(fleet: Fleet, logger: Logger) {
    this.#fleet = fleet
    this.#logger = logger
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
   * Every piece of the render, from the first, then the rest as they come; ends
   * at the end entry (throws its error, if any). Uses its own connection (XREAD BLOCK).
   */
  async *follow(articleId: string, revision: number, options: FollowOptions): AsyncGenerator<Buffer> {
    const key = this.key(articleId, revision)
    // Fails fast during an outage: the reader is told to retry rather than left hanging.
    const conn: Redis = this.#fleet.connect('follow', { failFast: true })
    const onAbort = () => conn.disconnect()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    let lastId = '0'
    let next = 0
    try {
      for (;;) {
        throwIfAborted(options.signal)
        const res = await conn.xreadBuffer('COUNT', 64, 'BLOCK', BLOCK_MS, 'STREAMS', key, lastId)
        throwIfAborted(options.signal)
        const entries = res?.[0]?.[1] ?? []
        if (entries.length === 0) {
          if (!(await options.stillExpected())) {
            // One last look: the end may have been written just before the job went away.
            const tail = await conn.xreadBuffer('COUNT', 64, 'STREAMS', key, lastId)
            if (!tail?.[0]?.[1]?.length) throw new AppError('EPISODE_NOT_READY', 'The render this stream followed stopped (superseded or cancelled).', { status: 503 })
            continue
          }
          continue
        }
        for (const [id, raw] of entries) {
          lastId = id.toString()
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
      options.signal?.removeEventListener('abort', onAbort)
      conn.disconnect()
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
