/**
 * Listen counts: per article and UTC day, how many listens started and how
 * many reached 25/50/75/100%. Nothing about the listener is stored (no IP, no
 * cookie, no id): only the counters. Table from migration 'player-001-listen-stats'.
 */
import type Database from 'better-sqlite3'

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

const COLUMN = { start: 'starts', 25: 'p25', 50: 'p50', 75: 'p75', 100: 'p100' } as const

export interface ListenStatsRepository {
  record(articleId: string, event: ListenEvent, now?: Date): void
  forArticle(articleId: string, options?: { days?: number }): ArticleListenStats
  /** Totals for many articles at once (the home page's list), keyed by article id. */
  totalsFor(articleIds: readonly string[]): Map<string, ListenCounts>
}

export function listenStatsRepository(db: Database.Database): ListenStatsRepository {
  // One prepared upsert per counter column: the column name never comes from input.
  const upserts = Object.fromEntries(
    Object.entries(COLUMN).map(([key, col]) => [
      key,
      db.prepare(`INSERT INTO listen_stats (article_id, day, ${col}) VALUES (?, ?, 1)
        ON CONFLICT (article_id, day) DO UPDATE SET ${col} = ${col} + 1`),
    ]),
  ) as Record<keyof typeof COLUMN, Database.Statement>
  const totalsStmt = db.prepare(`SELECT COALESCE(SUM(starts),0) AS starts, COALESCE(SUM(p25),0) AS p25, COALESCE(SUM(p50),0) AS p50,
      COALESCE(SUM(p75),0) AS p75, COALESCE(SUM(p100),0) AS p100 FROM listen_stats WHERE article_id = ?`)
  const daysStmt = db.prepare('SELECT day, starts, p25, p50, p75, p100 FROM listen_stats WHERE article_id = ? AND day >= ? ORDER BY day DESC')

  return {
    record(articleId, event, now = new Date()) {
      const key = event.event === 'start' ? 'start' : event.percent
      upserts[key].run(articleId, now.toISOString().slice(0, 10))
    },
    forArticle(articleId, options = {}) {
      const totals = totalsStmt.get(articleId) as ListenCounts
      const since = new Date(Date.now() - (options.days ?? 90) * 86_400_000).toISOString().slice(0, 10)
      const days = daysStmt.all(articleId, since) as (ListenCounts & { day: string })[]
      return {
        articleId,
        totals: { ...totals, completionRate: totals.starts > 0 ? Math.min(1, totals.p100 / totals.starts) : null },
        days,
      }
    },
    totalsFor(articleIds) {
      const out = new Map<string, ListenCounts>()
      // Chunks keep under SQLite's bound-parameter limit.
      for (let i = 0; i < articleIds.length; i += 500) {
        const chunk = articleIds.slice(i, i + 500)
        const rows = db
          .prepare(`SELECT article_id AS id, SUM(starts) AS starts, SUM(p25) AS p25, SUM(p50) AS p50, SUM(p75) AS p75, SUM(p100) AS p100
            FROM listen_stats WHERE article_id IN (${chunk.map(() => '?').join(',')}) GROUP BY article_id`)
          .all(...chunk) as (ListenCounts & { id: string })[]
        for (const { id, ...counts } of rows) out.set(id, counts)
      }
      return out
    },
  }
}
