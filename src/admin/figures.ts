/**
 * Listening figures for the dashboard: per day and per article, listens
 * (player events: starts and 25/50/75/100 % reached) beside podcast downloads
 * (src/admin/downloads.ts). Days are UTC.
 */
import type Database from 'better-sqlite3'

export interface Counts {
  starts: number
  p25: number
  p50: number
  p75: number
  p100: number
  downloads: number
}

export interface DayFigures extends Counts {
  day: string
}

export interface ArticleFigures extends Counts {
  id: string
  title: string
  durationMs: number | null
}

export interface Figures {
  from: string
  to: string
  days: DayFigures[]
  totals: Counts
  articles: ArticleFigures[]
}

const ZERO: Counts = { starts: 0, p25: 0, p50: 0, p75: 0, p100: 0, downloads: 0 }
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10)

/** The last `days` UTC days up to `now`, every day present (zeros where nothing happened). */
export function figures(db: Database.Database, options: { days: number; articleId?: string; now?: Date; limit?: number }): Figures {
  const now = options.now ?? new Date()
  const to = dayOf(now.getTime())
  const from = dayOf(now.getTime() - (options.days - 1) * 86_400_000)
  const filter = options.articleId ? 'AND article_id = ?' : ''
  const args = options.articleId ? [from, to, options.articleId] : [from, to]
  const listens = db
    .prepare(`SELECT day, SUM(starts) AS starts, SUM(p25) AS p25, SUM(p50) AS p50, SUM(p75) AS p75, SUM(p100) AS p100 FROM listen_stats WHERE day BETWEEN ? AND ? ${filter} GROUP BY day`)
    .all(...args) as (Omit<Counts, 'downloads'> & { day: string })[]
  const downloads = db.prepare(`SELECT day, SUM(downloads) AS downloads FROM download_stats WHERE day BETWEEN ? AND ? ${filter} GROUP BY day`).all(...args) as { day: string; downloads: number }[]
  const byDay = new Map<string, DayFigures>()
  for (let t = Date.parse(`${from}T00:00:00Z`); dayOf(t) <= to; t += 86_400_000) byDay.set(dayOf(t), { day: dayOf(t), ...ZERO })
  for (const l of listens) Object.assign(byDay.get(l.day) ?? {}, l)
  for (const d of downloads) {
    const row = byDay.get(d.day)
    if (row) row.downloads = d.downloads
  }
  const days = [...byDay.values()]
  const totals = { ...ZERO }
  for (const d of days) for (const k of Object.keys(ZERO) as (keyof Counts)[]) totals[k] += d[k]

  const articles = db
    .prepare(
      `WITH l AS (SELECT article_id, SUM(starts) AS starts, SUM(p25) AS p25, SUM(p50) AS p50, SUM(p75) AS p75, SUM(p100) AS p100
                  FROM listen_stats WHERE day BETWEEN @from AND @to GROUP BY article_id),
            d AS (SELECT article_id, SUM(downloads) AS downloads FROM download_stats WHERE day BETWEEN @from AND @to GROUP BY article_id)
       SELECT a.id, a.title, e.duration_ms AS durationMs,
              COALESCE(l.starts,0) AS starts, COALESCE(l.p25,0) AS p25, COALESCE(l.p50,0) AS p50, COALESCE(l.p75,0) AS p75, COALESCE(l.p100,0) AS p100,
              COALESCE(d.downloads,0) AS downloads
       FROM articles a LEFT JOIN l ON l.article_id = a.id LEFT JOIN d ON d.article_id = a.id LEFT JOIN episodes e ON e.id = a.episode_id
       WHERE (l.article_id IS NOT NULL OR d.article_id IS NOT NULL) ${options.articleId ? 'AND a.id = @id' : ''}
       ORDER BY starts + downloads DESC, a.created_at DESC LIMIT ${Math.max(1, Math.min(options.limit ?? 500, 10_000))}`,
    )
    .all(options.articleId ? { from, to, id: options.articleId } : { from, to }) as ArticleFigures[]
  return { from, to, days, totals, articles }
}

/** A spreadsheet cell: quoted, and never read as a formula (CSV injection: a title starting with "="). */
function cell(v: unknown): string {
  let s = String(v ?? '')
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) || s !== String(v ?? '') ? `"${s.replace(/"/g, '""')}"` : s
}

/** One row per article per day with any activity, then nothing else: ready for a spreadsheet. */
export function figuresCsv(db: Database.Database, options: { days: number; now?: Date }): string {
  const { from, to } = figures(db, { ...options, limit: 1 })
  const rows = db
    .prepare(
      `WITH k AS (SELECT article_id, day FROM listen_stats WHERE day BETWEEN @from AND @to UNION SELECT article_id, day FROM download_stats WHERE day BETWEEN @from AND @to)
       SELECT k.day, a.id, a.external_id, a.title, e.duration_ms,
              COALESCE(l.starts,0) AS starts, COALESCE(l.p25,0) AS p25, COALESCE(l.p50,0) AS p50, COALESCE(l.p75,0) AS p75, COALESCE(l.p100,0) AS p100,
              COALESCE(d.downloads,0) AS downloads
       FROM k JOIN articles a ON a.id = k.article_id
       LEFT JOIN listen_stats l ON l.article_id = k.article_id AND l.day = k.day
       LEFT JOIN download_stats d ON d.article_id = k.article_id AND d.day = k.day
       LEFT JOIN episodes e ON e.id = a.episode_id
       ORDER BY k.day, a.id`,
    )
    .all({ from, to }) as Record<string, unknown>[]
  const header = 'day,article_id,external_id,title,length,starts,reached_25,reached_50,reached_75,finished,downloads'
  const fmt = (ms: unknown) => {
    if (typeof ms !== 'number') return ''
    const t = Math.round(ms / 1000)
    return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`
  }
  const lines = rows.map((r) =>
    [r.day, r.id, r.external_id, r.title, fmt(r.duration_ms), r.starts, r.p25, r.p50, r.p75, r.p100, r.downloads].map(cell).join(','),
  )
  return [header, ...lines].join('\r\n') + '\r\n'
}
