/**
 * Polls each enabled feed or sitemap source on its own interval with a
 * conditional GET (If-None-Match / If-Modified-Since) through the SSRF-safe
 * fetcher, and hands new or changed stories to StoryIngest. Errors back off
 * exponentially (per source) and are recorded on the source; one broken source
 * never delays another beyond its own fetch timeout. The next poll time is
 * stored, so a restart keeps the schedule.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { toAppError, type AppError } from '../errors.ts'
import type { AppDeps } from '../http/deps.ts'
import { safeFetch, type FetchedPage } from '../ingest/fetch.ts'
import { entryAllowed, entryFingerprint, holdsWholeStory, parseSourceDocument, type SourceEntry } from './parse.ts'
import { externalIdFor, type StoryIngest } from './ingest.ts'
import type { SourceRecord, SourceRepository } from '../store/sources.ts'

export interface PollResult {
  source: string
  notModified: boolean
  bytes: number
  documents: number
  seen: number
  created: number
  updated: number
  unchanged: number
  removed: number
  skipped: number
  failed: { key: string; code: string; message: string }[]
  error?: { code: string; message: string }
}

const MAX_CHILD_SITEMAPS = 50
const MAX_BACKOFF_S = 6 * 3600

export class SourcePoller {
  readonly #deps: AppDeps
  readonly #repo: SourceRepository
  readonly #ingest: StoryIngest
  readonly #running = new Map<string, Promise<PollResult>>()
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  readonly #abort = new AbortController()

  constructor(deps: AppDeps, repo: SourceRepository, ingest: StoryIngest) {
    this.#deps = deps
    this.#repo = repo
    this.#ingest = ingest
  }

  start(): void {
    this.#stopped = false
    void this.#schedule()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#abort.abort()
    await Promise.allSettled(this.#running.values())
  }

  /** Re-arm the timer for the earliest due source (after a source is added or changed). */
  wake(): void {
    if (!this.#stopped) void this.#schedule()
  }

  async #schedule(): Promise<void> {
    let delay: number
    try {
      const next = await this.#repo.nextDue()
      if (next === undefined) return
      delay = Math.max(0, Math.min(next - Date.now(), 60_000))
    } catch (err) {
      // The database is unavailable: look again in a while.
      this.#deps.logger.warn({ err }, 'source scheduling failed; retrying')
      delay = 5_000
    }
    if (this.#stopped) return
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#tick(), delay)
    this.#timer.unref()
  }

  async #tick(): Promise<void> {
    if (this.#stopped || !this.#deps.store.isOpen()) return
    let due: SourceRecord[]
    try {
      due = (await this.#repo.due(Date.now())).filter((s) => !this.#running.has(s.id))
    } catch (err) {
      this.#deps.logger.warn({ err }, 'reading due sources failed; retrying')
      due = []
    }
    const limit = this.#deps.config.sources.concurrency
    const queue = [...due]
    const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let s = queue.shift(); s && !this.#stopped; s = queue.shift()) await this.poll(s.id).catch(() => {})
    })
    await Promise.all(workers)
    if (!this.#stopped) {
      // At most once per tick even when a source is overdue (a clock jump, a long outage).
      await sleep(this.#deps.config.sources.tickMs, undefined, { ref: false }).catch(() => {})
      await this.#schedule()
    }
  }

  /** Poll one source now (single flight per source). */
  poll(id: string): Promise<PollResult> {
    const running = this.#running.get(id)
    if (running) return running
    const p = this.#poll(id).finally(() => this.#running.delete(id))
    this.#running.set(id, p)
    return p
  }

  async #fetch(source: SourceRecord, url: string, bytes: { n: number }): Promise<FetchedPage> {
    const { config } = this.#deps
    const v = await this.#repo.validators(source.id, url)
    const headers: Record<string, string> = { accept: 'application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1' }
    if (v?.etag) headers['if-none-match'] = v.etag
    if (v?.lastModified) headers['if-modified-since'] = v.lastModified
    const page = await safeFetch(url, {
      allowlist: config.fetch.allowlist,
      timeoutMs: config.fetch.timeoutMs,
      maxBytes: config.sources.maxBytes,
      headers,
      signal: this.#abort.signal,
    })
    bytes.n += page.body.length
    return page
  }

  async #poll(id: string): Promise<PollResult> {
    const source = await this.#repo.get(id)
    const result: PollResult = { source: id, notModified: false, bytes: 0, documents: 0, seen: 0, created: 0, updated: 0, unchanged: 0, removed: 0, skipped: 0, failed: [] }
    if (!source || !source.url || source.kind === 'webhook') return result
    const bytes = { n: 0 }
    const validated: { url: string; page: FetchedPage }[] = []
    try {
      const page = await this.#fetch(source, source.url, bytes)
      result.documents++
      let sitemaps: string[] | undefined
      let entries: SourceEntry[] = []
      if (page.status === 304) {
        // An unchanged sitemap index still has sitemaps that may have changed: they are asked too, each conditionally.
        const children = await this.#repo.childDocuments(source.id, source.url)
        if (children.length > 0) sitemaps = children
      } else {
        validated.push({ url: source.url, page })
        const parsed = parseSourceDocument(page.body, page.contentType, page.url)
        if (parsed.kind === 'sitemap-index') sitemaps = parsed.sitemaps.slice(0, MAX_CHILD_SITEMAPS)
        else entries = parsed.entries
      }
      let changed = page.status !== 304
      if (sitemaps) {
        for (const child of sitemaps) {
          const cp = await this.#fetch(source, child, bytes)
          result.documents++
          if (cp.status === 304) continue
          changed = true
          validated.push({ url: child, page: cp })
          const parsed = parseSourceDocument(cp.body, cp.contentType, cp.url)
          if (parsed.kind === 'entries') entries.push(...parsed.entries)
        }
      }
      result.notModified = !changed
      // With sitemaps, a poll sees only the sitemaps that changed: nothing can be judged removed from that.
      if (changed) await this.#ingestEntries(source, entries, !sitemaps, result)
      if (sitemaps && validated.some((v) => v.url === source.url)) await this.#repo.pruneChildDocuments(source.id, source.url, sitemaps)
      for (const { url, page } of validated) {
        const etag = page.headers.etag
        const lm = page.headers['last-modified']
        await this.#repo.setValidators(source.id, url, { etag: typeof etag === 'string' ? etag : null, lastModified: typeof lm === 'string' ? lm : null })
      }
      result.bytes = bytes.n
      await this.#repo.recordPoll(id, { ok: true, notModified: result.notModified, bytes: bytes.n, seen: result.seen, ingested: result.created + result.updated, nextPollAt: Date.now() + source.intervalSeconds * 1000 })
    } catch (err) {
      const e: AppError = toAppError(err)
      result.error = { code: e.code, message: e.message }
      result.bytes = bytes.n
      const backoff = Math.min(source.intervalSeconds * 2 ** Math.min(source.failures + 1, 10), Math.max(MAX_BACKOFF_S, source.intervalSeconds))
      await this.#repo.recordPoll(id, { ok: false, error: result.error, bytes: bytes.n, nextPollAt: Date.now() + backoff * 1000 })
      this.#deps.logger.warn({ source: id, code: e.code, err: e.message, retryInSeconds: backoff }, 'polling a source failed')
    }
    return result
  }

  async #ingestEntries(source: SourceRecord, entries: SourceEntry[], complete: boolean, result: PollResult): Promise<void> {
    const keys = new Set<string>()
    for (const e of entries) {
      if (this.#stopped) return
      if (keys.has(e.key)) continue
      keys.add(e.key)
      result.seen++
      if (!entryAllowed(e, source.options)) {
        result.skipped++
        continue
      }
      const whole = holdsWholeStory(e)
      try {
        const { action } = await this.#ingest.upsert(
          source,
          e.key,
          {
            externalId: externalIdFor(e.key),
            url: e.link,
            title: e.title,
            html: whole ? e.html : null,
            publishedAt: e.publishedAt,
            author: e.author,
            language: e.language,
          },
          entryFingerprint(e),
          { signal: this.#abort.signal },
        )
        if (action === 'created') result.created++
        else if (action === 'updated') result.updated++
        else if (action === 'unchanged') result.unchanged++
        else result.skipped++
      } catch (err) {
        const ae = toAppError(err)
        result.failed.push({ key: e.key, code: ae.code, message: ae.message })
      }
    }
    if (!complete || entries.length === 0) return
    // A story that vanished from the feed while older ones are still in it was taken down; one older than
    // everything left only fell off the end of the feed's window and stays.
    const times = entries.map((e) => Date.parse(e.publishedAt ?? '')).filter((t) => !Number.isNaN(t))
    const oldest = times.length > 0 ? Math.min(...times) : undefined
    for (const item of await this.#repo.liveItems(source.id)) {
      if (keys.has(item.itemKey)) continue
      const t = Date.parse(item.publishedAt ?? '')
      if (oldest === undefined || Number.isNaN(t) || t < oldest) continue
      if (await this.#ingest.remove(source, item.itemKey, item.externalId)) result.removed++
    }
  }
}
