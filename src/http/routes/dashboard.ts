/**
 * The newsroom's dashboard under /admin: server-rendered pages behind a
 * session (sign in at /admin/login), a small page script for live status and
 * the forms (which call /api with the session's CSRF token). A viewer gets the
 * same pages without the buttons; the API refuses them anyway (403).
 */
import express from 'express'
import { briefingLocale, spokenDate } from '../../episodes/briefing.ts'
import { AppError, toAppError } from '../../errors.ts'
import type { ArticleRecord, ArticleStatus, EpisodeRecord } from '../../store/types.ts'
import { lexiconNameFor } from '../../tts/lexicon.ts'
import { usageMonth } from '../../tts/usage.ts'
import { checkCsrf, identify, LoginLimiter, parseCookies, sessionCookie, sessionCookieName, type Principal } from '../auth.ts'
import { completionChart, dailyChart } from '../admin/charts.ts'
import { ADMIN_CLIENT_JS } from '../admin/client.ts'
import { ADMIN_CSP, ADMIN_CSS, escapeHtml, formatDuration, page } from '../admin/layout.ts'
import type { AppDeps } from '../deps.ts'
import { publicUrlProblem } from '../urls.ts'
import { feedRuntime } from './feed.ts'
import { isPublicArticle } from './listen.ts'
import { settingsPage, sourcesPage } from '../admin/pages.ts'

export interface DashboardPage {
  path: string
  title: string
  /** The page's body, or its body and a title of its own (an article's). */
  render(ctx: PageContext): string | { title: string; body: string } | Promise<string | { title: string; body: string }>
  role?: Principal['role']
}

export interface PageContext {
  deps: AppDeps
  req: express.Request
  principal: Principal
  canEdit: boolean
}

const STATUSES: ArticleStatus[] = ['queued', 'rendering', 'ready', 'failed']

export function statusHtml(a: { id: string; status: string; progress: number }): string {
  const live = a.status === 'queued' || a.status === 'rendering'
  return `<span class="status status-${escapeHtml(a.status)}" data-live-article="${escapeHtml(a.id)}"${live ? ' data-live="1"' : ''}>${escapeHtml(a.status)}${
    a.status === 'rendering' ? ` ${Math.round(a.progress * 100)}%` : ''
  }</span>${live ? ` <progress max="1" value="${a.progress}" aria-label="Render progress"></progress>` : ''}`
}

async function searchArticles(deps: AppDeps, q: string, status: ArticleStatus | undefined, limit: number): Promise<{ items: ArticleRecord[]; total: number }> {
  return deps.store.articles.list({ limit, offset: 0, status, search: q || undefined })
}

async function articlesPage(ctx: PageContext): Promise<string> {
  const { deps, req, canEdit } = ctx
  const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 200) : ''
  const status = typeof req.query.status === 'string' && (STATUSES as string[]).includes(req.query.status) ? (req.query.status as ArticleStatus) : undefined
  const { items, total } = await searchArticles(deps, q, status, 100)
  const listens = await deps.store.listenStats.totalsFor(items.map((a) => a.id))
  const episodes = new Map<number, EpisodeRecord>()
  for (const a of items) {
    const ep = a.episodeId !== null ? await deps.store.episodes.get(a.episodeId) : undefined
    if (ep) episodes.set(ep.id, ep)
  }
  const profiles = deps.speech.listProfiles()
  const rows = items
    .map((a) => {
      const ep = a.episodeId !== null ? episodes.get(a.episodeId) : undefined
      const l = listens.get(a.id)
      const future = a.publishedAt && Date.parse(a.publishedAt) > Date.now() ? ' <small>(embargoed)</small>' : ''
      return `<tr>
  <td data-label="Title"><a href="/admin/articles/${encodeURIComponent(a.id)}">${escapeHtml(a.title)}</a>${future}<br><small>${escapeHtml(a.externalId ?? a.id)}${a.author ? ` · ${escapeHtml(a.author)}` : ''}</small></td>
  <td data-label="Status">${statusHtml(a)}</td>
  <td data-label="Length" class="num" data-length="${escapeHtml(a.id)}">${escapeHtml(formatDuration(ep?.durationMs))}</td>
  <td data-label="Starts" class="num">${l?.starts ?? 0}</td>
  <td data-label="Finished" class="num">${l?.p100 ?? 0}</td>
</tr>`
    })
    .join('')
  const addForm = canEdit
    ? `<section aria-labelledby="add-h" class="panel">
  <h2 id="add-h">Add an article</h2>
  <form id="add-article" data-api="/api/articles" data-method="POST" data-multipart="1" data-then="add-row">
    <div class="row">
      <div><label for="add-title">Title (optional)</label><input id="add-title" name="title" type="text"></div>
      <div><label for="add-voice">Voice profile</label><select id="add-voice" name="voice" class="wide"><option value="">By language (default)</option>${profiles
        .map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(p.id)} (${escapeHtml(p.language)})</option>`)
        .join('')}</select></div>
    </div>
    <label for="add-url">Article URL (fetched when no text or file is given)</label><input id="add-url" name="url" type="url" placeholder="https://example.com/news/story">
    <label for="add-body">Text, Markdown or HTML</label><textarea id="add-body" name="body" rows="6"></textarea>
    <label for="add-file">…or upload a file (.html, .md, .txt, .json)</label><input id="add-file" name="file" type="file" accept=".html,.htm,.md,.markdown,.txt,.json,text/html,text/markdown,text/plain">
    <p class="actions"><button type="submit">Add and render</button></p>
    <p role="status" aria-live="polite" class="result"></p>
  </form>
