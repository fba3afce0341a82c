/**
 * The rules every network speech engine follows, in one place: a
 * requests-per-minute limit per engine, retries of what is retryable (429,
 * 5xx, network failures) with exponential backoff and jitter that honours
 * Retry-After, cancellation, and HTTP calls whose failures the engine maps to
 * our error codes. Engines differ only in how they build a request and read
 * an answer.
 */
import { AppError, throwIfAborted } from '../errors.ts'

export interface EngineLogger {
  warn(obj: object, msg?: string): void
}

/** At most `limit` calls in any minute; take() waits for a free slot. */
export interface RateLimiter {
  readonly limit: number
  take(signal?: AbortSignal): Promise<void>
}

/** Sliding-window limiter: at most `limit` calls in any 60 s. */
export class RequestsPerMinute implements RateLimiter {
  private readonly stamps: number[] = []
  constructor(readonly limit: number) {}

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      throwIfAborted(signal)
      const now = Date.now()
      while (this.stamps.length > 0 && now - this.stamps[0]! >= 60_000) this.stamps.shift()
      if (this.stamps.length < this.limit) {
        this.stamps.push(now)
        return
      }
      await sleep(60_000 - (now - this.stamps[0]!) + 1, signal)
    }
  }
}

const limiters = new Map<string, RateLimiter>()
let sharedLimiter: ((engine: string, rpm: number) => RateLimiter) | undefined

/**
 * Limits shared by every process of a fleet (src/fleet/rate-limit.ts, with Redis): engines made after
 * this call take their slots there. Undefined goes back to per-process limits.
 */
export function useSharedLimits(factory: ((engine: string, rpm: number) => RateLimiter) | undefined): void {
  sharedLimiter = factory
  limiters.clear()
}

/** One limiter per engine and limit in the process (or the fleet): every instance of an engine shares the provider's quota. */
export function limiterFor(engine: string, rpm: number): RateLimiter {
  const key = `${engine}:${rpm}`
  let l = limiters.get(key)
  if (!l) limiters.set(key, (l = sharedLimiter ? sharedLimiter(engine, rpm) : new RequestsPerMinute(rpm)))
  return l
}

export function abortedError(signal?: AbortSignal): AppError {
  return new AppError('ABORTED', 'Speech synthesis was cancelled.', { cause: signal?.reason })
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortedError(signal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Longest we wait before one retry, whatever a server asks for. */
export const MAX_RETRY_DELAY_MS = 60_000

/**
 * Delay before retry number `attempt` (0-based): base * 2^attempt with ±25 %
 * jitter, capped; never shorter than what the server asked for in Retry-After.
 */
export function backoffMs(attempt: number, baseMs: number, retryAfterMs?: number): number {
  const exp = Math.min(30_000, baseMs * 2 ** attempt) * (0.75 + Math.random() * 0.5)
  return Math.min(MAX_RETRY_DELAY_MS, Math.max(exp, retryAfterMs ?? 0))
}

type HeaderBag = { get(name: string): string | null } | Record<string, string | string[] | undefined> | undefined

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined
  const bag = headers as Record<string, string | string[] | undefined>
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name)
  const v = key ? bag[key] : undefined
  return Array.isArray(v) ? v[0] : v
}

/**
 * Retry-After (RFC 9110 §10.2.3: seconds or an HTTP date), or OpenAI's
 * retry-after-ms, in milliseconds; undefined when absent or unreadable.
 */
export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms')
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms)
  const value = header(headers, 'retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

export interface RetryPolicy {
  engine: string
  limiter: RateLimiter
  maxRetries: number
  retryBaseMs: number
  logger?: EngineLogger
}

/** What a failed attempt means: retry it (after at least retryAfterMs), or give up with this error. */
export type Verdict = { retry: true; retryAfterMs?: number; reason: string; final: AppError } | { retry: false; final: AppError }

/**
 * Run `attempt` under the engine's limiter; a failure is classified by
 * `judge`, retried while it says so and retries remain, else its final error
 * is thrown. An abort stops the wait and the attempt at once.
 */
export async function withRetries<T>(policy: RetryPolicy, signal: AbortSignal | undefined, attempt: (signal: AbortSignal | undefined) => Promise<T>, judge: (err: unknown) => Verdict): Promise<T> {
  for (let n = 0; ; n++) {
    await policy.limiter.take(signal)
    throwIfAborted(signal)
    try {
      return await attempt(signal)
    } catch (err) {
      if (signal?.aborted) throw abortedError(signal)
      if (err instanceof AppError) throw err
      const verdict = judge(err)
      if (!verdict.retry || n >= policy.maxRetries) throw verdict.final
      const delay = backoffMs(n, policy.retryBaseMs, verdict.retryAfterMs)
      policy.logger?.warn({ engine: policy.engine, attempt: n + 1, reason: verdict.reason, delayMs: Math.round(delay) }, `${policy.engine}: transient error; retrying`)
      await sleep(delay, signal)
    }
  }
}

/** A non-2xx answer from a provider's HTTP API, with its body read (for the engine's error mapping). */
export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    readonly body: string,
  ) {
    super(`HTTP ${status}`)
    this.name = 'HttpFailure'
  }
  /** The body as JSON, or undefined. */
  json(): unknown {
    try {
      return JSON.parse(this.body) as unknown
    } catch {
      return undefined
    }
  }
}

