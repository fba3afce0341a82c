/**
 * The admin tables (migrations admin-001..003) on Kysely, for SQLite and PostgreSQL alike: accounts (users,
 * sessions, API keys), pronunciation lexicons, podcast downloads and the figures read from them. The rules
 * (roles, validation, what counts as a download) live in src/admin/; these are the queries.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { sql, type Kysely, type Selectable } from 'kysely'
import { API_KEY_PREFIX, checkPassword, checkUsername, type Accounts, type ApiKeyRecord, type Role, type UserRecord } from '../admin/accounts.ts'
import { isBot, isProbe, type DownloadCounter } from '../admin/downloads.ts'
import type { ArticleFigures, Counts, DayFigures, Figures } from '../admin/figures.ts'
import { LEXICON_NAME_RE, type LexiconStore } from '../admin/lexicons.ts'
import type { SettingsRepository, StoredSetting } from '../admin/settings.ts'
import { dummyPasswordHash, hashPassword, randomToken, sha256Hex, verifyPassword } from '../admin/secrets.ts'
import { AppError } from '../errors.ts'
import { createLexicon, loadLexicon } from '../script/lexicon.ts'
import type { Lexicon } from '../script/types.ts'
import { isUniqueViolation, now } from './repositories.ts'
import type { ApiKeysTable, DB, UsersTable } from './schema.ts'

/** State kept per store (not per transaction): when each key was last marked used, lexicons' languages, the download key. */
export interface AdminState {
  keyTouched: Map<string, number>
  lexiconLanguages: Map<string, string>
  downloadKey?: Promise<string>
  prunedDay: string
}

export const adminState = (): AdminState => ({ keyTouched: new Map(), lexiconLanguages: new Map(), prunedDay: '' })

type Run = <T>(fn: (db: Kysely<DB>) => Promise<T>) => Promise<T>

const userOf = (r: Selectable<UsersTable>): UserRecord => ({
  id: Number(r.id),
  username: r.username,
  role: r.role as Role,
  createdAt: r.created_at,
  lastLoginAt: r.last_login_at ?? null,
})

const keyOf = (r: Selectable<ApiKeysTable>): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  role: r.role as Role,
  createdBy: r.created_by ?? null,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at ?? null,
  revokedAt: r.revoked_at ?? null,
})

// --- accounts -----------------------------------------------------------------------------------------------------

