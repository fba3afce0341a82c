/**
 * The dashboard's page shell: one stylesheet (light and dark from the
 * system setting), a navigation that wraps on a phone, and the CSRF token
 * for the page script. Everything interpolated goes through escapeHtml.
 */
import type { Principal } from '../auth.ts'

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** Durations everywhere as m:ss (h:mm:ss from an hour). */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return ''
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** Strict: our own script and stylesheet only, nothing framed, forms only to us. */
export const ADMIN_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

export interface NavItem {
  href: string
  label: string
  role?: Principal['role']
}

export const NAV: NavItem[] = [
  { href: '/admin', label: 'Articles' },
  { href: '/admin/briefings', label: 'Briefings' },
  { href: '/admin/pronunciation', label: 'Pronunciation' },
  { href: '/admin/voices', label: 'Voices' },
  { href: '/admin/figures', label: 'Figures' },
  { href: '/admin/sources', label: 'Sources' },
  { href: '/admin/keys', label: 'API keys', role: 'admin' },
  { href: '/admin/users', label: 'Users', role: 'admin' },
  { href: '/admin/settings', label: 'Settings', role: 'admin' },
]

export function page(o: { title: string; showTitle: string; principal?: Principal; current?: string; body: string }): string {
  const p = o.principal
  const nav = p
    ? `<nav aria-label="Dashboard"><ul>${NAV.filter((n) => !n.role || p.role === n.role)
        .map((n) => `<li><a href="${n.href}"${n.href === o.current ? ' aria-current="page"' : ''}>${escapeHtml(n.label)}</a></li>`)
        .join('')}</ul></nav>
  <form method="post" action="/admin/logout" class="logout"><input type="hidden" name="_csrf" value="${escapeHtml(p.csrfToken)}"><span class="who">${escapeHtml(p.name)} · ${escapeHtml(p.role)}</span> <button type="submit">Sign out</button></form>`
    : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${p?.csrfToken ? `<meta name="csrf-token" content="${escapeHtml(p.csrfToken)}">` : ''}
${p ? `<meta name="role" content="${escapeHtml(p.role)}">` : ''}
<title>${escapeHtml(o.title)} · ${escapeHtml(o.showTitle)}</title>
<link rel="stylesheet" href="/admin/assets/admin.css">
<script src="/admin/assets/admin.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><p class="brand"><a href="/admin">${escapeHtml(o.showTitle)}</a> <span>newsroom</span></p>${nav}</header>
<main id="main" tabindex="-1">
<h1>${escapeHtml(o.title)}</h1>
${o.body}
</main>
</body>
</html>`
}

export const ADMIN_CSS = `
:root { --bg: #ffffff; --fg: #1b1b1f; --muted: #5a5a66; --line: #d9d9e0; --panel: #f5f5f8; --accent: #1d4ed8; --accent-fg: #ffffff;
  --ok: #0a6b2b; --bad: #a40000; --warn: #7a4b00; --focus: #b45309; --chart1: #1d4ed8; --chart2: #0f766e; --chart3: #b45309; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #121216; --fg: #ececf1; --muted: #a9a9b6; --line: #34343d; --panel: #1d1d23; --accent: #8ab4ff; --accent-fg: #0b0b10;
    --ok: #6ee79a; --bad: #ff9a9a; --warn: #f5c06b; --focus: #fbbf24; --chart1: #8ab4ff; --chart2: #5eead4; --chart3: #fbbf24; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); overflow-wrap: anywhere; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; top: 0; background: var(--panel); padding: .5rem 1rem; }
.skip:focus { left: .5rem; z-index: 10; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { margin: 0; font-weight: 700; } .brand span { color: var(--muted); font-weight: 400; } .brand a { color: var(--fg); text-decoration: none; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem .9rem; list-style: none; margin: 0; padding: 0; }
nav a { text-decoration: none; padding: .2rem 0; display: inline-block; }
nav a[aria-current="page"] { font-weight: 700; border-bottom: 2px solid var(--accent); }
.logout { margin-left: auto; display: flex; gap: .5rem; align-items: center; } .who { color: var(--muted); font-size: .9rem; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; } h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
small, .muted { color: var(--muted); }
.status { font-weight: 600; } .status-ready { color: var(--ok); } .status-failed { color: var(--bad); } .status-rendering, .status-queued { color: var(--warn); }
progress { width: 6rem; vertical-align: middle; }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; text-decoration: none; display: inline-block; min-height: 2.25rem; }
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger { background: transparent; color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .6; cursor: default; }
label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
input, select, textarea { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--muted); border-radius: .3rem; padding: .4rem; max-width: 100%; }
input[type=text], input[type=url], input[type=password], input[type=search], textarea, select.wide { width: 100%; }
input[type=checkbox] { width: 1.2rem; height: 1.2rem; vertical-align: middle; }
fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: 1rem 0; padding: .5rem 1rem 1rem; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; margin: 1rem 0; }
.row { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
.row > * { flex: 1 1 12rem; } .row > .shrink { flex: 0 0 auto; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.notice { padding: .6rem .8rem; border-radius: .4rem; border: 1px solid var(--line); background: var(--panel); }
.notice.error { border-color: var(--bad); color: var(--bad); }
.secret { font-family: ui-monospace, monospace; background: var(--panel); padding: .5rem; border: 1px dashed var(--muted); display: block; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9rem; }
pre { background: var(--panel); padding: .75rem; white-space: pre-wrap; }
ol.script { padding-left: 1.5rem; } ol.script li { margin: .3rem 0; } ol.script .kind { color: var(--muted); font-size: .8rem; }
mark { background: #fde68a; color: #1b1b1f; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .3rem; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .axis { stroke: var(--line); } svg.chart text { fill: var(--muted); font-size: 10px; }
svg.chart .s1 { fill: var(--chart1); } svg.chart .s2 { fill: var(--chart2); } svg.chart .s3 { fill: var(--chart3); }
svg.chart .l3 { stroke: var(--chart3); fill: none; stroke-width: 2.5; }
.legend { display: flex; flex-wrap: wrap; gap: .75rem; font-size: .85rem; color: var(--muted); margin: .25rem 0 0; padding: 0; list-style: none; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; border-radius: 2px; }
.legend .k1 { background: var(--chart1); } .legend .k2 { background: var(--chart2); } .legend .k3 { background: var(--chart3); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .5rem 0; } .facts dt { color: var(--muted); } .facts dd { margin: 0; }
.setting { margin: .4rem 0 1rem; } .setting p { margin: .2rem 0; } .setting label input[type=checkbox] { margin-right: .4rem; }
[aria-invalid="true"] { border-color: var(--bad); outline: 2px solid var(--bad); }
.login { max-width: 24rem; margin: 3rem auto; }
audio { width: 100%; max-width: 32rem; }
/* Phones: tables become stacked cards (every cell labelled), nothing scrolls sideways. */
@media (max-width: 640px) {
  table.cards thead { position: absolute; left: -9999px; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards tr { border: 1px solid var(--line); border-radius: .5rem; margin: .6rem 0; padding: .25rem .5rem; }
  table.cards td { border: 0; padding: .25rem 0; text-align: left; }
  table.cards td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .85rem; }
  .logout { margin-left: 0; }
}
`