/** A network failure (refused, reset, DNS, per-attempt timeout) before any answer. */
export class NetworkFailure extends Error {
  constructor(cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause })
    this.name = 'NetworkFailure'
  }
}

export interface HttpCall {
  url: string
  init: RequestInit
  /** Per-attempt deadline, ms. */
  timeoutMs: number
}

/**
 * One HTTP request with the engine's retry policy. 2xx: the whole body. Other
 * answers: `classify` turns the HttpFailure (or NetworkFailure) into a verdict;
 * by default 429, 5xx and network failures are retried, and `classify` only
 * has to say which AppError each failure ends in.
 */
export async function httpWithRetries(
  policy: RetryPolicy,
  call: () => HttpCall,
  signal: AbortSignal | undefined,
  toError: (failure: HttpFailure | NetworkFailure) => AppError,
  fatal: (failure: HttpFailure) => boolean = () => false,
): Promise<{ headers: Headers; body: Buffer }> {
  return withRetries(
    policy,
    signal,
    async (sig) => {
      const { url, init, timeoutMs } = call()
      const timeout = AbortSignal.timeout(timeoutMs)
      let res: Response
      try {
        res = await fetch(url, { ...init, signal: sig ? AbortSignal.any([sig, timeout]) : timeout })
      } catch (err) {
        if (sig?.aborted) throw abortedError(sig)
        throw new NetworkFailure(timeout.aborted ? new Error(`no answer within ${timeoutMs} ms`) : ((err as Error).cause ?? err))
      }
      try {
        const body = Buffer.from(await res.arrayBuffer())
        if (res.ok) return { headers: res.headers, body }
        throw new HttpFailure(res.status, res.headers, body.toString('utf8').slice(0, 4000))
      } catch (err) {
        if (sig?.aborted) throw abortedError(sig)
        if (err instanceof HttpFailure) throw err
        throw new NetworkFailure(err)
      }
    },
    (err) => {
      if (err instanceof HttpFailure) {
        const retryable = (err.status === 429 || err.status >= 500) && !fatal(err)
        return retryable ? { retry: true, retryAfterMs: retryAfterMs(err.headers), reason: `HTTP ${err.status}`, final: toError(err) } : { retry: false, final: toError(err) }
      }
      if (err instanceof NetworkFailure) return { retry: true, reason: err.message, final: toError(err) }
      return { retry: false, final: new AppError('ENGINE_FAILED', `${policy.engine}: ${(err as Error)?.message ?? String(err)}`, { cause: err }) }
    },
  )
}

/** How a provider failure ends, by HTTP status, with the setting that fixes it. */
export interface ProviderErrorContext {
  /** Engine as users see it, e.g. 'OpenAI-compatible engine'. */
  provider: string
  /** What was being done, e.g. 'synthesizing with voice nova'. */
  what: string
  /** The env var (or setting) that holds the key. */
  keySetting: string
  voice?: string
  /** The provider's own message, trimmed. */
  detail: string
}

export function authFailed(ctx: ProviderErrorContext, status: number, cause?: unknown): AppError {
  return new AppError('ENGINE_AUTH_FAILED', `${ctx.provider} refused the credentials ${ctx.what} (HTTP ${status}): ${ctx.detail}`, {
    cause,
    details: { status, setting: ctx.keySetting, ...(ctx.voice ? { voice: ctx.voice } : {}) },
    help: `Check the key in ${ctx.keySetting}: it must be valid and allowed to use text-to-speech.`,
  })
}

export function quotaExceeded(ctx: ProviderErrorContext, status: number, cause?: unknown): AppError {
  return new AppError('QUOTA_EXCEEDED', `${ctx.provider}'s quota or credit is used up ${ctx.what}: ${ctx.detail}`, {
    cause,
    details: { status, setting: ctx.keySetting },
    help: `Raise the plan or credit of the account whose key is in ${ctx.keySetting}, wait for the quota to reset, or set BRIEFCAST_FALLBACK_ENGINE=espeak-ng.`,
  })
}

export function unknownVoice(ctx: ProviderErrorContext, engineId: string, status?: number, cause?: unknown): AppError {
  return new AppError('UNKNOWN_VOICE', `${ctx.provider} does not know the voice ${ctx.voice ?? ''} ${ctx.what}: ${ctx.detail}`.replace(/\s+/g, ' '), {
    cause,
    details: { ...(status ? { status } : {}), ...(ctx.voice ? { voice: ctx.voice } : {}), engine: engineId },
    help: `Use a voice listed by \`briefcast voices --engine ${engineId}\` in the voice profile.`,
  })
}

export function transientFinal(ctx: ProviderErrorContext, status: number | undefined, cause?: unknown): AppError {
  if (status === 429)
    return new AppError('RATE_LIMITED', `${ctx.provider} kept answering "too many requests" ${ctx.what}: ${ctx.detail}`, {
      cause,
      details: { status },
      help: 'Retry later, or lower the engine\'s requests-per-minute setting to stay under the provider\'s limit.',
    })
  return new AppError('ENGINE_UNAVAILABLE', `${ctx.provider} is unavailable ${ctx.what}${status ? ` (HTTP ${status})` : ''}: ${ctx.detail}`, { cause, details: status ? { status } : undefined })
}

/** Characters as providers bill them: Unicode code points, not UTF-16 units. */
export function countCharacters(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}
