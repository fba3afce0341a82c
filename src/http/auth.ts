/**
 * Who is asking: an API key ("Authorization: Bearer <key>": the configured
 * BRIEFCAST_API_KEY / data/api-key is an admin key; named keys carry their own
 * role) or a dashboard session (cookie). Cookie-borne requests that change
 * anything must carry the session's CSRF token and, when the browser sends an
 * Origin, come from our own origin. Login attempts are rate limited.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type express from 'express'
import { roleAtLeast, type Role, type UserRecord } from '../admin/accounts.ts'
import { AppError } from '../errors.ts'
import type { AppDeps } from './deps.ts'

export interface Principal {
  kind: 'key' | 'session'
  role: Role
  /** The user name, or the API key's name. */
  name: string
  user?: UserRecord
  /** Sessions only: the token forms and fetches send back. */
  csrfToken?: string
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function sessionCookieName(deps: AppDeps): string {
  // The __Host- prefix (https only) pins the cookie to this origin: no Domain, Path=/ and Secure.
  return isHttps(deps) ? '__Host-briefcast_session' : 'briefcast_session'
}

const isHttps = (deps: AppDeps) => deps.config.publicUrl.startsWith('https:')

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!header) return out
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i < 0) continue
    const k = part.slice(0, i).trim()
    const v = part.slice(i + 1).trim()
    if (!(k in out)) {
      try {
        out[k] = decodeURIComponent(v)
      } catch {
        out[k] = v
      }
    }
  }
  return out
}

export function sessionCookie(deps: AppDeps, token: string, maxAgeSeconds: number): string {
  const attrs = [`${sessionCookieName(deps)}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`]
  if (isHttps(deps)) attrs.push('Secure')
  return attrs.join('; ')
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb)
}

/**
 * The principal of a request, or undefined (no credentials); a wrong key is an error, not anonymous.
 * Asks the store once per request (the answer is kept on the request).
 */
export async function identify(deps: AppDeps, req: express.Request): Promise<Principal | undefined> {
  const cached = (req as { principal?: Principal | null }).principal
  if (cached !== undefined) return cached ?? undefined
  const header = req.get('authorization')
  let p: Principal | undefined
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!m) throw new AppError('UNAUTHORIZED', 'Malformed Authorization header: send "Authorization: Bearer <key>".')
    const given = m[1]!
    const envKey = deps.config.apiKey
    if (envKey && sameSecret(given, envKey)) p = { kind: 'key', role: 'admin', name: 'BRIEFCAST_API_KEY' }
    else {
      const key = await deps.store.accounts.useKey(given)
      if (!key) throw new AppError('UNAUTHORIZED', 'Wrong or revoked API key.')
      p = { kind: 'key', role: key.role, name: key.name }
    }
  } else {
    const token = parseCookies(req.get('cookie'))[sessionCookieName(deps)]
    const s = token ? await deps.store.accounts.session(token) : undefined
    if (s) p = { kind: 'session', role: s.user.role, name: s.user.username, user: s.user, csrfToken: s.csrfToken }
  }
  ;(req as { principal?: Principal | null }).principal = p ?? null
  return p
}

/** Cookie-borne state changes: our own origin (when the browser says) and the session's CSRF token. */
export function checkCsrf(deps: AppDeps, req: express.Request, p: Principal): void {
  if (p.kind !== 'session' || SAFE_METHODS.has(req.method)) return
  const origin = req.get('origin')
  if (origin !== undefined) {
    const own = new Set([new URL(deps.config.publicUrl).origin, `${req.protocol}://${req.get('host')}`])
    if (!own.has(origin)) throw new AppError('CSRF_FAILED', `A request from ${origin} cannot change anything here.`, { details: { origin } })
  }
  const body = req.body as Record<string, unknown> | undefined
  const sent = req.get('x-csrf-token') ?? (typeof body?._csrf === 'string' ? body._csrf : undefined)
  if (!sent || !p.csrfToken || !sameSecret(sent, p.csrfToken)) throw new AppError('CSRF_FAILED', 'Missing or wrong CSRF token; reload the page and try again.')
}

export function requireRole(p: Principal, needed: Role): void {
  if (!roleAtLeast(p.role, needed))
    throw new AppError('FORBIDDEN', `This needs the ${needed} role; ${p.kind === 'key' ? `the API key "${p.name}"` : `"${p.name}"`} is ${p.role}.`, { details: { role: p.role, needed } })
}

/**
 * /api/*: a key or a session. Reading needs viewer, changing needs editor
 * (routers for users, keys and settings ask for admin on top).
 */
export function requireApiAuth(deps: AppDeps, needed?: Role): express.RequestHandler {
  return async (req, _res, next) => {
    try {
      const p = await identify(deps, req)
      if (!p) throw new AppError('UNAUTHORIZED', 'Sign in to the dashboard or send an API key as "Authorization: Bearer <key>".')
      requireRole(p, needed ?? (SAFE_METHODS.has(req.method) ? 'viewer' : 'editor'))
      checkCsrf(deps, req, p)
      next()
    } catch (err) {
      next(err)
    }
  }
}

export function principalOf(req: express.Request): Principal {
  const p = (req as { principal?: Principal | null }).principal
  if (!p) throw new AppError('UNAUTHORIZED', 'Sign in first.')
  return p
}

/**
 * Login attempts: `max` failures within `windowMs` for one user name (or five
 * times as many from one client address, which a newsroom behind one NAT
 * shares) refuse further tries until the window has passed.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>()
  constructor(
    readonly max = 10,
    readonly windowMs = 60_000,
  ) {}

  #limit(key: string): number {
    return key.startsWith('ip:') ? this.max * 5 : this.max
  }

  #recent(key: string, now: number): number[] {
    const list = (this.#failures.get(key) ?? []).filter((t) => t > now - this.windowMs)
    if (list.length === 0) this.#failures.delete(key)
    else this.#failures.set(key, list)
    return list
  }

  /** Throws RATE_LIMITED (with a retry time) when any of the keys has used up its tries. */
  check(keys: string[], now = Date.now()): void {
    for (const key of keys) {
      const list = this.#recent(key, now)
      const max = this.#limit(key)
      if (list.length >= max) {
        const retryAfter = Math.max(1, Math.ceil((list[list.length - max]! + this.windowMs - now) / 1000))
        throw new AppError('RATE_LIMITED', `Too many wrong passwords; try again in ${retryAfter} seconds.`, { details: { retryAfter } })
      }
    }
  }

  fail(keys: string[], now = Date.now()): void {
    for (const key of keys) this.#failures.set(key, [...this.#recent(key, now), now])
    // Bounded memory under a spray of names: forget the oldest keys.
    if (this.#failures.size > 10_000) for (const k of [...this.#failures.keys()].slice(0, 1000)) this.#failures.delete(k)
  }

  succeed(keys: string[]): void {
    for (const key of keys) this.#failures.delete(key)
  }
}