</section>`
    : ''
  return `<form method="get" action="/admin" class="row" role="search" aria-label="Articles">
  <div><label for="q">Search</label><input id="q" name="q" type="search" value="${escapeHtml(q)}" placeholder="Title, id, author"></div>
  <div class="shrink"><label for="status">Status</label><select id="status" name="status"><option value="">Any</option>${STATUSES.map(
    (s) => `<option value="${s}"${s === status ? ' selected' : ''}>${s}</option>`,
  ).join('')}</select></div>
  <div class="shrink"><button type="submit">Filter</button></div>
</form>
<p class="muted">${total} article${total === 1 ? '' : 's'}${q || status ? ' match' : ''}.</p>
<table class="cards" id="articles"><thead><tr><th scope="col">Title</th><th scope="col">Status</th><th scope="col" class="num">Length</th><th scope="col" class="num">Starts</th><th scope="col" class="num">Finished</th></tr></thead>
<tbody>${rows}</tbody></table>
${items.length === 0 ? '<p>No articles yet.</p>' : ''}
${addForm}
${feedsSection(deps)}`
}

/** Where the podcast feeds are, which one to submit to directories, and a warning when podcast apps could not reach them. */
function feedsSection(deps: AppDeps): string {
  const { urls } = deps
  const unreachable = publicUrlProblem(urls.base)
  return `<section aria-labelledby="feeds-h">
  <h2 id="feeds-h">Podcast feeds</h2>
  ${unreachable ? `<p class="notice error" role="alert"><strong>Warning:</strong> ${escapeHtml(unreachable)}</p>` : ''}
  <ul>
    <li><a href="${escapeHtml(urls.base)}/feeds/articles.xml">${escapeHtml(urls.base)}/feeds/articles.xml</a>: every article as an episode. <strong>Submit this one</strong> to Apple Podcasts, Spotify and other directories.</li>
    <li><a href="${escapeHtml(urls.feed())}">${escapeHtml(urls.feed())}</a>: briefings only (several stories per episode); submit it as a second show if you publish briefings.</li>
  </ul>
