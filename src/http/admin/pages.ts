/**
 * Two dashboard pages (listed in PAGES in src/http/routes/dashboard.ts):
 * - /admin/sources: every source with its health, its recent items, and (for
 *   admins) poll now, enable/disable, add a feed/sitemap or webhook source,
 *   delete; all through /api/sources (src/http/routes/sources.ts);
 * - /admin/settings (admin): the run-time settings of src/admin/settings.ts,
 *   saved through PUT /api/settings, each with its configured default and a
 *   reset.
 */
import { listSettings, type SettingView } from '../../admin/settings.ts'
import { sourcesRuntime } from '../../sources/runtime.ts'
import type { SourceItemRecord, SourceRecord } from '../../store/sources.ts'
import type { ArticleRecord, EpisodeRecord } from '../../store/types.ts'
import type { PageContext } from '../routes/dashboard.ts'
import { escapeHtml, formatDuration } from './layout.ts'

const when = (t: string | null | undefined) => (t ? `${escapeHtml(t.slice(0, 16).replace('T', ' '))} UTC` : 'never')

/** ok / failing (with the error) / never polled / webhook; what a glance needs. */
export function sourceHealth(s: SourceRecord): { state: 'ok' | 'failing' | 'never' | 'webhook' | 'disabled'; label: string } {
  if (!s.enabled) return { state: 'disabled', label: 'disabled' }
  if (s.kind === 'webhook') return { state: 'webhook', label: 'takes webhooks' }
  if (s.failures > 0) return { state: 'failing', label: `failing (${s.failures} in a row)` }
  if (!s.lastPollAt) return { state: 'never', label: 'never polled' }
  return { state: 'ok', label: 'ok' }
}

const HEALTH_CLASS = { ok: 'status-ready', failing: 'status-failed', never: 'status-queued', webhook: '', disabled: 'muted' } as const
const ITEM_CLASS = { live: 'status-ready', failed: 'status-failed', skipped: 'muted', removed: 'muted' } as const

async function itemsTable(ctx: PageContext, s: SourceRecord, items: SourceItemRecord[]): Promise<string> {
  if (items.length === 0) return '<p class="muted">No items yet.</p>'
  const stories = new Map<string, { a: ArticleRecord | undefined; ep: EpisodeRecord | undefined }>()
  for (const i of items) {
    const a = i.articleId ? await ctx.deps.store.articles.get(i.articleId) : undefined
    stories.set(i.itemKey, { a, ep: a?.episodeId != null ? await ctx.deps.store.episodes.get(a.episodeId) : undefined })
  }
  const rows = items
    .map((i) => {
      const { a, ep } = stories.get(i.itemKey)!
      const story = a ? `<a href="/admin/articles/${encodeURIComponent(a.id)}">${escapeHtml(a.title)}</a>` : escapeHtml(i.externalId)
      return `<tr><td data-label="Story">${story}<br><small>${escapeHtml(i.externalId)}</small></td>
<td data-label="State"><span class="status ${ITEM_CLASS[i.state]}">${escapeHtml(i.state)}</span>${a ? ` · <span class="status status-${escapeHtml(a.status)}">${escapeHtml(a.status)}</span>` : ''}${i.error ? `<br><small class="status-failed">${escapeHtml(i.error.code)}: ${escapeHtml(i.error.message)}</small>` : ''}</td>
<td data-label="Length" class="num">${escapeHtml(formatDuration(ep?.durationMs)) || '—'}</td>
<td data-label="Published">${when(i.publishedAt)}</td><td data-label="Last seen">${when(i.lastSeenAt)}</td></tr>`
    })
    .join('')
  return `<table class="cards" aria-label="Recent items of ${escapeHtml(s.id)}"><thead><tr><th scope="col">Story</th><th scope="col">State</th><th scope="col" class="num">Length</th><th scope="col">Published</th><th scope="col">Last seen</th></tr></thead><tbody>${rows}</tbody></table>`
}

