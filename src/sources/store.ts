/** The sources tables (migration sources-001): sources, their documents' validators, the items they carried. */
import type Database from 'better-sqlite3'
import { AppError } from '../errors.ts'
import type { StoredError } from '../store/types.ts'
import type { SourceRules } from './parse.ts'

export type SourceKind = 'feed' | 'sitemap' | 'webhook'

export interface SourceOptions extends SourceRules {
  voice?: string
  language?: string
  /** How the source's stories enter automatic briefings: the whole story or its lede. */
  storyMode?: 'full' | 'lede'
}

export interface SourceRecord {
  id: string
  kind: SourceKind
  url: string | null
  origin: 'api' | 'config'
  options: SourceOptions
  intervalSeconds: number
  enabled: boolean
  secretSealed: string | null
  nextPollAt: number
  failures: number
  lastPollAt: string | null
  lastSuccessAt: string | null
  lastErrorAt: string | null
  lastError: StoredError | null
  polls: number
  notModified: number
  bytesFetched: number
  itemsSeen: number
  itemsIngested: number
  createdAt: string
  updatedAt: string
}

export interface SourceItemRecord {
  sourceId: string
  itemKey: string
  externalId: string
  articleId: string | null
  fingerprint: string
  publishedAt: string | null
  state: 'live' | 'removed' | 'skipped' | 'failed'
  error: StoredError | null
  firstSeenAt: string
  lastSeenAt: string
}

type Row = Record<string, unknown>
const parse = <T>(s: unknown, d: T): T => {
  if (typeof s !== 'string' || !s) return d
  try {
    return JSON.parse(s) as T
  } catch {
    return d
  }
}

function toSource(r: Row): SourceRecord {
  return {
    id: r.id as string,
    kind: r.kind as SourceKind,
    url: (r.url as string | null) ?? null,
    origin: r.origin as 'api' | 'config',
    options: parse<SourceOptions>(r.options_json, {}),
    intervalSeconds: r.interval_s as number,
    enabled: Boolean(r.enabled),
    secretSealed: (r.secret_enc as string | null) ?? null,
    nextPollAt: r.next_poll_at as number,
    failures: r.failures as number,
    lastPollAt: (r.last_poll_at as string | null) ?? null,
    lastSuccessAt: (r.last_success_at as string | null) ?? null,
    lastErrorAt: (r.last_error_at as string | null) ?? null,
    lastError: parse<StoredError | null>(r.last_error_json, null),
    polls: r.polls as number,
    notModified: r.not_modified as number,
    bytesFetched: r.bytes_fetched as number,
    itemsSeen: r.items_seen as number,
    itemsIngested: r.items_ingested as number,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  }
}

function toItem(r: Row): SourceItemRecord {
  return {
    sourceId: r.source_id as string,
    itemKey: r.item_key as string,
    externalId: r.external_id as string,
    articleId: (r.article_id as string | null) ?? null,
    fingerprint: r.fingerprint as string,
    publishedAt: (r.published_at as string | null) ?? null,
    state: r.state as SourceItemRecord['state'],
    error: parse<StoredError | null>(r.error_json, null),
    firstSeenAt: r.first_seen_at as string,
    lastSeenAt: r.last_seen_at as string,
  }
}

export interface NewSource {
  id: string
  kind: SourceKind
  url: string | null
  origin: 'api' | 'config'
  options: SourceOptions
  intervalSeconds: number
  enabled: boolean
  secretSealed: string | null
}

export class SourceRepository {
  constructor(private readonly db: Database.Database) {}

  list(): SourceRecord[] {
    return (this.db.prepare('SELECT * FROM sources ORDER BY id').all() as Row[]).map(toSource)
  }

  get(id: string): SourceRecord | undefined {
    const r = this.db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as Row | undefined
    return r ? toSource(r) : undefined
  }

  insert(s: NewSource): SourceRecord {
    const t = new Date().toISOString()
    try {
      this.db
        .prepare(`INSERT INTO sources (id, kind, url, origin, options_json, interval_s, enabled, secret_enc, next_poll_at, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`)
        .run(s.id, s.kind, s.url, s.origin, JSON.stringify(s.options), s.intervalSeconds, s.enabled ? 1 : 0, s.secretSealed, t, t)
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new AppError('CONFLICT', `A source with id "${s.id}" already exists.`, { help: `Change it with PATCH /api/sources/${s.id}.` })
      throw err
    }
    return this.get(s.id)!
  }