</section>`
}

async function articlePage(ctx: PageContext): Promise<{ title: string; body: string }> {
  const { deps, req, canEdit } = ctx
  const id = String(req.params.id)
  const a = (await deps.store.articles.get(id)) ?? (await deps.store.articles.getByExternalId(id))
  if (!a) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${id}".`)
  const ep = a.episodeId !== null ? await deps.store.episodes.get(a.episodeId) : undefined
  const script = await deps.store.articles.getScript(a.id)
  const profiles = deps.speech.listProfiles()
  const l = (await deps.store.listenStats.forArticle(a.id, { days: 3660 })).totals
  const perDay = (await deps.store.figures.get({ days: 30, articleId: a.id })).days
  const segments = script?.script.segments ?? []
  const scriptHtml = `<ol class="script">${segments
    .map((s) => `<li><span class="kind">${escapeHtml(s.kind)}</span> ${escapeHtml(s.displayText ?? s.text)}</li>`)
    .join('')}</ol>`
  const controls = canEdit
    ? `<section class="panel" aria-labelledby="edit-h"><h2 id="edit-h">Voice and rendering</h2>
  <form data-api="/api/articles/${encodeURIComponent(a.id)}" data-method="PUT" data-then="reload" class="row">
    <div><label for="voice">Voice profile</label><select id="voice" name="voice" class="wide"><option value="">By language (default)</option>${profiles
      .map((p) => `<option value="${escapeHtml(p.id)}"${p.id === a.voice ? ' selected' : ''}>${escapeHtml(p.id)} (${escapeHtml(p.language)}, ${escapeHtml(p.engine)})</option>`)
      .join('')}</select></div>
    <div class="shrink"><button type="submit">Save and re-render</button></div>
    <p role="status" aria-live="polite" class="result"></p>
  </form>
  <div class="actions">
    <button type="button" class="secondary" data-api="/api/articles/${encodeURIComponent(a.id)}" data-method="PUT" data-body="{}" data-then="reload">Re-render</button>
    <button type="button" class="danger" data-api="/api/articles/${encodeURIComponent(a.id)}" data-method="DELETE" data-confirm="Delete “${escapeHtml(a.title)}” and its audio?" data-then="go:/admin">Delete</button>
  </div>
  <p role="status" aria-live="polite" class="result"></p>
</section>`
    : ''
  return { title: a.title, body: `<p><a href="/admin">← Articles</a></p>
<dl class="panel">
  <dt>Status</dt><dd>${statusHtml(a)}${a.error ? `<br><small class="status-failed">${escapeHtml(a.error.code)}: ${escapeHtml(a.error.message)}</small>` : ''}</dd>
  <dt>Length</dt><dd data-length="${escapeHtml(a.id)}">${escapeHtml(formatDuration(ep?.durationMs)) || '—'}</dd>
  <dt>Voice profile</dt><dd>${escapeHtml(a.profileId)}</dd>
  <dt>Published</dt><dd>${escapeHtml(a.publishedAt ?? '—')}</dd>
  <dt>Ids</dt><dd><code>${escapeHtml(a.id)}</code>${a.externalId ? ` · <code>${escapeHtml(a.externalId)}</code>` : ''}</dd>
  <dt>Listens</dt><dd>${l.starts} started, ${l.p100} finished</dd>
</dl>
<h2>Listen</h2>
${ep ? `<audio controls preload="none" src="${escapeHtml(deps.urls.audio(ep))}" aria-label="Episode audio"></audio>` : '<p class="muted">No audio yet.</p>'}
${controls}
<h2>Listening, last 30 days</h2>
<div class="charts">${dailyChart(perDay, 'Per day')}</div>
<h2>The script that is read (${segments.length} segments)</h2>
${scriptHtml}` }
}

async function keysPage(ctx: PageContext): Promise<string> {
  const keys = await ctx.deps.store.accounts.listKeys()
  const when = (t: string | null) => (t ? escapeHtml(t.slice(0, 16).replace('T', ' ')) : 'never')
  return `<p>Give each integration (a CMS, a build job) its own key: revoke one without touching the others. A key is shown once, when it is created; only a hash is kept.</p>
<section class="panel" aria-labelledby="newkey-h"><h2 id="newkey-h">New key</h2>
<form data-api="/api/keys" data-method="POST" data-then="secret" class="row">
  <div><label for="key-name">Name</label><input id="key-name" name="name" type="text" required placeholder="CMS integration"></div>
  <div class="shrink"><label for="key-role">Role</label><select id="key-role" name="role"><option value="editor">editor</option><option value="viewer">viewer</option><option value="admin">admin</option></select></div>
  <div class="shrink"><button type="submit">Create key</button></div>
  <p role="status" aria-live="polite" class="result"></p>
</form></section>
<table class="cards"><thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Key</th><th scope="col">Last used</th><th scope="col">State</th></tr></thead><tbody>
<tr><td data-label="Name">BRIEFCAST_API_KEY <small>(from the settings)</small></td><td data-label="Role">admin</td><td data-label="Key">—</td><td data-label="Last used">—</td><td data-label="State">active</td></tr>
${keys
  .map(
    (k) => `<tr><td data-label="Name">${escapeHtml(k.name)}</td><td data-label="Role">${escapeHtml(k.role)}</td><td data-label="Key"><code>${escapeHtml(k.prefix)}…</code></td><td data-label="Last used">${when(k.lastUsedAt)}</td>
<td data-label="State">${k.revokedAt ? `revoked ${when(k.revokedAt)}` : `<button type="button" class="danger" data-api="/api/keys/${encodeURIComponent(k.id)}" data-method="DELETE" data-confirm="Revoke the key “${escapeHtml(k.name)}”? Integrations using it stop working." data-then="reload">Revoke</button>`}</td></tr>`,
  )
  .join('')}
</tbody></table>`
}

