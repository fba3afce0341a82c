/**
 * Counters: listen stats (migration 'player-001-listen-stats') and engine usage
 * (migration 'engines-001-usage'). Both are upserts that add to a row.
 *
 * Listen counts are per article and UTC day: how many listens started and how
 * many reached 25/50/75/100%. Nothing about the listener is stored (no IP, no
 * cookie, no id): only the counters.
 *
 * Engine usage is the characters sent to cloud speech engines, per engine and
 * calendar month (UTC): the characters each provider bills for the calls
 * briefcast made (clip-cache hits cost nothing and are not counted).
 */
import type { Kysely } from 'kysely'
import type { DB } from './schema.ts'

export type ListenEvent = { event: 'start' } | { event: 'progress'; percent: 25 | 50 | 75 | 100 }

export interface ListenCounts {
  starts: number
  p25: number
  p50: number
  p75: number
  p100: number
}

export interface ArticleListenStats {
  articleId: string
  totals: ListenCounts & {
    /** Share of starts that reached the end (0..1), null before the first start. */
    completionRate: number | null
  }
  /** Newest day first, days with no events omitted. */
  days: (ListenCounts & { day: string })[]
}

export interface ListenStatsRepository {
  record(articleId: string, event: ListenEvent, now?: Date): Promise<void>
  forArticle(articleId: string, options?: { days?: number }): Promise<ArticleListenStats>
  /** Totals for many articles at once (the home page's list), keyed by article id. */
  totalsFor(articleIds: readonly string[]): Promise<Map<string, ListenCounts>>
}

const COLUMN = { start: 'starts', 25: 'p25', 50: 'p50', 75: 'p75', 100: 'p100' } as const

const counts = (r: { starts: unknown; p25: unknown; p50: unknown; p75: unknown; p100: unknown }): ListenCounts => ({
  starts: Number(r.starts ?? 0),
  p25: Number(r.p25 ?? 0),
  p50: Number(r.p50 ?? 0),
  p75: Number(r.p75 ?? 0),
  p100: Number(r.p100 ?? 0),
})

export function listenStatsRepository(db: Kysely<DB>): ListenStatsRepository {
  return {
    async record(articleId, event, at = new Date()) {
      // The column name comes from a fixed table, never from input.
      const col = COLUMN[event.event === 'start' ? 'start' : event.percent]
      await db
        .insertInto('listen_stats')
        .values({ article_id: articleId, day: at.toISOString().slice(0, 10), [col]: 1 })
        .onConflict((oc) => oc.columns(['article_id', 'day']).doUpdateSet((eb) => ({ [col]: eb(`listen_stats.${col}`, '+', 1) })))
        .execute()
    },
    async forArticle(articleId, options = {}) {
      const t = await db
        .selectFrom('listen_stats')
        .select((eb) => [
          eb.fn.sum<number>('starts').as('starts'),
          eb.fn.sum<number>('p25').as('p25'),
          eb.fn.sum<number>('p50').as('p50'),
          eb.fn.sum<number>('p75').as('p75'),
          eb.fn.sum<number>('p100').as('p100'),
        ])
        .where('article_id', '=', articleId)
        .executeTakeFirstOrThrow()
      const totals = counts(t)
      const since = new Date(Date.now() - (options.days ?? 90) * 86_400_000).toISOString().slice(0, 10)
      const days = await db
        .selectFrom('listen_stats')
        .select(['day', 'starts', 'p25', 'p50', 'p75', 'p100'])
        .where('article_id', '=', articleId)
        .where('day', '>=', since)
        .orderBy('day', 'desc')
        .execute()
      return {
        articleId,
        totals: { ...totals, completionRate: totals.starts > 0 ? Math.min(1, totals.p100 / totals.starts) : null },
        days: days.map((d) => ({ day: d.day, ...counts(d) })),
      }
    },
    async totalsFor(articleIds) {
      const out = new Map<string, ListenCounts>()
      // Chunks keep under SQLite's bound-parameter limit.
      for (let i = 0; i < articleIds.length; i += 500) {
        const chunk = articleIds.slice(i, i + 500)
        const rows = await db
          .selectFrom('listen_stats')
          .select((eb) => [
            'article_id',
            eb.fn.sum<number>('starts').as('starts'),
            eb.fn.sum<number>('p25').as('p25'),
            eb.fn.sum<number>('p50').as('p50'),
            eb.fn.sum<number>('p75').as('p75'),
            eb.fn.sum<number>('p100').as('p100'),
          ])
          .where('article_id', 'in', chunk)
          .groupBy('article_id')
          .execute()
        for (const r of rows) out.set(r.article_id, counts(r))
      }
      return out
    },
  }
}

export interface EngineUsageRow {
  engine: string
  /** 'YYYY-MM' (UTC). */
  month: string
  characters: number
  requests: number
}

/** 'YYYY-MM' of a date, in UTC. */
export function usageMonth(at: Date = new Date()): string {
  return at.toISOString().slice(0, 7)
}

export interface EngineUsageRepository {
  add(engine: string, characters: number, at?: Date): Promise<void>
  /** Rows of a month (default: the current one), or of every month when month is 'all'; newest month first, then by engine. */
  list(month?: string | 'all'): Promise<EngineUsageRow[]>
}

export function engineUsageRepository(db: Kysely<DB>): EngineUsageRepository {
  return {
    async add(engine, characters, at = new Date()) {
      if (!Number.isFinite(characters) || characters <= 0) return
      await db
        .insertInto('engine_usage')
        .values({ engine, month: usageMonth(at), characters: Math.round(characters), requests: 1 })
        .onConflict((oc) =>
          oc.columns(['engine', 'month']).doUpdateSet((eb) => ({
            characters: eb('engine_usage.characters', '+', eb.ref('excluded.characters')),
            requests: eb('engine_usage.requests', '+', 1),
          })),
        )
        .execute()
    },
    async list(month = usageMonth()) {
      let q = db.selectFrom('engine_usage').select(['engine', 'month', 'characters', 'requests'])
      q = month === 'all' ? q.orderBy('month', 'desc').orderBy('engine') : q.where('month', '=', month).orderBy('engine')
      return (await q.execute()).map((r) => ({ engine: r.engine, month: r.month, characters: Number(r.characters), requests: Number(r.requests) }))
    },
  }
}
