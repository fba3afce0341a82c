/**
 * Dashboard accounts (users with roles), their sessions, and named API keys.
 * Tables from migrations 'admin-001-accounts'. Only hashes of secrets are stored.
 */
import type Database from 'better-sqlite3'
import { perDatabase } from '../store/per-database.ts'
import { AppError } from '../errors.ts'
import { dummyPasswordHash, hashPassword, passwordProblem, randomToken, sha256Hex, verifyPassword } from './secrets.ts'

export const ROLES = ['admin', 'editor', 'viewer'] as const
export type Role = (typeof ROLES)[number]

/** admin can do all an editor can, an editor all a viewer can. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(needed)
}

export function parseRole(value: unknown, field = 'role'): Role {
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as Role
  throw new AppError('VALIDATION_FAILED', `${field} must be one of ${ROLES.join(', ')}.`, { details: { field } })
}

export interface UserRecord {
  id: number
  username: string
  role: Role
  createdAt: string
  lastLoginAt: string | null
}

export interface SessionRecord {
  user: UserRecord
  csrfToken: string
  expiresAt: number
}

export interface ApiKeyRecord {
  id: string
  name: string
  /** The first characters of the key, to recognise it in a list (never enough to use it). */
  prefix: string
  role: Role
  createdBy: string | null
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/

export function checkUsername(username: unknown): string {
  if (typeof username !== 'string' || !USERNAME_RE.test(username.trim()))
    throw new AppError('VALIDATION_FAILED', 'username must be 2-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.', { details: { field: 'username' } })
  return username.trim()
}

export function checkPassword(password: unknown): string {
  const problem = passwordProblem(password as string)
  if (problem) throw new AppError('VALIDATION_FAILED', `password ${problem}.`, { details: { field: 'password' } })
  return password as string
}

type Row = Record<string, unknown>
const userOf = (r: Row): UserRecord => ({
  id: r.id as number,
  username: r.username as string,
  role: r.role as Role,
  createdAt: r.created_at as string,
  lastLoginAt: (r.last_login_at as string | null) ?? null,
})
const keyOf = (r: Row): ApiKeyRecord => ({
  id: r.id as string,
  name: r.name as string,
  prefix: r.prefix as string,
  role: r.role as Role,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: r.created_at as string,
  lastUsedAt: (r.last_used_at as string | null) ?? null,
  revokedAt: (r.revoked_at as string | null) ?? null,
})

export const API_KEY_PREFIX = 'bc_'

export interface Accounts {
  countUsers(): number
  listUsers(): UserRecord[]
  getUser(username: string): UserRecord | undefined
  addUser(username: string, password: string, role: Role): Promise<UserRecord>
  setPassword(username: string, password: string): Promise<void>
  setRole(username: string, role: Role): UserRecord
  removeUser(username: string): void
  /** The user when the password is right; the same time is spent for unknown users. */
  verifyLogin(username: string, password: string): Promise<UserRecord | undefined>
  createSession(userId: number, ttlMs: number): { token: string; csrfToken: string; expiresAt: number }
  session(token: string): SessionRecord | undefined
  endSession(token: string): void
  listKeys(): ApiKeyRecord[]
  /** The key itself is returned once, here; only its hash is kept. */
  createKey(name: string, role: Role, createdBy: string | null): { key: string; record: ApiKeyRecord }
  revokeKey(id: string): ApiKeyRecord
  /** The live (not revoked) key with this value; records its use (at most once a minute per key). */
  useKey(key: string): ApiKeyRecord | undefined
}

/** One repository per connection (statements prepared once). */
export const accounts = perDatabase(createAccounts)