async function usersPage(ctx: PageContext): Promise<string> {
  const users = await ctx.deps.store.accounts.listUsers()
  const roleSelect = (id: string, current: string) =>
    `<select id="${id}" name="role">${['admin', 'editor', 'viewer'].map((r) => `<option value="${r}"${r === current ? ' selected' : ''}>${r}</option>`).join('')}</select>`
  return `<p>Admins manage users, keys and settings; editors articles, briefings, pronunciation and voices; viewers read and see the figures.</p>
<section class="panel" aria-labelledby="newuser-h"><h2 id="newuser-h">Add a user</h2>
<form data-api="/api/users" data-method="POST" data-then="secret" class="row">
  <div><label for="user-name">User name</label><input id="user-name" name="username" type="text" required autocomplete="off"></div>
  <div class="shrink"><label for="user-role">Role</label>${roleSelect('user-role', 'editor')}</div>
  <div class="shrink"><button type="submit">Add user</button></div>
  <p role="status" aria-live="polite" class="result"></p>
</form>
<p class="muted">A password is generated and shown once; hand it over in person or by a password manager.</p></section>
<table class="cards"><thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Last sign-in</th><th scope="col">Actions</th></tr></thead><tbody>
${users
  .map((u, i) => {
    const self = u.username.toLowerCase() === ctx.principal.name.toLowerCase()
    return `<tr><td data-label="User">${escapeHtml(u.username)}${self ? ' <small>(you)</small>' : ''}</td>
<td data-label="Role"><form data-api="/api/users/${encodeURIComponent(u.username)}" data-method="PATCH" data-then="reload" class="actions"><label class="visually-hidden" for="role-${i}">Role of ${escapeHtml(u.username)}</label>${roleSelect(`role-${i}`, u.role)} <button type="submit" class="secondary">Change</button><span role="status" aria-live="polite" class="result"></span></form></td>
<td data-label="Last sign-in">${escapeHtml(u.lastLoginAt?.slice(0, 16).replace('T', ' ') ?? 'never')}</td>
<td data-label="Actions"><div class="actions"><button type="button" class="secondary" data-api="/api/users/${encodeURIComponent(u.username)}/password" data-method="POST" data-body="{}" data-confirm="Set a new password for ${escapeHtml(u.username)}? Their sessions end." data-then="secret">Reset password</button>${
      self ? '' : `<button type="button" class="danger" data-api="/api/users/${encodeURIComponent(u.username)}" data-method="DELETE" data-confirm="Remove ${escapeHtml(u.username)}?" data-then="reload">Remove</button>`
    }</div><span role="status" aria-live="polite" class="result"></span></td></tr>`
  })
  .join('')}
</tbody></table>`
}

