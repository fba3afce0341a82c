/** The sources tables (migration sources-001): sources, their documents' validators, the items they carried, webhook deliveries. */
import type { Kysely, Selectable } from 'kysely'
import { AppError } from '../errors.ts'
import type { SourceRules } from '../sources/parse.ts'
import { changed, isUniqueViolation, now, parseJson } from './repositories.ts'
import type { DB, SourceItemsTable, SourcesTable } from './schema.ts'
import type { StoredError } from './types.ts'

export type SourceKind = 'feed' | 'sitemap' | 'webhook'

export interface SourceOptions extends SourceRules {
  voice?: string
  language?: string
  /** How the source's stories enter automatic briefings: the whole story or its lede. */
  storyMode?: 'full' | 'lede'
}

/** A stored source: what it was created with (NewSource) and its polling state. */
export interface SourceRecord extends NewSource {
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

export type PollResult =
  | { ok: true; notModified: boolean; bytes: number; seen: number; ingested: number; nextPollAt: number }
  | { ok: false; error: StoredError; bytes: number; nextPollAt: number }

export interface SourceRepository {
  list(): Promise<SourceRecord[]>
  get(id: string): Promise<SourceRecord | undefined>
  insert(s: NewSource): Promise<SourceRecord>
  /** Settings only; a changed URL or kind starts the source's polling state afresh. */
  update(id: string, s: Omit<NewSource, 'id'>): Promise<SourceRecord>
  delete(id: string): Promise<boolean>
  due(now: number): Promise<SourceRecord[]>
  nextDue(): Promise<number | undefined>
  recordPoll(id: string, result: PollResult): Promise<void>
  countIngested(id: string, n: number): Promise<void>
  validators(sourceId: string, url: string): Promise<{ etag: string | null; lastModified: string | null } | undefined>
  /** URLs of the documents a source fetched besides its own (a sitemap index's sitemaps). */
  childDocuments(sourceId: string, ownUrl: string): Promise<string[]>
  /** Keep only these children (a sitemap that left the index is not fetched again). */
  pruneChildDocuments(sourceId: string, ownUrl: string, keep: string[]): Promise<void>
  setValidators(sourceId: string, url: string, v: { etag: string | null; lastModified: string | null }): Promise<void>
  item(sourceId: string, itemKey: string): Promise<SourceItemRecord | undefined>
  itemByExternalId(sourceId: string, externalId: string): Promise<SourceItemRecord | undefined>
  liveItems(sourceId: string): Promise<SourceItemRecord[]>
  items(sourceId: string, limit?: number): Promise<SourceItemRecord[]>
  saveItem(i: Omit<SourceItemRecord, 'firstSeenAt' | 'lastSeenAt'>): Promise<void>
  touchItem(sourceId: string, itemKey: string): Promise<void>
  /** The stored answer to a delivery id, when this delivery was already handled (retries are idempotent). */
  delivery(sourceId: string, deliveryId: string): Promise<{ status: number; body: unknown } | undefined>
  recordDelivery(sourceId: string, deliveryId: string, status: number, body: unknown, keepMs: number): Promise<void>
  /** The storyMode of the source an article came from, if that source sets one (briefings use it). */
  storyModeFor(articleId: string): Promise<'full' | 'lede' | undefined>
}

function toSource(r: Selectable<SourcesTable>): SourceRecord {
  return {
    id: r.id,
    kind: r.kind as SourceKind,
    url: r.url ?? null,
    origin: r.origin as 'api' | 'config',
    options: parseJson<SourceOptions>(r.options_json, {}),
    intervalSeconds: Number(r.interval_s),
    enabled: Boolean(r.enabled),
    secretSealed: r.secret_enc ?? null,
    nextPollAt: Number(r.next_poll_at),
    failures: Number(r.failures),
    lastPollAt: r.last_poll_at ?? null,
    lastSuccessAt: r.last_success_at ?? null,
    lastErrorAt: r.last_error_at ?? null,
    lastError: parseJson<StoredError | null>(r.last_error_json, null),
    polls: Number(r.polls),
    notModified: Number(r.not_modified),
    bytesFetched: Number(r.bytes_fetched),
    itemsSeen: Number(r.items_seen),
    itemsIngested: Number(r.items_ingested),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

function toItem(r: Selectable<SourceItemsTable>): SourceItemRecord {
  return {
    sourceId: r.source_id,
    itemKey: r.item_key,
    externalId: r.external_id,
    articleId: r.article_id ?? null,
    fingerprint: r.fingerprint,
    publishedAt: r.published_at ?? null,
    state: r.state as SourceItemRecord['state'],
    error: parseJson<StoredError | null>(r.error_json, null),
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
  }
}

/** `run(fn)` runs fn in one transaction (joining the caller's, if any): update() changes two tables at once. */
export function sourceRepository(db: Kysely<DB>, run: <T>(fn: (db: Kysely<DB>) => Promise<T>) => Promise<T>): SourceRepository {
  const get = async (id: string) => {
    const r = await db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst()
    return r ? toSource(r) : undefined
  }
  const childDocuments = async (sourceId: string, ownUrl: string) =>
    (await db.selectFrom('source_documents').select('url').where('source_id', '=', sourceId).where('url', '!=', ownUrl).orderBy('url').execute()).map((r) => r.url)
  return {
    async list() {
      return (await db.selectFrom('sources').selectAll().orderBy('id').execute()).map(toSource)
    },
    get,
    async insert(s) {
      const t = now()
      try {
        await db
          .insertInto('sources')
          .values({
            id: s.id,
            kind: s.kind,
            url: s.url,
            origin: s.origin,
            options_json: JSON.stringify(s.options),
            interval_s: s.intervalSeconds,
            enabled: s.enabled ? 1 : 0,
            secret_enc: s.secretSealed,
            next_poll_at: 0,
            created_at: t,
            updated_at: t,
          })
          .execute()
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('CONFLICT', `A source with id "${s.id}" already exists.`, { help: `Change it with PATCH /api/sources/${s.id}.` })
        throw err
      }
      return (await get(s.id))!
    },
    async update(id, s) {
      const before = await get(id)
      if (!before) throw new AppError('SOURCE_NOT_FOUND', `No source with id "${id}".`)
      const fresh = before.url !== s.url || before.kind !== s.kind
      await run(async (tx) => {
        await tx
          .updateTable('sources')
          .set({
            kind: s.kind,
            url: s.url,
            origin: s.origin,
            options_json: JSON.stringify(s.options),
            interval_s: s.intervalSeconds,
            enabled: s.enabled ? 1 : 0,
            secret_enc: s.secretSealed,
            updated_at: now(),
            ...(fresh ? { next_poll_at: 0, failures: 0 } : {}),
          })
          .where('id', '=', id)
          .execute()
        if (fresh) await tx.deleteFrom('source_documents').where('source_id', '=', id).execute()
      })
      return (await get(id))!
    },
    async delete(id) {
      return changed(await db.deleteFrom('sources').where('id', '=', id).executeTakeFirst()) > 0
    },
    async due(at) {
      const rows = await db
        .selectFrom('sources')
        .selectAll()
        .where('enabled', '=', 1)
        .where('kind', '!=', 'webhook')
        .where('next_poll_at', '<=', at)
        .orderBy('next_poll_at')
        .orderBy('id')
        .execute()
      return rows.map(toSource)
    },
    async nextDue() {
      const r = await db.selectFrom('sources').select((eb) => eb.fn.min('next_poll_at').as('t')).where('enabled', '=', 1).where('kind', '!=', 'webhook').executeTakeFirst()
      return r?.t === null || r?.t === undefined ? undefined : Number(r.t)
    },
    async recordPoll(id, result) {
      const t = now()
      if (result.ok)
        await db
          .updateTable('sources')
          .set((eb) => ({
            polls: eb('polls', '+', 1),
            not_modified: eb('not_modified', '+', result.notModified ? 1 : 0),
            bytes_fetched: eb('bytes_fetched', '+', result.bytes),
            items_seen: eb('items_seen', '+', result.seen),
            items_ingested: eb('items_ingested', '+', result.ingested),
            failures: 0,
            last_poll_at: t,
            last_success_at: t,
            next_poll_at: result.nextPollAt,
          }))
          .where('id', '=', id)
          .execute()
      else
        await db
          .updateTable('sources')
          .set((eb) => ({
            polls: eb('polls', '+', 1),
            bytes_fetched: eb('bytes_fetched', '+', result.bytes),
            failures: eb('failures', '+', 1),
            last_poll_at: t,
            last_error_at: t,
            last_error_json: JSON.stringify(result.error),
            next_poll_at: result.nextPollAt,
          }))
          .where('id', '=', id)
          .execute()
    },
    async countIngested(id, n) {
      if (n > 0)
        await db
          .updateTable('sources')
          .set((eb) => ({ items_ingested: eb('items_ingested', '+', n) }))
          .where('id', '=', id)
          .execute()
    },
    async validators(sourceId, url) {
      const r = await db.selectFrom('source_documents').select(['etag', 'last_modified']).where('source_id', '=', sourceId).where('url', '=', url).executeTakeFirst()
      return r ? { etag: r.etag, lastModified: r.last_modified } : undefined
    },
    childDocuments,
    async pruneChildDocuments(sourceId, ownUrl, keep) {
      const drop = (await childDocuments(sourceId, ownUrl)).filter((url) => !keep.includes(url))
      if (drop.length) await db.deleteFrom('source_documents').where('source_id', '=', sourceId).where('url', 'in', drop).execute()
    },
    async setValidators(sourceId, url, v) {
      await db
        .insertInto('source_documents')
        .values({ source_id: sourceId, url, etag: v.etag, last_modified: v.lastModified })
        .onConflict((oc) => oc.columns(['source_id', 'url']).doUpdateSet((eb) => ({ etag: eb.ref('excluded.etag'), last_modified: eb.ref('excluded.last_modified') })))
        .execute()
    },
    async item(sourceId, itemKey) {
      const r = await db.selectFrom('source_items').selectAll().where('source_id', '=', sourceId).where('item_key', '=', itemKey).executeTakeFirst()
      return r ? toItem(r) : undefined
    },
    async itemByExternalId(sourceId, externalId) {
      const r = await db.selectFrom('source_items').selectAll().where('source_id', '=', sourceId).where('external_id', '=', externalId).executeTakeFirst()
      return r ? toItem(r) : undefined
    },
    async liveItems(sourceId) {
      const rows = await db.selectFrom('source_items').selectAll().where('source_id', '=', sourceId).where('state', '=', 'live').where('article_id', 'is not', null).execute()
      return rows.map(toItem)
    },
    async items(sourceId, limit = 100) {
      const rows = await db.selectFrom('source_items').selectAll().where('source_id', '=', sourceId).orderBy('last_seen_at', 'desc').orderBy('item_key').limit(limit).execute()
      return rows.map(toItem)
    },
    async saveItem(i) {
      const t = now()
      await db
        .insertInto('source_items')
        .values({
          source_id: i.sourceId,
          item_key: i.itemKey,
          external_id: i.externalId,
          article_id: i.articleId,
          fingerprint: i.fingerprint,
          published_at: i.publishedAt,
          state: i.state,
          error_json: i.error ? JSON.stringify(i.error) : null,
          first_seen_at: t,
          last_seen_at: t,
        })
        .onConflict((oc) =>
          oc.columns(['source_id', 'item_key']).doUpdateSet((eb) => ({
            external_id: eb.ref('excluded.external_id'),
            article_id: eb.ref('excluded.article_id'),
            fingerprint: eb.ref('excluded.fingerprint'),
            published_at: eb.ref('excluded.published_at'),
            state: eb.ref('excluded.state'),
            error_json: eb.ref('excluded.error_json'),
            last_seen_at: eb.ref('excluded.last_seen_at'),
          })),
        )
        .execute()
    },
    async touchItem(sourceId, itemKey) {
      await db.updateTable('source_items').set({ last_seen_at: now() }).where('source_id', '=', sourceId).where('item_key', '=', itemKey).execute()
    },
    async delivery(sourceId, deliveryId) {
      const r = await db.selectFrom('webhook_deliveries').select(['status', 'response_json']).where('source_id', '=', sourceId).where('delivery_id', '=', deliveryId).executeTakeFirst()
      return r ? { status: Number(r.status), body: parseJson(r.response_json, null) } : undefined
    },
    async recordDelivery(sourceId, deliveryId, status, body, keepMs) {
      const t = Date.now()
      await db.deleteFrom('webhook_deliveries').where('received_at', '<', t - keepMs).execute()
      await db
        .insertInto('webhook_deliveries')
        .values({ source_id: sourceId, delivery_id: deliveryId, received_at: t, status, response_json: JSON.stringify(body) })
        .onConflict((oc) =>
          oc.columns(['source_id', 'delivery_id']).doUpdateSet((eb) => ({
            received_at: eb.ref('excluded.received_at'),
            status: eb.ref('excluded.status'),
            response_json: eb.ref('excluded.response_json'),
          })),
        )
        .execute()
    },
    async storyModeFor(articleId) {
      const r = await db
        .selectFrom('source_items as i')
        .innerJoin('sources as s', 's.id', 'i.source_id')
        .select('s.options_json')
        .where('i.article_id', '=', articleId)
        .limit(1)
        .executeTakeFirst()
      const mode = r ? parseJson<SourceOptions>(r.options_json, {}).storyMode : undefined
      return mode === 'full' || mode === 'lede' ? mode : undefined
    },
  }
}
