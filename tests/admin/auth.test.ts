/**
 * Accounts, sessions, CSRF, roles, API keys and login rate limiting against
 * the real service (port 0, SQLite, HTTP with real cookies).
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startService } from '../../src/main.ts'
import { API_KEY, postJson, startTestService, type TestService } from '../http/helpers.ts'
import { addUser, asSession, login, peek, signIn } from './helpers.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
})
afterAll(async () => {
  await svc?.stop()
})

const errorCode = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code

describe('the first admin', () => {
  it('is created on first start with a password printed once, stored only as a scrypt hash and never logged', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-admin-'))
    let printed = ''
    let logged = ''
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged += String(chunk)
        cb()
      },
    })
    const start = (extra: Record<string, unknown> = {}) =>
      startService({
        env: {},
        cwd: path.resolve(import.meta.dirname, '../..'),
        handleSignals: false,
        shutdownGraceMs: 2000,
        logger: pino({ level: 'trace' }, sink),
        print: (s) => (printed += s),
        overrides: { port: 0, host: '127.0.0.1', apiKey: API_KEY, dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache'), ...extra },
      })
    try {
      const s = await start({ 'admin.initialUser': 'chief' })
      const password = /password: (\S+)/.exec(printed)?.[1]
      expect(password).toMatch(/^[A-Za-z0-9]{20}$/)
      const row = peek<{ username: string; role: string; password_hash: string }>(s, 'SELECT username, role, password_hash FROM users')
      expect(row).toEqual([{ username: 'chief', role: 'admin', password_hash: expect.stringMatching(/^scrypt\$16384\$8\$1\$/) }])
      expect(row[0]!.password_hash).not.toContain(password)
      const asTest = { ...s, dir, api: () => Promise.reject(new Error('unused')), stop: s.close } as unknown as TestService
      // A wrong password, then the right one.
      expect((await login(asTest, 'chief', 'not-the-password')).status).toBe(401)
      const ok = await login(asTest, 'chief', password!)
      expect(ok.status).toBe(303)
      expect(ok.headers.get('location')).toBe('/admin')
      const cookie = ok.headers.get('set-cookie')!
      expect(cookie).toMatch(/^briefcast_session=[A-Za-z0-9_-]{40,};/)
      expect(cookie).toMatch(/HttpOnly/)
      expect(cookie).toMatch(/SameSite=Strict/)
      expect(cookie).not.toMatch(/Secure/) // plain http here; see the https case below
      const token = cookie.split(';')[0]!.split('=')[1]!
      // The session token is stored hashed too.
      const sessions = peek<{ token_hash: string }>(s, 'SELECT token_hash FROM sessions')
      expect(sessions).toHaveLength(1)
      expect(sessions[0]!.token_hash).not.toBe(token)
      await s.close()
      expect(logged).toContain('signed in')
      expect(logged).not.toContain(password)
      expect(logged).not.toContain('not-the-password')
      expect(logged).not.toContain(token)
      // A second start does not create another admin or print anything.
      printed = ''
      const again = await start()
      expect(printed).toBe('')
      expect(await again.deps.store.accounts.countUsers()).toBe(1)
      await again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('behind https the cookie is Secure and __Host- prefixed', async () => {
    const s = await startTestService({ publicUrl: 'https://news.example.org' })
    try {
      await addUser(s, 'sec', 'viewer')
      const r = await fetch(s.url.replace('https://news.example.org', `http://127.0.0.1:${(s.server.address() as { port: number }).port}`) + '/admin/login', {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=sec&password=pw-sec-0123456789',
      })
      expect(r.status).toBe(303)
      expect(r.headers.get('set-cookie')).toMatch(/^__Host-briefcast_session=.*; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/)
    } finally {
      await s.stop()
    }
  })
})

describe('sessions, CSRF and roles', () => {
  it('a signed-in editor works through the API with the CSRF token; without it, or from another origin, nothing changes', async () => {
    const u = await addUser(svc, 'ed', 'editor')
    const s = await signIn(svc, u.username, u.password)
    const me = await asSession(svc, s, '/api/me')
    expect(await me.json()).toEqual({ name: 'ed', role: 'editor', kind: 'session' })
    const count = async () => (await svc.deps.store.articles.list({ limit: 1, offset: 0 })).total
    const before = await count()
    const noToken = await fetch(svc.url + '/api/articles', { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'No token.' }) })
    expect(noToken.status).toBe(403)
    expect(await errorCode(noToken)).toBe('CSRF_FAILED')
    const wrongToken = await asSession(svc, s, '/api/articles', { method: 'POST', json: { text: 'Wrong token.' }, headers: { 'x-csrf-token': 'x'.repeat(43) } })
    expect(await errorCode(wrongToken)).toBe('CSRF_FAILED')
    const crossSite = await asSession(svc, s, '/api/articles', { method: 'POST', json: { text: 'From elsewhere.' }, headers: { origin: 'https://evil.example' } })
    expect(crossSite.status).toBe(403)
    expect(await errorCode(crossSite)).toBe('CSRF_FAILED')
    expect(await count()).toBe(before)
    const ok = await asSession(svc, s, '/api/articles', { method: 'POST', json: { title: 'By an editor', text: 'Written in the dashboard.' } })
    expect(ok.status).toBe(201)
    expect(await count()).toBe(before + 1)
    // Editors cannot manage users or keys.
    expect(await errorCode(await asSession(svc, s, '/api/users'))).toBe('FORBIDDEN')
    expect((await asSession(svc, s, '/api/keys', { method: 'POST', json: { name: 'x' } })).status).toBe(403)
    // Signing out ends the session on the server, not just in the browser.
    const out = await fetch(svc.url + '/admin/logout', { method: 'POST', redirect: 'manual', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', origin: svc.url }, body: `_csrf=${s.csrf}` })
    expect(out.status).toBe(303)
    expect((await asSession(svc, s, '/api/me')).status).toBe(401)
  })

  it('a viewer reads but cannot change anything (403), and sees no edit controls', async () => {
    const u = await addUser(svc, 'viewer1', 'viewer')
    const s = await signIn(svc, u.username, u.password)
    const { id } = (await (await postJson(svc, '/api/articles', { title: 'Viewer test', text: 'Something to look at.' })).json()) as { id: string }
    expect((await asSession(svc, s, '/api/articles')).status).toBe(200)
    expect((await asSession(svc, s, `/api/articles/${id}`)).status).toBe(200)
    for (const [method, p, json] of [
      ['POST', '/api/articles', { text: 'no' }],
      ['PUT', `/api/articles/${id}`, { title: 'no' }],
      ['DELETE', `/api/articles/${id}`, undefined],
      ['POST', '/api/briefings', { articleIds: [id] }],
    ] as const) {
      const r = await asSession(svc, s, p, { method, json })
      expect(r.status, `${method} ${p}`).toBe(403)
      expect(await errorCode(r)).toBe('FORBIDDEN')
    }
    const list = await (await fetch(svc.url + '/admin', { headers: { cookie: s.cookie } })).text()
    expect(list).toContain('Viewer test')
    expect(list).not.toContain('id="add-article"')
    const detail = await (await fetch(svc.url + `/admin/articles/${id}`, { headers: { cookie: s.cookie } })).text()
    expect(detail).not.toMatch(/data-method="(PUT|DELETE|POST)"/)
    expect((await fetch(svc.url + '/admin/users', { headers: { cookie: s.cookie } })).status).toBe(403)
  })

  it('pages need a session: /admin redirects to the sign-in page, which has no open redirect', async () => {
    const r = await fetch(svc.url + '/admin/keys?x=1', { redirect: 'manual' })
    expect(r.status).toBe(303)
    expect(r.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Fkeys%3Fx%3D1')
    const u = await addUser(svc, 'redir', 'viewer')
    const evil = await fetch(svc.url + '/admin/login', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: u.username, password: u.password, next: '//evil.example/' }).toString(),
    })
    expect(evil.headers.get('location')).toBe('/admin')
    const page = await fetch(svc.url + '/admin/login')
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/)
  })
})

describe('API keys', () => {
  it('are named, shown once, stored hashed, record their last use, carry a role and can be revoked', async () => {
    const created = await postJson(svc, '/api/keys', { name: 'CMS', role: 'editor' })
    expect(created.status).toBe(201)
    const k = (await created.json()) as { id: string; key: string; name: string; role: string; prefix: string; lastUsedAt: string | null }
    expect(k.key).toMatch(/^bc_[A-Za-z0-9_-]{43}$/)
    expect(k.key.startsWith(k.prefix)).toBe(true)
    expect(k.lastUsedAt).toBeNull()
    const stored = peek(svc, 'SELECT * FROM api_keys WHERE id = ?', k.id)
    expect(JSON.stringify(stored)).not.toContain(k.key)
    const listed = await (await svc.api('/api/keys')).text()
    expect(listed).not.toContain(k.key)
    const withKey = (p: string, init: RequestInit = {}) => fetch(svc.url + p, { ...init, headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json', ...(init.headers as object) } })
    // No CSRF token needed: a key is not sent by browsers on their own.
    expect((await withKey('/api/articles', { method: 'POST', body: JSON.stringify({ text: 'From the CMS.' }) })).status).toBe(201)
    expect((await withKey('/api/keys')).status).toBe(403)
    const after = ((await (await svc.api('/api/keys')).json()) as { items: { id: string; lastUsedAt: string | null }[] }).items.find((x) => x.id === k.id)!
    expect(after.lastUsedAt).not.toBeNull()
    expect((await svc.api(`/api/keys/${k.id}`, { method: 'DELETE' })).status).toBe(200)
    const revoked = await withKey('/api/articles')
    expect(revoked.status).toBe(401)
    expect(await errorCode(revoked)).toBe('UNAUTHORIZED')
  })

  it('a viewer key reads only; the configured key stays an admin key', async () => {
    const { key } = (await (await postJson(svc, '/api/keys', { name: 'Dashboard TV', role: 'viewer' })).json()) as { key: string }
    expect((await fetch(svc.url + '/api/articles', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    const r = await fetch(svc.url + '/api/articles', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"text":"x"}' })
    expect(r.status).toBe(403)
    expect((await svc.api('/api/users')).status).toBe(200)
    expect((await postJson(svc, '/api/keys', { name: '' })).status).toBe(400)
    expect((await postJson(svc, '/api/keys', { name: 'x', role: 'root' })).status).toBe(400)
  })
})

describe('users through the API', () => {
  it('adds with a generated password shown once, changes roles, resets passwords, and keeps the last admin', async () => {
    const r = await postJson(svc, '/api/users', { username: 'newbie', role: 'viewer' })
    expect(r.status).toBe(201)
    const { password } = (await r.json()) as { password: string }
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/)
    expect((await postJson(svc, '/api/users', { username: 'newbie' })).status).toBe(409)
    expect((await postJson(svc, '/api/users', { username: 'short', password: 'abc' })).status).toBe(400)
    const s = await signIn(svc, 'newbie', password)
    expect((await postJson(svc, '/api/users/newbie', { role: 'editor' }, 'PATCH')).status).toBe(200)
    expect(((await (await asSession(svc, s, '/api/me')).json()) as { role: string }).role).toBe('editor')
    const reset = (await (await postJson(svc, '/api/users/newbie/password', {})).json()) as { password: string }
    expect(reset.password).not.toBe(password)
    expect((await asSession(svc, s, '/api/me')).status).toBe(401) // a new password ends old sessions
    expect((await login(svc, 'newbie', password)).status).toBe(401)
    expect((await login(svc, 'newbie', reset.password)).status).toBe(303)
    const admins = (await svc.deps.store.accounts.listUsers()).filter((u) => u.role === 'admin')
    expect(admins).toHaveLength(1)
    const last = await svc.api(`/api/users/${admins[0]!.username}`, { method: 'DELETE' })
    expect(last.status).toBe(409)
    expect((await svc.api('/api/users/newbie', { method: 'DELETE' })).status).toBe(204)
    expect((await svc.api('/api/users/newbie', { method: 'DELETE' })).status).toBe(404)
  })
})

describe('login rate limiting', () => {
  it('ten wrong passwords in a minute refuse the next tries, even the right one, with Retry-After', async () => {
    const u = await addUser(svc, 'target', 'editor')
    for (let i = 0; i < 10; i++) expect((await login(svc, 'target', `wrong-${i}`)).status).toBe(401)
    const blocked = await login(svc, 'target', u.password)
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    expect(await blocked.text()).toMatch(/Too many wrong passwords/)
  })
})
