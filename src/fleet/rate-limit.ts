/**
 * Requests per minute for a cloud engine, shared by every process of the
 * fleet: a sliding window in a Redis sorted set per engine (one member per
 * request, scored by Redis's own clock so the machines' clocks do not
 * matter). take() waits for a free slot; while Redis is unreachable it waits
 * and tries again, so a render pauses rather than exceed the provider's quota.
 */
import { createHash, randomBytes } from 'node:crypto'
import { throwIfAborted } from '../errors.ts'
import { sleep, type RateLimiter } from '../tts/cloud.ts'
import type { Fleet } from './redis.ts'

// Returns 0 when a slot was taken, else the milliseconds until the oldest request leaves the window.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now + 1)`

export function redisRateLimiter(fleet: Fleet, engine: string, limit: number, windowMs = 60_000): RateLimiter {
  const key = fleet.key('ratelimit', createHash('sha256').update(engine).digest('hex').slice(0, 16))
  let seq = 0
  const self = randomBytes(6).toString('hex')
  return {
    limit,
    async take(signal?: AbortSignal): Promise<void> {
      for (;;) {
        throwIfAborted(signal)
        let wait: number
        try {
          wait = Number(await fleet.redis.eval(TAKE, 1, key, limit, windowMs, `${self}:${++seq}`))
        } catch {
          wait = 1000 // Redis unreachable: wait, then ask again
        }
        if (wait <= 0) return
        await sleep(Math.min(wait, windowMs), signal)
      }
    },
  }
}
