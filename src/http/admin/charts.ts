/**
 * Small server-rendered SVG charts for the figures (no script, no library):
 * colours come from the dashboard's stylesheet (light and dark), every chart
 * has a title and a description for screen readers, and the numbers are also
 * in a table beside it.
 */
import type { Counts, DayFigures } from '../../admin/figures.ts'
import { escapeHtml } from './layout.ts'

function niceMax(n: number): number {
  if (n <= 5) return 5
  const p = 10 ** Math.floor(Math.log10(n))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p
  return 10 * p
}

let chartSeq = 0

/** Bars per day: listens started and downloads side by side, with the finished listens as a line. */
export function dailyChart(days: DayFigures[], caption: string): string {
  const id = `chart-${++chartSeq}`
  const W = 640
  const H = 220
  const left = 34
  const bottom = 24
  const top = 10
  const plotW = W - left - 8
  const plotH = H - top - bottom
  const max = niceMax(Math.max(1, ...days.map((d) => Math.max(d.starts, d.downloads))))
  const slot = plotW / Math.max(1, days.length)
  const bw = Math.max(1, Math.min(14, slot * 0.38))
  const y = (v: number) => top + plotH - (v / max) * plotH
  const grid = [0, 0.5, 1]
    .map((f) => `<line class="axis" x1="${left}" x2="${W - 8}" y1="${y(max * f).toFixed(1)}" y2="${y(max * f).toFixed(1)}"/><text x="${left - 4}" y="${(y(max * f) + 3).toFixed(1)}" text-anchor="end">${Math.round(max * f)}</text>`)
    .join('')
  const bars = days
    .map((d, i) => {
      const x = left + i * slot + slot / 2
      return `<rect class="s1" x="${(x - bw).toFixed(1)}" y="${y(d.starts).toFixed(1)}" width="${bw.toFixed(1)}" height="${(top + plotH - y(d.starts)).toFixed(1)}"><title>${d.day}: ${d.starts} started</title></rect><rect class="s2" x="${x.toFixed(1)}" y="${y(d.downloads).toFixed(1)}" width="${bw.toFixed(1)}" height="${(top + plotH - y(d.downloads)).toFixed(1)}"><title>${d.day}: ${d.downloads} downloads</title></rect>`
    })
    .join('')
  const line = days.map((d, i) => `${(left + i * slot + slot / 2).toFixed(1)},${y(d.p100).toFixed(1)}`).join(' ')
  const every = Math.max(1, Math.ceil(days.length / 6))
  const labels = days
    .map((d, i) => (i % every === 0 || i === days.length - 1 ? `<text x="${(left + i * slot + slot / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle">${d.day.slice(5)}</text>` : ''))
    .join('')
  const total = days.reduce((a, d) => ({ s: a.s + d.starts, d: a.d + d.downloads, f: a.f + d.p100 }), { s: 0, d: 0, f: 0 })
  return `<figure><figcaption id="${id}-t">${escapeHtml(caption)}</figcaption>
<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d"><desc id="${id}-d">${days.length} days from ${days[0]?.day ?? ''} to ${days.at(-1)?.day ?? ''}: ${total.s} listens started, ${total.f} finished, ${total.d} podcast downloads.</desc>
${grid}${bars}<polyline class="l3" points="${line}"/>${labels}</svg>
<ul class="legend"><li><i class="k1"></i>Listens started</li><li><i class="k2"></i>Podcast downloads</li><li><i class="k3"></i>Listens finished (line)</li></ul></figure>`
}

/** How far listeners got: started, 25 %, 50 %, 75 %, finished, as horizontal bars. */
export function completionChart(t: Counts, caption: string): string {
  const id = `chart-${++chartSeq}`
  const rows: [string, number][] = [
    ['Started', t.starts],
    ['25 %', t.p25],
    ['50 %', t.p50],
    ['75 %', t.p75],
    ['Finished', t.p100],
  ]
  const W = 640
  const rowH = 30
  const left = 80
  const H = rows.length * rowH + 10
  const max = Math.max(1, t.starts, t.p25)
  const bars = rows
    .map(([label, v], i) => {
      const w = ((W - left - 90) * v) / max
      const pct = t.starts > 0 ? ` (${Math.round((100 * v) / t.starts)} %)` : ''
      return `<text x="${left - 8}" y="${i * rowH + 24}" text-anchor="end">${label}</text><rect class="s1" x="${left}" y="${i * rowH + 8}" width="${Math.max(v > 0 ? 2 : 0, w).toFixed(1)}" height="${rowH - 10}"><title>${label}: ${v}${pct}</title></rect><text x="${(left + w + 6).toFixed(1)}" y="${i * rowH + 24}">${v}${pct}</text>`
    })
    .join('')
  return `<figure><figcaption id="${id}-t">${escapeHtml(caption)}</figcaption>
<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d"><desc id="${id}-d">${rows.map(([l, v]) => `${l}: ${v}`).join(', ')}.</desc>${bars}</svg></figure>`
}