export function accountsRepository(db: Kysely<DB>, run: Run, state: AdminState): Accounts {
  // Usernames are unique case-insensitively (ASCII only: checkUsername allows nothing else), on both databases.
  const byName = (d: Kysely<DB>, username: string) =>
    d
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst()
  const mustGet = async (username: string) => {
    const u = await byName(db, username)
    if (!u) throw new AppError('NOT_FOUND', `There is no user "${username}".`, { details: { username } })
    return u
  }
  const lastAdmin = async (u: Selectable<UsersTable>) => {
    if (u.role !== 'admin') return false
    const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'admin').executeTakeFirstOrThrow()
    return Number(r.n) <= 1
  }
  const keyById = (id: string) => db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst()
  const conflict = (name: string) => new AppError('CONFLICT', `A user "${name}" already exists.`, { details: { username: name } })

  return {
    async countUsers() {
      const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return Number(r.n)
    },
    async listUsers() {
      return (await db.selectFrom('users').selectAll().orderBy(sql`lower(username)`).orderBy('username').execute()).map(userOf)
    },
    async getUser(username) {
      const r = await byName(db, username)
      return r ? userOf(r) : undefined
    },
    async addUser(username, password, role) {
      const name = checkUsername(username)
      checkPassword(password)
      if (await byName(db, name)) throw conflict(name)
      const hash = await hashPassword(password)
      // The unique index decides when two requests race for one name during the (async) hash.
      try {
        await db.insertInto('users').values({ username: name, password_hash: hash, role, created_at: now() }).execute()
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(name)
        throw err
      }
      return userOf((await byName(db, name))!)
    },
    async setPassword(username, password) {
      const u = await mustGet(username)
      checkPassword(password)
      const hash = await hashPassword(password)
      await run(async (tx) => {
        await tx.updateTable('users').set({ password_hash: hash }).where('id', '=', u.id).execute()
        // A new password ends every session of the old one.
        await tx.deleteFrom('sessions').where('user_id', '=', u.id).execute()
      })
    },
    async setRole(username, role) {
      const u = await mustGet(username)
      if (role !== 'admin' && (await lastAdmin(u))) throw new AppError('CONFLICT', `"${username}" is the last admin; make another user admin first.`)
      await db.updateTable('users').set({ role }).where('id', '=', u.id).execute()
      return userOf((await byName(db, username))!)
    },
    async removeUser(username) {
      const u = await mustGet(username)
      if (await lastAdmin(u)) throw new AppError('CONFLICT', `"${username}" is the last admin; add another admin first.`)
      await db.deleteFrom('users').where('id', '=', u.id).execute()
    },
    async verifyLogin(username, password) {
      const u = typeof username === 'string' && username.trim() !== '' ? await byName(db, username.trim()) : undefined
      const ok = await verifyPassword(String(password ?? ''), u?.password_hash ?? (await dummyPasswordHash()))
      if (!u || !ok) return undefined
      await db.updateTable('users').set({ last_login_at: now() }).where('id', '=', u.id).execute()
      return userOf((await byName(db, u.username))!)
    },
    async createSession(userId, ttlMs) {
      const token = randomToken()
      const csrfToken = randomToken()
      const expiresAt = Date.now() + ttlMs
      await db.deleteFrom('sessions').where('expires_at', '<', Date.now()).execute()
      await db.insertInto('sessions').values({ token_hash: sha256Hex(token), user_id: userId, csrf_token: csrfToken, created_at: now(), expires_at: expiresAt }).execute()
      return { token, csrfToken, expiresAt }
    },
    async session(token) {
      const r = await db
        .selectFrom('sessions as s')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .select(['s.csrf_token', 's.expires_at', 'u.id', 'u.username', 'u.password_hash', 'u.role', 'u.created_at', 'u.last_login_at'])
        .where('s.token_hash', '=', sha256Hex(token))
        .executeTakeFirst()
      if (!r || Number(r.expires_at) < Date.now()) return undefined
      return { user: userOf(r), csrfToken: r.csrf_token, expiresAt: Number(r.expires_at) }
    },
    async endSession(token) {
      await db.deleteFrom('sessions').where('token_hash', '=', sha256Hex(token)).execute()
    },
    async listKeys() {
      return (await db.selectFrom('api_keys').selectAll().orderBy(sql`CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END`).orderBy('created_at', 'desc').execute()).map(keyOf)
    },
    async createKey(name, role, createdBy) {
      const clean = typeof name === 'string' ? name.trim() : ''
      if (clean.length < 1 || clean.length > 100) throw new AppError('VALIDATION_FAILED', 'name must be 1-100 characters (e.g. "CMS integration").', { details: { field: 'name' } })
      const key = API_KEY_PREFIX + randomToken()
      const id = randomToken(9)
      await db.insertInto('api_keys').values({ id, name: clean, key_hash: sha256Hex(key), prefix: key.slice(0, 8), role, created_by: createdBy, created_at: now() }).execute()
      return { key, record: keyOf((await keyById(id))!) }
    },
    async revokeKey(id) {
      const r = await keyById(id)
      if (!r) throw new AppError('NOT_FOUND', `There is no API key "${id}".`)
      if (!r.revoked_at) await db.updateTable('api_keys').set({ revoked_at: now() }).where('id', '=', id).where('revoked_at', 'is', null).execute()
      return keyOf((await keyById(id))!)
    },
    async useKey(key) {
      const r = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', sha256Hex(key)).where('revoked_at', 'is', null).executeTakeFirst()
      if (!r) return undefined
      const t = Date.now()
      // Recorded at most once a minute per key (per process): a busy integration does not write on every request.
      if ((state.keyTouched.get(r.id) ?? 0) < t - 60_000) {
        state.keyTouched.set(r.id, t)
        const at = new Date(t).toISOString()
        await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', r.id).execute()
        r.last_used_at = at
      }
      return keyOf(r)
    },
  }
}

// --- lexicons -----------------------------------------------------------------------------------------------------