  /** Settings only; a changed URL or kind starts the source's polling state afresh. */
  update(id: string, s: Omit<NewSource, 'id'>): SourceRecord {
    const before = this.get(id)
    if (!before) throw new AppError('SOURCE_NOT_FOUND', `No source with id "${id}".`)
    const fresh = before.url !== s.url || before.kind !== s.kind
    this.db.transaction(() => {
      this.db
        .prepare(`UPDATE sources SET kind = ?, url = ?, origin = ?, options_json = ?, interval_s = ?, enabled = ?, secret_enc = ?, updated_at = ?,
          next_poll_at = CASE WHEN ? THEN 0 ELSE next_poll_at END, failures = CASE WHEN ? THEN 0 ELSE failures END WHERE id = ?`)
        .run(s.kind, s.url, s.origin, JSON.stringify(s.options), s.intervalSeconds, s.enabled ? 1 : 0, s.secretSealed, new Date().toISOString(), fresh ? 1 : 0, fresh ? 1 : 0, id)
      if (fresh) this.db.prepare('DELETE FROM source_documents WHERE source_id = ?').run(id)
    })()
    return this.get(id)!
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM sources WHERE id = ?').run(id).changes > 0
  }

  due(now: number): SourceRecord[] {
    return (this.db.prepare(`SELECT * FROM sources WHERE enabled = 1 AND kind != 'webhook' AND next_poll_at <= ? ORDER BY next_poll_at, id`).all(now) as Row[]).map(toSource)
  }

  nextDue(): number | undefined {
    const r = this.db.prepare(`SELECT MIN(next_poll_at) AS t FROM sources WHERE enabled = 1 AND kind != 'webhook'`).get() as { t: number | null }
    return r.t ?? undefined
  }

  recordPoll(id: string, result: { ok: true; notModified: boolean; bytes: number; seen: number; ingested: number; nextPollAt: number } | { ok: false; error: StoredError; bytes: number; nextPollAt: number }): void {
    const t = new Date().toISOString()
    if (result.ok)
      this.db
        .prepare(`UPDATE sources SET polls = polls + 1, not_modified = not_modified + ?, bytes_fetched = bytes_fetched + ?, items_seen = items_seen + ?,
          items_ingested = items_ingested + ?, failures = 0, last_poll_at = ?, last_success_at = ?, next_poll_at = ? WHERE id = ?`)
        .run(result.notModified ? 1 : 0, result.bytes, result.seen, result.ingested, t, t, result.nextPollAt, id)
    else
      this.db
        .prepare(`UPDATE sources SET polls = polls + 1, bytes_fetched = bytes_fetched + ?, failures = failures + 1, last_poll_at = ?, last_error_at = ?,
          last_error_json = ?, next_poll_at = ? WHERE id = ?`)
        .run(result.bytes, t, t, JSON.stringify(result.error), result.nextPollAt, id)
  }

  countIngested(id: string, n: number): void {
    if (n > 0) this.db.prepare('UPDATE sources SET items_ingested = items_ingested + ? WHERE id = ?').run(n, id)
  }

  validators(sourceId: string, url: string): { etag: string | null; lastModified: string | null } | undefined {
    const r = this.db.prepare('SELECT etag, last_modified FROM source_documents WHERE source_id = ? AND url = ?').get(sourceId, url) as { etag: string | null; last_modified: string | null } | undefined
    return r ? { etag: r.etag, lastModified: r.last_modified } : undefined
  }

  /** URLs of the documents a source fetched besides its own (a sitemap index's sitemaps). */
  childDocuments(sourceId: string, ownUrl: string): string[] {
    return (this.db.prepare('SELECT url FROM source_documents WHERE source_id = ? AND url != ? ORDER BY url').all(sourceId, ownUrl) as { url: string }[]).map((r) => r.url)
  }

  /** Keep only these children (a sitemap that left the index is not fetched again). */
  pruneChildDocuments(sourceId: string, ownUrl: string, keep: string[]): void {
    const del = this.db.prepare('DELETE FROM source_documents WHERE source_id = ? AND url = ?')
    for (const url of this.childDocuments(sourceId, ownUrl)) if (!keep.includes(url)) del.run(sourceId, url)
  }