async function sourceSection(ctx: PageContext, s: SourceRecord, isAdmin: boolean): Promise<string> {
  const { repo } = sourcesRuntime(ctx.deps)
  const h = sourceHealth(s)
  const items = await repo.items(s.id, 20)
  const api = `/api/sources/${encodeURIComponent(s.id)}`
  const hid = `src-${escapeHtml(s.id)}`
  const next = !s.enabled ? '—' : s.nextPollAt <= Date.now() ? 'due now' : when(new Date(s.nextPollAt).toISOString())
  const actions = isAdmin
    ? `<div class="actions">
  ${s.kind !== 'webhook' && s.url ? `<button type="button" data-api="${api}/poll" data-method="POST" data-then="reload">Poll now</button>` : ''}
  <button type="button" class="secondary" data-api="${api}" data-method="PATCH" data-body='${escapeHtml(JSON.stringify({ enabled: !s.enabled }))}' data-then="reload">${s.enabled ? 'Disable' : 'Enable'}</button>
  <button type="button" class="danger" data-api="${api}" data-method="DELETE" data-confirm="Delete the source “${escapeHtml(s.id)}”? Its articles stay." data-then="reload">Delete</button>
</div>
<p role="status" aria-live="polite" class="result"></p>`
    : ''
  return `<section class="panel source" aria-labelledby="${hid}" data-source="${escapeHtml(s.id)}">
<h2 id="${hid}">${escapeHtml(s.id)} <small>${escapeHtml(s.kind)}${s.origin === 'config' ? ', from the configuration' : ''}</small></h2>
<p>${s.url ? `<a href="${escapeHtml(s.url)}" rel="noreferrer">${escapeHtml(s.url)}</a>` : `Webhook: <code>${escapeHtml(`${ctx.deps.urls.base}/api/hooks/${encodeURIComponent(s.id)}`)}</code>`}</p>
<p class="health">Health: <strong class="status ${HEALTH_CLASS[h.state]}" data-health="${h.state}">${escapeHtml(h.label)}</strong>${
    s.failures > 0 && s.lastError ? `<br><small class="status-failed">Last error ${when(s.lastErrorAt)}: ${escapeHtml(s.lastError.code)}: ${escapeHtml(s.lastError.message)}</small>` : ''
  }</p>
<dl class="facts">
  <dt>Enabled</dt><dd>${s.enabled ? 'yes' : 'no'}</dd>
${
  s.kind === 'webhook'
    ? `  <dt>Items</dt><dd>${s.itemsIngested} ingested</dd>`
    : `  <dt>Interval</dt><dd>${escapeHtml(formatDuration(s.intervalSeconds * 1000))}</dd>
  <dt>Last poll</dt><dd>${when(s.lastPollAt)}</dd>
  <dt>Last success</dt><dd>${when(s.lastSuccessAt)}</dd>
  <dt>Next poll</dt><dd>${next}</dd>
  <dt>Failures in a row</dt><dd>${s.failures}</dd>
  <dt>Polls</dt><dd>${s.polls} <small>(${s.notModified} not modified, 304)</small></dd>
  <dt>Items</dt><dd>${s.itemsSeen} seen, ${s.itemsIngested} ingested</dd>`
}
</dl>
${actions}
<details${items.length > 0 && h.state === 'failing' ? ' open' : ''}><summary>Recent items (${items.length})</summary>
${await itemsTable(ctx, s, items)}
</details>
</section>`
}

export async function sourcesPage(ctx: PageContext): Promise<string> {
  const { repo } = sourcesRuntime(ctx.deps)
  const sources = await repo.list()
  const sections: string[] = []
  for (const s of sources) sections.push(await sourceSection(ctx, s, ctx.principal.role === 'admin'))
  const isAdmin = ctx.principal.role === 'admin'
  const counts = { ok: 0, failing: 0, never: 0 }
  for (const s of sources) {
    const st = sourceHealth(s).state
    if (st === 'ok' || st === 'failing' || st === 'never') counts[st]++
  }
  const interval = ctx.deps.config.sources.intervalSeconds
  const add = isAdmin
    ? `<section class="panel" aria-labelledby="add-feed-h"><h2 id="add-feed-h">Add a feed or sitemap</h2>
<form id="add-feed" data-api="/api/sources" data-method="POST" data-then="reload">
  <div class="row">
    <div><label for="feed-id">Id</label><input id="feed-id" name="id" type="text" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="main-feed" aria-describedby="feed-id-help"><small id="feed-id-help">Lower-case letters, digits and dashes.</small></div>
    <div class="shrink"><label for="feed-kind">Kind</label><select id="feed-kind" name="kind"><option value="">By its URL</option><option value="feed">feed (RSS, Atom, JSON Feed)</option><option value="sitemap">sitemap</option></select></div>
  </div>
  <label for="feed-url">URL</label><input id="feed-url" name="url" type="url" required placeholder="https://news.example.com/feed/">
  <div class="row">
    <div class="shrink"><label for="feed-interval">Poll every (seconds)</label><input id="feed-interval" name="intervalSeconds" type="number" min="1" max="86400" placeholder="${interval}" aria-describedby="feed-interval-help"><small id="feed-interval-help">Empty: the default, ${escapeHtml(formatDuration(interval * 1000))}.</small></div>
    <div class="shrink"><button type="submit">Add source</button></div>
  </div>
  <p role="status" aria-live="polite" class="result"></p>
</form></section>
<section class="panel" aria-labelledby="add-hook-h"><h2 id="add-hook-h">Add a webhook source</h2>
<p>For a CMS that calls us when a story is published; see docs/publishing.md. The secret that signs its calls is shown once.</p>
<form id="add-hook" data-api="/api/sources" data-method="POST" data-then="secret" class="row">
  <input type="hidden" name="kind" value="webhook">
  <div><label for="hook-id">Id</label><input id="hook-id" name="id" type="text" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="cms"></div>
  <div class="shrink"><button type="submit">Add webhook source</button></div>
  <p role="status" aria-live="polite" class="result"></p>
</form></section>`
    : ''
  return `<p>Feeds and sitemaps are polled for new and changed stories; webhook sources are told by the CMS. ${
    isAdmin ? 'Admins add, poll, pause and delete sources.' : 'Admins add, poll, pause and delete sources; you can look.'
  }</p>
<p class="panel" id="sources-summary">${sources.length} source${sources.length === 1 ? '' : 's'}: <strong>${counts.ok}</strong> ok, <strong class="${counts.failing ? 'status-failed' : ''}">${counts.failing}</strong> failing, ${counts.never} never polled.</p>
${sources.length === 0 ? '<p>No sources yet.</p>' : sections.join('\n')}
${add}`
}