async function pronunciationPage(ctx: PageContext): Promise<string> {
  const { deps, req, canEdit } = ctx
  const store = deps.store.lexicons
  const names = [...new Set([...(await store.names()), ...deps.speech.listProfiles().map((p) => lexiconNameFor(p))])].sort()
  const wanted = typeof req.query.language === 'string' ? req.query.language : ''
  const name = names.includes(wanted) ? wanted : names.includes(deps.config.show.language) ? deps.config.show.language : (names[0] ?? 'en')
  const lexicon = await store.get(name)
  const profiles = deps.speech.listProfiles().filter((p) => lexiconNameFor(p) === name)
  const row = (e: { match: string; say: string; caseSensitive?: boolean }, i: number) =>
    canEdit
      ? `<tr>
  <td data-label="Word"><label class="visually-hidden" for="m-${i}">Word</label><input id="m-${i}" name="match" type="text" value="${escapeHtml(e.match)}" required></td>
  <td data-label="Say as"><label class="visually-hidden" for="s-${i}">Say as</label><input id="s-${i}" name="say" type="text" value="${escapeHtml(e.say)}" required></td>
  <td data-label="Case-sensitive"><label class="visually-hidden" for="c-${i}">Case-sensitive</label><input id="c-${i}" name="caseSensitive" type="checkbox"${e.caseSensitive ? ' checked' : ''}></td>
  <td data-label="Actions"><div class="actions"><button type="button" class="secondary" data-hear>Hear it</button><button type="button" class="danger" data-remove-row>Remove</button></div></td>
</tr>`
      : `<tr><td data-label="Word">${escapeHtml(e.match)}</td><td data-label="Say as">${escapeHtml(e.say)}</td><td data-label="Case-sensitive">${e.caseSensitive ? 'yes' : 'no'}</td></tr>`
  return `<p>Words the voices say differently from how they are written: names, brands, abbreviations. Whole words only; case-insensitive unless ticked.</p>
<form method="get" action="/admin/pronunciation" class="row" aria-label="Choose a lexicon">
  <div class="shrink"><label for="language">Lexicon</label><select id="language" name="language">${names.map((n) => `<option value="${escapeHtml(n)}"${n === name ? ' selected' : ''}>${escapeHtml(n)}</option>`).join('')}</select></div>
  <div class="shrink"><button type="submit" class="secondary">Show</button></div>
</form>
<form id="lexicon" data-language="${escapeHtml(name)}">
${
  canEdit
    ? `<div class="row"><div class="shrink"><label for="hear-voice">Hear with</label><select id="hear-voice" name="voice">${(profiles.length ? profiles : deps.speech.listProfiles())
        .map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(p.id)} (${escapeHtml(p.engine)})</option>`)
        .join('')}</select></div></div>`
    : ''
}
<table class="cards" id="lexicon-table"><thead><tr><th scope="col">Word</th><th scope="col">Say as</th><th scope="col">Case-sensitive</th>${canEdit ? '<th scope="col">Actions</th>' : ''}</tr></thead>
<tbody>${lexicon.entries.map(row).join('')}</tbody></table>
${lexicon.entries.length === 0 ? '<p class="muted">No entries yet.</p>' : ''}
${
  canEdit
    ? `<template id="lexicon-row">${row({ match: '', say: '' }, 9999)}</template>
<p class="actions"><button type="button" class="secondary" id="add-entry">Add a word</button><button type="submit">Save</button></p>`
    : ''
}
<div role="status" aria-live="polite" class="result" id="lexicon-result"></div>
</form>
<audio id="preview-audio" controls hidden aria-label="Pronunciation preview"></audio>`
}

async function figuresPage(ctx: PageContext): Promise<string> {
  const { deps, req } = ctx
  const choices = [7, 30, 90]
  const days = choices.includes(Number(req.query.days)) ? Number(req.query.days) : 30
  const f = await deps.store.figures.get({ days, limit: 100 })
  const t = f.totals
  const rows = f.articles
    .map(
      (a) => `<tr><td data-label="Article"><a href="/admin/articles/${encodeURIComponent(a.id)}">${escapeHtml(a.title)}</a></td><td data-label="Length" class="num">${escapeHtml(formatDuration(a.durationMs))}</td>
<td data-label="Started" class="num">${a.starts}</td><td data-label="25 %" class="num">${a.p25}</td><td data-label="50 %" class="num">${a.p50}</td><td data-label="75 %" class="num">${a.p75}</td><td data-label="Finished" class="num">${a.p100}</td><td data-label="Downloads" class="num">${a.downloads}</td></tr>`,
    )
    .join('')
  return `<form method="get" action="/admin/figures" class="row" aria-label="Period">
  <div class="shrink"><label for="days">Period</label><select id="days" name="days">${choices.map((d) => `<option value="${d}"${d === days ? ' selected' : ''}>Last ${d} days</option>`).join('')}</select></div>
  <div class="shrink"><button type="submit" class="secondary">Show</button></div>
  <div class="shrink"><a class="button secondary" href="/api/figures.csv?days=${days}" download>Export CSV</a></div>
</form>
<p>${f.from} to ${f.to} (UTC): <strong>${t.starts}</strong> listens started in the player, <strong>${t.p100}</strong> finished, <strong>${t.downloads}</strong> podcast downloads.</p>
<div class="charts panel">
${dailyChart(f.days, 'Per day')}
${completionChart(t, 'How far listeners got')}
</div>
<p class="muted">Downloads are counted as podcast hosts count them: one per app or browser per episode per day, however many pieces it fetched; bots are left out.</p>
<h2>Per article</h2>
${f.articles.length === 0 ? '<p>No listens or downloads in this period.</p>' : `<table class="cards"><thead><tr><th scope="col">Article</th><th scope="col" class="num">Length</th><th scope="col" class="num">Started</th><th scope="col" class="num">25 %</th><th scope="col" class="num">50 %</th><th scope="col" class="num">75 %</th><th scope="col" class="num">Finished</th><th scope="col" class="num">Downloads</th></tr></thead><tbody>${rows}</tbody></table>`}
<details><summary>Per day, as a table</summary><table class="cards"><thead><tr><th scope="col">Day</th><th scope="col" class="num">Started</th><th scope="col" class="num">Finished</th><th scope="col" class="num">Downloads</th></tr></thead><tbody>${f.days
    .map((d) => `<tr><td data-label="Day">${d.day}</td><td data-label="Started" class="num">${d.starts}</td><td data-label="Finished" class="num">${d.p100}</td><td data-label="Downloads" class="num">${d.downloads}</td></tr>`)
    .join('')}</tbody></table></details>`
}

async function voicesPage(ctx: PageContext): Promise<string> {
  const { deps } = ctx
  const profiles = deps.speech.listProfiles()
  return `<p>Each voice profile names an engine and its voices; articles use the profile of their language unless one is chosen.</p>
