/**
 * Redis for the fleet suites: 127.0.0.1:6379 (BRIEFCAST_TEST_REDIS_URL to change). When it is not
 * reachable the suites skip with the reason printed, except under CI=true, where they fail.
 * Every run uses its own key prefix and deletes its keys afterwards.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.BRIEFCAST_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

async function probe(): Promise<string | undefined> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null })
  r.on('error', () => {})
  try {
    await r.connect()
    await r.ping()
    return undefined
  } catch (err) {
    return `Redis at ${REDIS_URL} is not reachable (${(err as Error).message})`
  } finally {
    r.disconnect()
  }
}

export const redisProblem = await probe()
if (redisProblem) {
  if (process.env.CI === 'true') throw new Error(`${redisProblem}; the Redis suites must run under CI=true`)
  console.warn(`skipping the Redis suites: ${redisProblem}`)
}

/** A key prefix of its own for a test run. */
export const testPrefix = (name: string) => `bctest-${name}-${randomBytes(4).toString('hex')}`

/** Delete every key of a prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  if (redisProblem) return
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await r.del(...keys)
    } while (cursor !== '0')
  } finally {
    r.disconnect()
  }
}