  setValidators(sourceId: string, url: string, v: { etag: string | null; lastModified: string | null }): void {
    this.db
      .prepare(`INSERT INTO source_documents (source_id, url, etag, last_modified) VALUES (?, ?, ?, ?)
        ON CONFLICT (source_id, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified`)
      .run(sourceId, url, v.etag, v.lastModified)
  }

  item(sourceId: string, itemKey: string): SourceItemRecord | undefined {
    const r = this.db.prepare('SELECT * FROM source_items WHERE source_id = ? AND item_key = ?').get(sourceId, itemKey) as Row | undefined
    return r ? toItem(r) : undefined
  }

  itemByExternalId(sourceId: string, externalId: string): SourceItemRecord | undefined {
    const r = this.db.prepare('SELECT * FROM source_items WHERE source_id = ? AND external_id = ?').get(sourceId, externalId) as Row | undefined
    return r ? toItem(r) : undefined
  }

  liveItems(sourceId: string): SourceItemRecord[] {
    return (this.db.prepare(`SELECT * FROM source_items WHERE source_id = ? AND state = 'live' AND article_id IS NOT NULL`).all(sourceId) as Row[]).map(toItem)
  }

  items(sourceId: string, limit = 100): SourceItemRecord[] {
    return (this.db.prepare('SELECT * FROM source_items WHERE source_id = ? ORDER BY last_seen_at DESC, item_key LIMIT ?').all(sourceId, limit) as Row[]).map(toItem)
  }

  saveItem(i: Omit<SourceItemRecord, 'firstSeenAt' | 'lastSeenAt'>): void {
    const t = new Date().toISOString()
    this.db
      .prepare(`INSERT INTO source_items (source_id, item_key, external_id, article_id, fingerprint, published_at, state, error_json, first_seen_at, last_seen_at)
        VALUES (@sourceId, @itemKey, @externalId, @articleId, @fingerprint, @publishedAt, @state, @errorJson, @t, @t)
        ON CONFLICT (source_id, item_key) DO UPDATE SET external_id = excluded.external_id, article_id = excluded.article_id,
          fingerprint = excluded.fingerprint, published_at = excluded.published_at, state = excluded.state, error_json = excluded.error_json,
          last_seen_at = excluded.last_seen_at`)
      .run({ ...i, errorJson: i.error ? JSON.stringify(i.error) : null, t })
  }

  touchItem(sourceId: string, itemKey: string): void {
    this.db.prepare('UPDATE source_items SET last_seen_at = ? WHERE source_id = ? AND item_key = ?').run(new Date().toISOString(), sourceId, itemKey)
  }

  /** The stored answer to a delivery id, when this delivery was already handled (retries are idempotent). */
  delivery(sourceId: string, deliveryId: string): { status: number; body: unknown } | undefined {
    const r = this.db.prepare('SELECT status, response_json FROM webhook_deliveries WHERE source_id = ? AND delivery_id = ?').get(sourceId, deliveryId) as { status: number; response_json: string } | undefined
    return r ? { status: r.status, body: parse(r.response_json, null) } : undefined
  }

  recordDelivery(sourceId: string, deliveryId: string, status: number, body: unknown, keepMs: number): void {
    const now = Date.now()
    this.db.prepare('DELETE FROM webhook_deliveries WHERE received_at < ?').run(now - keepMs)
    this.db
      .prepare('INSERT OR REPLACE INTO webhook_deliveries (source_id, delivery_id, received_at, status, response_json) VALUES (?, ?, ?, ?, ?)')
      .run(sourceId, deliveryId, now, status, JSON.stringify(body))
  }
}

/** The storyMode of the source an article came from, if that source sets one (briefings use it). */
export function sourceStoryMode(db: Database.Database, articleId: string): 'full' | 'lede' | undefined {
  const row = db.prepare('SELECT s.options_json AS o FROM source_items i JOIN sources s ON s.id = i.source_id WHERE i.article_id = ? LIMIT 1').get(articleId) as { o: string } | undefined
  const mode = row ? parse<SourceOptions>(row.o, {}).storyMode : undefined
  return mode === 'full' || mode === 'lede' ? mode : undefined
}