function display(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(none)'
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  return String(v)
}

function field(s: SettingView): string {
  const id = `set-${s.key.replace('.', '-')}`
  const help = `${id}-help`
  const initial = escapeHtml(JSON.stringify(s.value))
  const common = `id="${id}" name="${escapeHtml(s.key)}" data-setting="${escapeHtml(s.key)}" data-initial="${initial}" aria-describedby="${help}"`
  const value = s.value === null || s.value === undefined ? '' : String(s.value)
  let input: string
  if (s.input === 'checkbox') input = `<input type="checkbox" ${common}${s.value ? ' checked' : ''}>`
  else if (s.input === 'textarea') input = `<textarea ${common} rows="3">${escapeHtml(value)}</textarea>`
  else if (s.input === 'select') input = `<select ${common}>${(s.options ?? []).map((o) => `<option value="${escapeHtml(o)}"${o === value ? ' selected' : ''}>${escapeHtml(o)}</option>`).join('')}</select>`
  else input = `<input type="${s.input === 'number' ? 'number' : s.input === 'email' ? 'email' : s.input === 'url' ? 'url' : 'text'}" ${common} value="${escapeHtml(value)}"${s.nullable ? '' : ' required'}>`
  const label = `<label for="${id}">${escapeHtml(s.label)}</label>`
  const dflt = `Default: <code>${escapeHtml(display(s.default))}</code>${s.env ? ` <small>(${escapeHtml(s.env)})</small>` : ''}`
  const state = s.overridden ? ` · <strong>changed here</strong>${s.updatedAt ? ` ${when(s.updatedAt)}` : ''}` : ''
  const reset = s.overridden
    ? ` <button type="button" class="secondary" data-api="/api/settings" data-method="PUT" data-body='${escapeHtml(JSON.stringify({ reset: [s.key] }))}' data-then="reload" aria-label="Reset ${escapeHtml(s.label)} to the default">Reset to default</button>`
    : ''
  return `<div class="setting" data-key="${escapeHtml(s.key)}">${s.input === 'checkbox' ? `<label for="${id}">${input} ${escapeHtml(s.label)}</label>` : `${label}${input}`}
<p id="${help}" class="muted">${escapeHtml(s.help)} ${dflt}${state}</p>${reset ? `<p class="actions">${reset}</p>` : ''}</div>`
}

const SECTIONS = [
  { id: 'show', title: 'Show (both podcast feeds)' },
  { id: 'feed', title: 'Feeds' },
  { id: 'briefing', title: 'Briefing schedule' },
  { id: 'sources', title: 'Sources' },
] as const

export async function settingsPage(ctx: PageContext): Promise<string> {
  const all = await listSettings(ctx.deps)
  const saved = typeof ctx.req.query.saved === 'string' ? Number(ctx.req.query.saved) : undefined
  return `<p>These settings can be changed while the service runs; they apply at once, no restart. Each starts from the configured value (environment or config file), shown as its default; "Reset to default" follows the configuration again. Everything else (ports, directories, engines, storage, secrets) is set in the configuration: docs/configuration.md.</p>
${saved !== undefined && Number.isFinite(saved) ? `<p class="notice" role="status">${saved === 0 ? 'Nothing changed.' : `Saved ${saved} setting${saved === 1 ? '' : 's'}; in effect now.`}</p>` : ''}
<form id="settings-form" novalidate>
${SECTIONS.map(
  (sec) => `<fieldset><legend>${escapeHtml(sec.title)}</legend>
${all
  .filter((s) => s.section === sec.id)
  .map(field)
  .join('\n')}
</fieldset>`,
).join('\n')}
<p class="actions"><button type="submit">Save settings</button></p>
<p role="status" aria-live="polite" class="result" id="settings-result"></p>
</form>`
}