export function lexiconRepository(db: Kysely<DB>, run: Run, state: AdminState): LexiconStore {
  const languages = state.lexiconLanguages
  const get = async (name: string): Promise<Lexicon> => {
    const rows = await db.selectFrom('lexicon_entries').select(['match', 'say', 'case_sensitive']).where('name', '=', name).orderBy(sql`lower(match)`).orderBy('match').execute()
    return createLexicon(languages.get(name) ?? name, rows.map((r) => ({ match: r.match, say: r.say, ...(r.case_sensitive ? { caseSensitive: true } : {}) })))
  }
  const markSeeded = (tx: Kysely<DB>, name: string, at: string) =>
    tx
      .insertInto('lexicon_sources')
      .values({ name, seeded_at: at })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute()
  const put = (tx: Kysely<DB>, name: string, e: { match: string; say: string; caseSensitive?: boolean }, at: string) =>
    tx
      .insertInto('lexicon_entries')
      .values({ name, match: e.match, say: e.say, case_sensitive: e.caseSensitive ? 1 : 0, updated_at: at })
      .onConflict((oc) => oc.columns(['name', 'match']).doUpdateSet((eb) => ({ say: eb.ref('excluded.say'), case_sensitive: eb.ref('excluded.case_sensitive'), updated_at: eb.ref('excluded.updated_at') })))
      .execute()
  return {
    async seed(voicesDir) {
      const dir = path.join(voicesDir, 'lexicon')
      if (!existsSync(dir)) return []
      const seeded = new Set((await db.selectFrom('lexicon_sources').select('name').execute()).map((r) => r.name))
      const done: string[] = []
      for (const file of readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()) {
        const name = file.slice(0, -5)
        if (!LEXICON_NAME_RE.test(name)) continue
        const lexicon = loadLexicon(voicesDir, name)
        languages.set(name, lexicon.language)
        if (seeded.has(name)) continue
        const at = now()
        await run(async (tx) => {
          for (const e of lexicon.entries) await put(tx, name, e, at)
          await markSeeded(tx, name, at)
        })
        done.push(name)
      }
      return done
    },
    async names() {
      const rows = await sql<{ name: string }>`SELECT name FROM lexicon_sources UNION SELECT DISTINCT name FROM lexicon_entries ORDER BY 1`.execute(db)
      return rows.rows.map((r) => r.name)
    },
    get,
    async replace(name, language, entries) {
      const seen = new Set<string>()
      for (const e of entries) {
        if (seen.has(e.match)) throw new AppError('VALIDATION_FAILED', `"${e.match}" is listed twice; keep one entry per word.`, { details: { field: 'entries', match: e.match } })
        seen.add(e.match)
      }
      const before = await get(name)
      const at = now()
      await run(async (tx) => {
        await tx.deleteFrom('lexicon_entries').where('name', '=', name).execute()
        for (const e of entries) await put(tx, name, { match: e.match.trim(), say: e.say.trim(), caseSensitive: e.caseSensitive }, at)
        await markSeeded(tx, name, at)
      })
      if (!languages.has(name)) languages.set(name, language)
      return { before, after: await get(name) }
    },
  }
}

// --- downloads ----------------------------------------------------------------------------------------------------

