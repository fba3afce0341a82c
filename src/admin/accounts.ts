/**
 * Dashboard accounts (users with roles), their sessions, and named API keys.
 * Tables from migrations 'admin-001-accounts', behind the store (src/store/admin.ts: store.accounts). Only hashes of secrets are stored.
 */
import { AppError } from '../errors.ts'
import { passwordProblem } from './secrets.ts'

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

export const API_KEY_PREFIX = 'bc_'

export interface Accounts {
  countUsers(): Promise<number>
  listUsers(): Promise<UserRecord[]>
  getUser(username: string): Promise<UserRecord | undefined>
  addUser(username: string, password: string, role: Role): Promise<UserRecord>
  setPassword(username: string, password: string): Promise<void>
  setRole(username: string, role: Role): Promise<UserRecord>
  removeUser(username: string): Promise<void>
  /** The user when the password is right; the same time is spent for unknown users. */
  verifyLogin(username: string, password: string): Promise<UserRecord | undefined>
  createSession(userId: number, ttlMs: number): Promise<{ token: string; csrfToken: string; expiresAt: number }>
  session(token: string): Promise<SessionRecord | undefined>
  endSession(token: string): Promise<void>
  listKeys(): Promise<ApiKeyRecord[]>
  /** The key itself is returned once, here; only its hash is kept. */
  createKey(name: string, role: Role, createdBy: string | null): Promise<{ key: string; record: ApiKeyRecord }>
  revokeKey(id: string): Promise<ApiKeyRecord>
  /** The live (not revoked) key with this value; records its use (at most once a minute per key). */
  useKey(key: string): Promise<ApiKeyRecord | undefined>
}
