/** Signing in to the dashboard from tests: real HTTP, real cookies, real CSRF tokens. */
import Database from 'better-sqlite3'
import type { Role } from '../../src/admin/accounts.ts'
import type { Store } from '../../src/store/index.ts'
import type { TestService } from '../http/helpers.ts'

export interface Session {
  cookie: string
  csrf: string
  username: string
}

export async function addUser(svc: TestService, username: string, role: Role, password = `pw-${username}-0123456789`): Promise<{ username: string; password: string }> {
  await svc.deps.store.accounts.addUser(username, password, role)
  return { username, password }
}

/**
 * Rows as they are at rest in the service's SQLite file (opened read-only), for what the store's API does not
 * show on purpose: that only hashes of passwords, tokens, keys and clients are kept.
 */
export function peek<T = Record<string, unknown>>(svc: { deps: { store: Store } }, query: string, ...args: unknown[]): T[] {
  if (svc.deps.store.dialect !== 'sqlite') throw new Error('peek reads the SQLite file')
  const db = new Database(svc.deps.store.location, { readonly: true })
  try {
    return db.prepare(query).all(...args) as T[]
  } finally {
    db.close()
  }
}

export async function login(svc: TestService, username: string, password: string): Promise<Response> {
  return fetch(svc.url + '/admin/login', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: svc.url },
    body: new URLSearchParams({ username, password }).toString(),
  })
}

export async function signIn(svc: TestService, username: string, password: string): Promise<Session> {
  const r = await login(svc, username, password)
  if (r.status !== 303) throw new Error(`sign-in failed: ${r.status} ${await r.text()}`)
  const cookie = r.headers.get('set-cookie')!.split(';')[0]!
  const html = await (await fetch(svc.url + '/admin', { headers: { cookie } })).text()
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1]
  if (!csrf) throw new Error('no CSRF token on the dashboard')
  return { cookie, csrf, username }
}

/** A fetch as the dashboard's script makes it: the session cookie, the CSRF token, our own Origin. */
export function asSession(svc: TestService, s: Session, pathname: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: svc.url, ...(init.headers as Record<string, string>) }
  let body = init.body
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(init.json)
  }
  return fetch(svc.url + pathname, { ...init, headers, body })
}