<table class="cards"><thead><tr><th scope="col">Profile</th><th scope="col">Engine</th><th scope="col">Language</th><th scope="col">Voices</th><th scope="col">Sample</th></tr></thead><tbody>
${profiles
  .map(
    (p) => `<tr><td data-label="Profile"><strong>${escapeHtml(p.id)}</strong>${p.id === deps.config.defaultVoice ? ' <small>(default)</small>' : ''}${p.description ? `<br><small>${escapeHtml(p.description)}</small>` : ''}</td>
<td data-label="Engine">${escapeHtml(p.engine)}</td><td data-label="Language">${escapeHtml(p.language)}</td>
<td data-label="Voices">${Object.entries(p.voices)
      .filter(([, v]) => v)
      .map(([role, v]) => `${escapeHtml(role)}: ${escapeHtml(v!.name ?? v!.language)}`)
      .join('<br>')}</td>
<td data-label="Sample"><button type="button" class="secondary" data-sample="${escapeHtml(p.id)}" aria-label="Play a sample of ${escapeHtml(p.id)}">▶ Play</button><span role="status" aria-live="polite" class="result"></span></td></tr>`,
  )
  .join('')}
</tbody></table>
<audio id="preview-audio" controls hidden aria-label="Voice sample"></audio>
${await cloudUsage(deps)}`
}

/** Characters sent to cloud speech engines this month (what the bill is made of); cached clips cost nothing. */
async function cloudUsage(deps: AppDeps): Promise<string> {
  const month = usageMonth()
  const usage = await deps.store.usage.list(month)
  const rows = usage.map((u) => `<tr><td data-label="Engine">${escapeHtml(u.engine)}</td><td data-label="Characters" class="num">${u.characters.toLocaleString('en')}</td><td data-label="Requests" class="num">${u.requests.toLocaleString('en')}</td></tr>`).join('')
  return `<h2>Cloud engine characters in ${escapeHtml(month)}</h2>
${rows ? `<table class="cards" id="engine-usage"><thead><tr><th scope="col">Engine</th><th scope="col" class="num">Characters</th><th scope="col" class="num">Requests</th></tr></thead><tbody>${rows}</tbody></table>` : '<p id="engine-usage">None this month: only the local engines spoke.</p>'}`
}

async function briefingsPage(ctx: PageContext): Promise<string> {
  const { deps, canEdit } = ctx
  const rt = feedRuntime(deps)
  const cfg = deps.config.briefing
  const next = rt.schedule?.nextRun()
  const { items } = await rt.service.repo.list({ limit: 20, offset: 0 })
  const episodes = new Map<number, EpisodeRecord>()
  for (const b of items) {
    const ep = b.episodeId !== null ? await deps.store.episodes.get(b.episodeId) : undefined
    if (ep) episodes.set(ep.id, ep)
  }
  const stories = (await rt.service.recentArticles(cfg.lookbackHours)).filter((a) => a.status === 'ready' && isPublicArticle(a))
  const language = deps.config.show.language
  const opening = briefingLocale(language).phrases.opening(deps.config.show.title, spokenDate(new Date(), language, cfg.timeZone))
  const fmtTime = (d: Date) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: cfg.timeZone }).format(d)
  const compose = canEdit
    ? `<section class="panel" aria-labelledby="compose-h"><h2 id="compose-h">Compose a briefing</h2>