function createAccounts(db: Database.Database): Accounts {
  const now = () => new Date().toISOString()
  const userByName = db.prepare('SELECT * FROM users WHERE username = ?')
  const lastAdmin = (username: string) => {
    const u = userByName.get(username) as Row | undefined
    if (!u || u.role !== 'admin') return false
    return (db.prepare("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'").get() as { n: number }).n <= 1
  }
  const mustGet = (username: string): Row => {
    const u = userByName.get(username) as Row | undefined
    if (!u) throw new AppError('NOT_FOUND', `There is no user "${username}".`, { details: { username } })
    return u
  }
  const sessionStmt = db.prepare(`SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`)
  const keyByHash = db.prepare('SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL')
  const touchKey = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?')
  const lastTouched = new Map<string, number>()

  return {
    countUsers: () => (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n,
    listUsers: () => (db.prepare('SELECT * FROM users ORDER BY username').all() as Row[]).map(userOf),
    getUser(username) {
      const r = userByName.get(username) as Row | undefined
      return r ? userOf(r) : undefined
    },
    async addUser(username, password, role) {
      const name = checkUsername(username)
      checkPassword(password)
      if (userByName.get(name)) throw new AppError('CONFLICT', `A user "${name}" already exists.`, { details: { username: name } })
      const hash = await hashPassword(password)
      // Checked again after the (async) hash: two requests may race for one name.
      try {
        db.prepare('INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)').run(name, hash, role, now())
      } catch (err) {
        if (/UNIQUE/.test((err as Error).message)) throw new AppError('CONFLICT', `A user "${name}" already exists.`, { details: { username: name } })
        throw err
      }
      return userOf(userByName.get(name) as Row)
    },
    async setPassword(username, password) {
      const u = mustGet(username)
      checkPassword(password)
      const hash = await hashPassword(password)
      db.transaction(() => {
        db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, u.id)
        // A new password ends every session of the old one.
        db.prepare('DELETE FROM sessions WHERE user_id = ?').run(u.id)
      })()
    },
    setRole(username, role) {
      const u = mustGet(username)
      if (role !== 'admin' && lastAdmin(username)) throw new AppError('CONFLICT', `"${username}" is the last admin; make another user admin first.`)
      db.prepare('UPDATE users SET role = ? WHERE id = ?').run(role, u.id)
      return userOf(userByName.get(username) as Row)
    },
    removeUser(username) {
      const u = mustGet(username)
      if (lastAdmin(username)) throw new AppError('CONFLICT', `"${username}" is the last admin; add another admin first.`)
      db.prepare('DELETE FROM users WHERE id = ?').run(u.id)
    },
    async verifyLogin(username, password) {
      const u = typeof username === 'string' ? (userByName.get(username.trim()) as Row | undefined) : undefined
      const ok = await verifyPassword(String(password ?? ''), (u?.password_hash as string | undefined) ?? (await dummyPasswordHash()))
      if (!u || !ok) return undefined
      db.prepare('UPDATE users SET last_login_at = ? WHERE id = ?').run(now(), u.id)
      return userOf(userByName.get(u.username as string) as Row)
    },
    createSession(userId, ttlMs) {
      const token = randomToken()
      const csrfToken = randomToken()
      const expiresAt = Date.now() + ttlMs
      db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(Date.now())
      db.prepare('INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(sha256Hex(token), userId, csrfToken, now(), expiresAt)
      return { token, csrfToken, expiresAt }
    },
    session(token) {
      const r = sessionStmt.get(sha256Hex(token)) as Row | undefined
      if (!r || (r.expires_at as number) < Date.now()) return undefined
      return { user: userOf(r), csrfToken: r.csrf_token as string, expiresAt: r.expires_at as number }
    },
    endSession(token) {
      db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(sha256Hex(token))
    },
    listKeys: () => (db.prepare('SELECT * FROM api_keys ORDER BY revoked_at IS NOT NULL, created_at DESC').all() as Row[]).map(keyOf),
    createKey(name, role, createdBy) {
      const clean = typeof name === 'string' ? name.trim() : ''
      if (clean.length < 1 || clean.length > 100) throw new AppError('VALIDATION_FAILED', 'name must be 1-100 characters (e.g. "CMS integration").', { details: { field: 'name' } })
      const key = API_KEY_PREFIX + randomToken()
      const id = randomToken(9)
      db.prepare('INSERT INTO api_keys (id, name, key_hash, prefix, role, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(id, clean, sha256Hex(key), key.slice(0, 8), role, createdBy, now())
      return { key, record: keyOf(db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row) }
    },
    revokeKey(id) {
      const r = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined
      if (!r) throw new AppError('NOT_FOUND', `There is no API key "${id}".`)
      if (!r.revoked_at) db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(now(), id)
      return keyOf(db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row)
    },
    useKey(key) {
      const r = keyByHash.get(sha256Hex(key)) as Row | undefined
      if (!r) return undefined
      const id = r.id as string
      const t = Date.now()
      if ((lastTouched.get(id) ?? 0) < t - 60_000) {
        lastTouched.set(id, t)
        const at = new Date(t).toISOString()
        touchKey.run(at, id)
        r.last_used_at = at
      }
      return keyOf(r)
    },
  }
}