export function downloadRepository(db: Kysely<DB>, run: Run, state: AdminState): DownloadCounter {
  // The key that makes client hashes: random per install, made once (two nodes racing: the first one's stays).
  const clientKey = () =>
    (state.downloadKey ??= (async () => {
      await db
        .insertInto('admin_secrets')
        .values({ name: 'download-client-key', value: randomBytes(32).toString('base64url') })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute()
      return (await db.selectFrom('admin_secrets').select('value').where('name', '=', 'download-client-key').executeTakeFirstOrThrow()).value
    })().catch((err: unknown) => {
      state.downloadKey = undefined
      throw err
    }))
  return {
    async record(r, at = new Date()) {
      if (isProbe(r.method, r.range) || isBot(r.userAgent)) return false
      const day = at.toISOString().slice(0, 10)
      const key = await clientKey()
      if (state.prunedDay !== day) {
        state.prunedDay = day
        await db.deleteFrom('download_clients').where('day', '<', new Date(at.getTime() - 2 * 86_400_000).toISOString().slice(0, 10)).execute()
      }
      const client = createHmac('sha256', key).update(`${day}\0${r.address}\0${r.userAgent ?? ''}`).digest('base64url').slice(0, 22)
      return run(async (tx) => {
        if (!(await tx.selectFrom('articles').select('id').where('id', '=', r.articleId).executeTakeFirst())) return false
        const row = await tx
          .insertInto('download_clients')
          .values({ day, article_id: r.articleId, client, bytes: Math.max(0, r.bytes) })
          .onConflict((oc) => oc.columns(['day', 'article_id', 'client']).doUpdateSet((eb) => ({ bytes: eb('download_clients.bytes', '+', eb.ref('excluded.bytes')) })))
          .returning(['bytes', 'counted'])
          .executeTakeFirstOrThrow()
        if (Number(row.counted) || Number(row.bytes) < r.threshold) return false
        // Only the request that flips counted counts (two concurrent requests of one client on PostgreSQL).
        const flipped = await tx.updateTable('download_clients').set({ counted: 1 }).where('day', '=', day).where('article_id', '=', r.articleId).where('client', '=', client).where('counted', '=', 0).executeTakeFirst()
        if (Number(flipped.numUpdatedRows) === 0) return false
        await tx
          .insertInto('download_stats')
          .values({ article_id: r.articleId, day, downloads: 1 })
          .onConflict((oc) => oc.columns(['article_id', 'day']).doUpdateSet((eb) => ({ downloads: eb('download_stats.downloads', '+', 1) })))
          .execute()
        return true
      })
    },
  }
}

// --- figures ------------------------------------------------------------------------------------------------------

export interface FiguresRepository {
  /** The last `days` UTC days up to `now`, every day present (zeros where nothing happened). */
  get(options: { days: number; articleId?: string; now?: Date; limit?: number }): Promise<Figures>
  /** One row per article per day with any activity (the CSV export's rows). */
  daily(options: { days: number; now?: Date }): Promise<FigureRow[]>
}

export interface FigureRow extends Counts {
  day: string
  id: string
  externalId: string | null
  title: string
  durationMs: number | null
}

const ZERO: Counts = { starts: 0, p25: 0, p50: 0, p75: 0, p100: 0, downloads: 0 }
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10)
const num = (v: unknown) => Number(v ?? 0)
const countsOf = (r: Record<string, unknown>): Counts => ({ starts: num(r.starts), p25: num(r.p25), p50: num(r.p50), p75: num(r.p75), p100: num(r.p100), downloads: num(r.downloads) })