<p>The opening: <q id="opening-text">${escapeHtml(opening)}</q> <button type="button" class="secondary" data-hear-text="${escapeHtml(opening)}" data-language="${escapeHtml(language.split('-')[0]!)}">Hear the opening</button><span role="status" aria-live="polite" class="result"></span></p>
${
  stories.length === 0
    ? `<p class="muted">No stories ready from the last ${cfg.lookbackHours} hours.</p>`
    : `<form id="compose">
<fieldset><legend>Stories from the last ${cfg.lookbackHours} hours, in reading order (untick to leave one out)</legend>
<ol>${stories.map((a, i) => `<li><label><input type="checkbox" name="story" value="${escapeHtml(a.id)}" checked> ${escapeHtml(a.title)}</label><input type="hidden" name="order" value="${i}"></li>`).join('')}</ol></fieldset>
<div class="row"><div><label for="b-title">Title (optional)</label><input id="b-title" name="title" type="text" placeholder="${escapeHtml(deps.config.show.title)}: …"></div>
<div class="shrink"><label for="b-mode">Each story</label><select id="b-mode" name="mode"><option value="lede"${cfg.storyMode === 'lede' ? ' selected' : ''}>Its first ${cfg.ledeSeconds} seconds</option><option value="full"${cfg.storyMode === 'full' ? ' selected' : ''}>In full</option></select></div>
<div class="shrink"><button type="submit">Render the briefing</button></div></div>
<p role="status" aria-live="polite" class="result"></p>
</form>`
}
</section>`
    : ''
  return `<p class="panel">Schedule: ${
    cfg.schedule ? `<code>${escapeHtml(cfg.schedule)}</code> (${escapeHtml(cfg.timeZone)}); next run <strong>${next ? escapeHtml(fmtTime(next)) : 'none'}</strong>.` : 'none (set BRIEFCAST_BRIEFING_SCHEDULE, e.g. "0 6 * * *").'
  }</p>
${compose}
<h2>Recent briefings</h2>
${
  items.length === 0
    ? '<p>No briefings yet.</p>'
    : `<table class="cards"><thead><tr><th scope="col">Briefing</th><th scope="col">Status</th><th scope="col" class="num">Length</th><th scope="col">Stories</th></tr></thead><tbody>${items
        .map((b) => {
          const ep = b.episodeId !== null ? episodes.get(b.episodeId) : undefined
          return `<tr><td data-label="Briefing">${escapeHtml(b.title)}<br><small>${escapeHtml(b.origin)} · ${escapeHtml(b.publishedAt.slice(0, 16).replace('T', ' '))}</small></td>
<td data-label="Status"><span class="status status-${escapeHtml(b.status)}">${escapeHtml(b.status)}${b.status === 'rendering' ? ` ${Math.round(b.progress * 100)}%` : ''}</span></td>
<td data-label="Length" class="num">${escapeHtml(formatDuration(ep?.durationMs))}</td><td data-label="Stories">${b.stories.length}</td></tr>`
        })
        .join('')}</tbody></table>`
}
<audio id="preview-audio" controls hidden aria-label="Opening preview"></audio>`
}

export const PAGES: DashboardPage[] = [
  { path: '/admin', title: 'Articles', render: articlesPage },
  { path: '/admin/articles/:id', title: 'Article', render: articlePage },
  { path: '/admin/briefings', title: 'Briefings', render: briefingsPage },
  { path: '/admin/pronunciation', title: 'Pronunciation', render: pronunciationPage },
  { path: '/admin/voices', title: 'Voices', render: voicesPage },
  { path: '/admin/figures', title: 'Listening figures', render: figuresPage },
  { path: '/admin/keys', title: 'API keys', render: keysPage, role: 'admin' },
  { path: '/admin/users', title: 'Users', render: usersPage, role: 'admin' },
  { path: '/admin/sources', title: 'Sources', render: sourcesPage },
  { path: '/admin/settings', title: 'Settings', render: settingsPage, role: 'admin' },
]

function loginPage(showTitle: string, o: { error?: string; next?: string; username?: string } = {}): string {
  return page({
    title: 'Sign in',
    showTitle,
    body: `<div class="login panel">
${o.error ? `<p class="notice error" role="alert">${escapeHtml(o.error)}</p>` : ''}
<form method="post" action="/admin/login">
  <input type="hidden" name="next" value="${escapeHtml(o.next ?? '/admin')}">
  <label for="username">User name</label><input id="username" name="username" type="text" autocomplete="username" required value="${escapeHtml(o.username ?? '')}">
  <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
  <p><button type="submit">Sign in</button></p>
