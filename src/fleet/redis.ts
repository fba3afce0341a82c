/**
 * Redis for a fleet of nodes (BRIEFCAST_REDIS_URL): one shared connection for
 * plain commands, and new ones for what blocks (BullMQ workers, XREAD BLOCK,
 * subscriptions). Every key starts with config.redis.prefix.
 *
 * Shared commands wait through an outage (maxRetriesPerRequest: null): a
 * render that writes a piece while Redis restarts waits, then goes on;
 * /readyz reports the outage meanwhile. The URL may hold a password: it is
 * never logged (see redactRedisUrl).
 */
import { randomBytes } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { within } from '../util/time-limit.ts'

export interface Fleet {
  readonly prefix: string
  /** The URL without its password, for logs and /readyz. */
  readonly displayUrl: string
  /** The shared connection for commands that do not block. */
  readonly redis: Redis
  /** A new connection (the caller closes it). `failFast`: commands fail during an outage instead of waiting. */
  connect(name: string, options?: { failFast?: boolean }): Redis
  /** `<prefix>:<part>:<part>...` */
  key(...parts: (string | number)[]): string
  /**
   * A lock across the fleet's nodes (SET NX PX with a token of this holder's own): the release function, or undefined
   * when another node holds it. It expires after ttlMs should its holder die; release() deletes it only while it is
   * still this holder's. Rejects when Redis does not answer within LOCK_ANSWER_MS.
   */
  lock(name: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>
  /** ok, or down with the reason (answers within a second even while Redis is unreachable). */
  health(): Promise<{ ok: boolean; detail: string }>
  close(): Promise<void>
}

const LOCK_ANSWER_MS = 3000
// Delete the lock only if it still holds this holder's token (it may have expired and been taken by another node).
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'redis://(unparsable URL)'
  }
}

/** What the fleet logs through (a pino logger, or the render child's stderr). */
export interface FleetLogger {
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
}

export function openFleet(url: string, prefix: string, logger: FleetLogger): Fleet {
  const displayUrl = redactRedisUrl(url)
  const opened: Redis[] = []
  let lastError = ''
  const connect = (name: string, options: { failFast?: boolean } = {}): Redis => {
    const base: RedisOptions = {
      connectionName: `briefcast-${name}`,
      // BullMQ requires null on its connections; for the rest it means "wait for Redis to come back".
      maxRetriesPerRequest: options.failFast ? 1 : null,
      enableOfflineQueue: true,
      // Reconnect quickly at first, then every 2 s at most.
      retryStrategy: (times) => Math.min(100 * times, 2000),
      connectTimeout: 5000,
    }
    const r = new Redis(url, base)
    opened.push(r)
    r.on('error', (err: Error) => {
      // ioredis repeats the same error on every reconnect attempt: log each new one once.
      if (err.message === lastError) return
      lastError = err.message
      logger.warn({ redis: displayUrl, connection: name, err: err.message }, 'redis connection problem')
    })
    r.on('ready', () => {
      if (lastError) logger.info({ redis: displayUrl, connection: name }, 'redis connection ready again')
      lastError = ''
    })
    return r
  }
  const redis = connect('commands')
  return {
    prefix,
    displayUrl,
    redis,
    connect,
    key: (...parts) => [prefix, ...parts].join(':'),
    async lock(name, ttlMs) {
      const key = [prefix, 'lock', name].join(':')
      const token = randomBytes(12).toString('hex')
      const got = await within(redis.set(key, token, 'PX', ttlMs, 'NX'), LOCK_ANSWER_MS, `Redis did not answer within ${LOCK_ANSWER_MS} ms`)
      if (got !== 'OK') return undefined
      return async () => {
        await within(redis.eval(RELEASE, 1, key, token), LOCK_ANSWER_MS, `Redis did not answer within ${LOCK_ANSWER_MS} ms`).catch(() => {
          // Not released: it expires after ttlMs.
        })
      }
    },
    async health() {
      if (redis.status !== 'ready') return { ok: false, detail: `down: ${displayUrl} (${lastError || redis.status})` }
      try {
        await within(redis.ping(), 1000, 'no answer to PING within 1 s')
        return { ok: true, detail: `ok: ${displayUrl}` }
      } catch (err) {
        return { ok: false, detail: `down: ${displayUrl} (${(err as Error).message})` }
      }
    },
    async close() {
      await Promise.allSettled(
        opened.splice(0).map(async (r) => {
          if (r.status === 'end') return
          // quit() waits for Redis; while it is down, just drop the socket.
          if (r.status !== 'ready') return r.disconnect()
          await r.quit().catch(() => r.disconnect())
        }),
      )
    },
  }
}