export function figuresRepository(db: Kysely<DB>): FiguresRepository {
  const range = (days: number, at: Date) => ({ to: dayOf(at.getTime()), from: dayOf(at.getTime() - (days - 1) * 86_400_000) })
  return {
    async get(options) {
      const { from, to } = range(options.days, options.now ?? new Date())
      const id = options.articleId
      const filter = id ? sql`AND article_id = ${id}` : sql``
      const listens = await sql<Record<string, unknown>>`SELECT day, SUM(starts) AS starts, SUM(p25) AS p25, SUM(p50) AS p50, SUM(p75) AS p75, SUM(p100) AS p100
        FROM listen_stats WHERE day BETWEEN ${from} AND ${to} ${filter} GROUP BY day`.execute(db)
      const downloads = await sql<{ day: string; downloads: unknown }>`SELECT day, SUM(downloads) AS downloads FROM download_stats WHERE day BETWEEN ${from} AND ${to} ${filter} GROUP BY day`.execute(db)
      const byDay = new Map<string, DayFigures>()
      for (let t = Date.parse(`${from}T00:00:00Z`); dayOf(t) <= to; t += 86_400_000) byDay.set(dayOf(t), { day: dayOf(t), ...ZERO })
      for (const l of listens.rows) {
        const row = byDay.get(l.day as string)
        if (row) Object.assign(row, { ...countsOf(l), downloads: row.downloads })
      }
      for (const d of downloads.rows) {
        const row = byDay.get(d.day)
        if (row) row.downloads = num(d.downloads)
      }
      const days = [...byDay.values()]
      const totals = { ...ZERO }
      for (const d of days) for (const k of Object.keys(ZERO) as (keyof Counts)[]) totals[k] += d[k]
      const limit = Math.max(1, Math.min(options.limit ?? 500, 10_000))
      const articles = await sql<Record<string, unknown>>`
        WITH l AS (SELECT article_id, SUM(starts) AS starts, SUM(p25) AS p25, SUM(p50) AS p50, SUM(p75) AS p75, SUM(p100) AS p100
                   FROM listen_stats WHERE day BETWEEN ${from} AND ${to} GROUP BY article_id),
             d AS (SELECT article_id, SUM(downloads) AS downloads FROM download_stats WHERE day BETWEEN ${from} AND ${to} GROUP BY article_id)
        SELECT a.id, a.title, e.duration_ms,
               COALESCE(l.starts,0) AS starts, COALESCE(l.p25,0) AS p25, COALESCE(l.p50,0) AS p50, COALESCE(l.p75,0) AS p75, COALESCE(l.p100,0) AS p100,
               COALESCE(d.downloads,0) AS downloads
        FROM articles a LEFT JOIN l ON l.article_id = a.id LEFT JOIN d ON d.article_id = a.id LEFT JOIN episodes e ON e.id = a.episode_id
        WHERE (l.article_id IS NOT NULL OR d.article_id IS NOT NULL) ${id ? sql`AND a.id = ${id}` : sql``}
        ORDER BY COALESCE(l.starts,0) + COALESCE(d.downloads,0) DESC, a.created_at DESC LIMIT ${limit}`.execute(db)
      return {
        from,
        to,
        days,
        totals,
        articles: articles.rows.map(
          (r): ArticleFigures => ({ id: r.id as string, title: r.title as string, durationMs: r.duration_ms == null ? null : Number(r.duration_ms), ...countsOf(r) }),
        ),
      }
    },
    async daily(options) {
      const { from, to } = range(options.days, options.now ?? new Date())
      const rows = await sql<Record<string, unknown>>`
        WITH k AS (SELECT article_id, day FROM listen_stats WHERE day BETWEEN ${from} AND ${to}
                   UNION SELECT article_id, day FROM download_stats WHERE day BETWEEN ${from} AND ${to})
        SELECT k.day, a.id, a.external_id, a.title, e.duration_ms,
               COALESCE(l.starts,0) AS starts, COALESCE(l.p25,0) AS p25, COALESCE(l.p50,0) AS p50, COALESCE(l.p75,0) AS p75, COALESCE(l.p100,0) AS p100,
               COALESCE(d.downloads,0) AS downloads
        FROM k JOIN articles a ON a.id = k.article_id
        LEFT JOIN listen_stats l ON l.article_id = k.article_id AND l.day = k.day
        LEFT JOIN download_stats d ON d.article_id = k.article_id AND d.day = k.day
        LEFT JOIN episodes e ON e.id = a.episode_id
        ORDER BY k.day, a.id`.execute(db)
      return rows.rows.map((r) => ({
        day: r.day as string,
        id: r.id as string,
        externalId: (r.external_id as string | null) ?? null,
        title: r.title as string,
        durationMs: r.duration_ms == null ? null : Number(r.duration_ms),
        ...countsOf(r),
      }))
    },
  }
}

// --- run-time settings (migration admin-004-settings) --------------------------------------------------------------

export function settingsRepository(db: Kysely<DB>, run: Run): SettingsRepository {
  return {
    async all() {
      const rows = await db.selectFrom('runtime_settings').selectAll().orderBy('key').execute()
      const out: StoredSetting[] = []
      for (const r of rows) {
        try {
          out.push({ key: r.key, value: JSON.parse(r.value_json) as unknown, updatedAt: r.updated_at, updatedBy: r.updated_by })
        } catch {
          // A broken row is ignored: the configured value applies.
        }
      }
      return out
    },
    async save(set, reset, by) {
      const t = now()
      await run(async (tx) => {
        for (const [key, v] of Object.entries(set))
          await tx
            .insertInto('runtime_settings')
            .values({ key, value_json: JSON.stringify(v), updated_at: t, updated_by: by })
            .onConflict((oc) =>
              oc.column('key').doUpdateSet((eb) => ({ value_json: eb.ref('excluded.value_json'), updated_at: eb.ref('excluded.updated_at'), updated_by: eb.ref('excluded.updated_by') })),
            )
            .execute()
        for (const key of reset) await tx.deleteFrom('runtime_settings').where('key', '=', key).execute()
      })
    },
  }
}