</form></div>`,
  })
}

/** Only our own dashboard paths: a `next` pointing elsewhere would make the login an open redirect. */
const safeNext = (n: unknown) => (typeof n === 'string' && /^\/admin(\/[A-Za-z0-9/_\-.%?=&]*)?$/.test(n) && !n.startsWith('//') ? n : '/admin')

export function dashboardRouter(deps: AppDeps, extraPages: DashboardPage[] = []): express.Router {
  const router = express.Router()
  const limiter = new LoginLimiter(deps.config.admin.loginMaxFailures, 60_000)
  const repo = deps.store.accounts
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 })
  // Per request: the show title is a run-time setting (src/admin/settings.ts).
  const showTitle = () => deps.config.show.title

  const headers: express.RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', ADMIN_CSP)
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('X-Frame-Options', 'DENY')
    res.setHeader('Referrer-Policy', 'same-origin')
    next()
  }
  router.use('/admin', headers)

  router.get('/admin/assets/admin.css', (_req, res) => {
    res.type('text/css').setHeader('Cache-Control', 'no-cache')
    res.send(ADMIN_CSS)
  })
  router.get('/admin/assets/admin.js', (_req, res) => {
    res.type('text/javascript').setHeader('Cache-Control', 'no-cache')
    res.send(ADMIN_CLIENT_JS)
  })

  router.get('/admin/login', async (req, res) => {
    if ((await identify(deps, req))?.kind === 'session') return res.redirect(303, safeNext(req.query.next))
    res.type('html').send(loginPage(showTitle(), { next: safeNext(req.query.next) }))
  })

  router.post('/admin/login', form, async (req, res) => {
    // Login CSRF: a form on another site must not sign a browser in to an account of the attacker's choosing.
    const origin = req.get('origin')
    if (origin !== undefined && origin !== new URL(deps.config.publicUrl).origin && origin !== `${req.protocol}://${req.get('host')}`)
      throw new AppError('CSRF_FAILED', `A sign-in from ${origin} is not accepted here.`)
    const body = (req.body ?? {}) as Record<string, unknown>
    const username = typeof body.username === 'string' ? body.username.trim().slice(0, 64) : ''
    const password = typeof body.password === 'string' ? body.password : ''
    const next = safeNext(body.next)
    const keys = [`ip:${req.socket.remoteAddress ?? ''}`, `user:${username.toLowerCase()}`]
    try {
      limiter.check(keys)
    } catch (err) {
      const e = toAppError(err)
      const retryAfter = (e.details as { retryAfter?: number } | undefined)?.retryAfter ?? 60
      res.setHeader('Retry-After', String(retryAfter))
      deps.logger.warn({ username, ip: req.socket.remoteAddress }, 'sign-in refused: too many wrong passwords')
      res.status(429).type('html').send(loginPage(showTitle(), { error: e.message, next, username }))
      return
    }
    const user = username && password ? await repo.verifyLogin(username, password) : undefined
    if (!user) {
      limiter.fail(keys)
      deps.logger.info({ username, ip: req.socket.remoteAddress }, 'sign-in failed')
      res.status(401).type('html').send(loginPage(showTitle(), { error: 'Wrong user name or password.', next, username }))
      return
    }
    limiter.succeed([`user:${username.toLowerCase()}`])
    const ttlMs = deps.config.admin.sessionHours * 3_600_000
    const session = await repo.createSession(user.id, ttlMs)
    deps.logger.info({ username: user.username }, 'signed in')
    res.setHeader('Set-Cookie', sessionCookie(deps, session.token, Math.floor(ttlMs / 1000)))
    res.redirect(303, next)
  })

  router.post('/admin/logout', form, async (req, res) => {
    const p = await identify(deps, req)
    if (p?.kind === 'session') {
      checkCsrf(deps, req, p)
      const token = parseCookies(req.get('cookie'))[sessionCookieName(deps)]
      if (token) await repo.endSession(token)
    }
    res.setHeader('Set-Cookie', sessionCookie(deps, '', 0))
    res.redirect(303, '/admin/login')
  })

  for (const def of [...PAGES, ...extraPages]) {
    router.get(def.path, async (req, res) => {
      const principal = await identify(deps, req)
      if (!principal || principal.kind !== 'session') return res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`)
      if (def.role && principal.role !== def.role) {
        res.status(403).type('html').send(page({ title: 'Not allowed', showTitle: showTitle(), principal, body: `<p class="notice error">This page is for ${escapeHtml(def.role)}s; you are ${escapeHtml(principal.role)}.</p>` }))
        return
      }
      const ctx: PageContext = { deps, req, principal, canEdit: principal.role !== 'viewer' }
      let body: string
      let title = def.title
      try {
        const out = await def.render(ctx)
        if (typeof out === 'string') body = out
        else ({ title, body } = out)
      } catch (err) {
        const e = toAppError(err)
        if (e.status >= 500) throw err
        res.status(e.status).type('html').send(page({ title: 'Not found', showTitle: showTitle(), principal, body: `<p class="notice error">${escapeHtml(e.message)}</p>` }))
        return
      }
      res.type('html').send(page({ title, showTitle: showTitle(), principal, current: def.path.startsWith('/admin/articles/') ? '/admin' : def.path, body }))
    })
  }
  return router
}
