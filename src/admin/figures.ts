/**
 * Listening figures for the dashboard: per day and per article, listens
 * (player events: starts and 25/50/75/100 % reached) beside podcast downloads
 * (src/admin/downloads.ts). Days are UTC; the queries are store.figures (src/store/admin.ts).
 */
import type { FigureRow } from '../store/admin.ts'

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

/** A spreadsheet cell: quoted, and never read as a formula (CSV injection: a title starting with "="). */
function cell(v: unknown): string {
  let s = String(v ?? '')
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) || s !== String(v ?? '') ? `"${s.replace(/"/g, '""')}"` : s
}

/** One row per article per day with any activity (store.figures.daily), then nothing else: ready for a spreadsheet. */
export function figuresCsv(rows: readonly FigureRow[]): string {
  const header = 'day,article_id,external_id,title,length,starts,reached_25,reached_50,reached_75,finished,downloads'
  const fmt = (ms: unknown) => {
    if (typeof ms !== 'number') return ''
    const t = Math.round(ms / 1000)
    return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`
  }
  const lines = rows.map((r) =>
    [r.day, r.id, r.externalId, r.title, fmt(r.durationMs), r.starts, r.p25, r.p50, r.p75, r.p100, r.downloads].map(cell).join(','),
  )
  return [header, ...lines].join('\r\n') + '\r\n'
}
