/**
 * The home page: articles with their status and a Listen button, a form to
 * paste or upload an article (the API key is asked for once and kept in
 * localStorage), the feed URL and the embed snippet. Server-rendered HTML,
 * everything escaped; a small script (served from /home.js so a strict
 * Content-Security-Policy holds) handles the form and the key.
 */
import express from 'express'
import type { ArticleRecord, EpisodeRecord } from '../../store/types.ts'
import type { AppDeps } from '../deps.ts'
import { publicUrlProblem } from '../urls.ts'
import { embedSnippets } from '../player/snippet.ts'
import { isPublic } from '../../sources/embargo.ts'
import type { ListenCounts } from '../../store/stats.ts'
import { voicesSection } from './voices.ts'

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; media-src 'self' blob: data: *; img-src 'self' data:; frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const formatDuration = (ms: number | null | undefined) => {
  if (!ms) return ''
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

function row(deps: AppDeps, a: ArticleRecord, ep: EpisodeRecord | undefined, listens?: ListenCounts): string {
  const status = a.status === 'rendering' ? `rendering ${Math.round(a.progress * 100)}%` : a.status
  const listen = deps.urls.listen(a.id)
  return `<tr>
  <td><strong>${escapeHtml(a.title)}</strong><br><small>${escapeHtml(a.id)}${a.externalId ? ` · ${escapeHtml(a.externalId)}` : ''}${a.author ? ` · ${escapeHtml(a.author)}` : ''} · voice ${escapeHtml(a.profileId)}</small></td>
  <td><span class="status status-${escapeHtml(a.status)}" data-info="${escapeHtml(deps.urls.info(a.id))}">${escapeHtml(status)}</span>${a.status === 'failed' && a.error ? `<br><small>${escapeHtml(a.error.code)}</small>` : ''}</td>
  <td>${escapeHtml(formatDuration(ep?.durationMs))}</td>
  <td>${listens ? `${listens.starts}<br><small>${listens.p100} finished</small>` : '0'}</td>
  <td><button type="button" class="listen" data-src="${escapeHtml(listen)}" aria-label="Listen to ${escapeHtml(a.title)}">▶ Listen</button>
      <a href="${escapeHtml(deps.urls.embed(a.id))}">embed</a> · <a href="${escapeHtml(deps.urls.info(a.id))}">info</a></td>
</tr>`
}

export function homeRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  router.get('/home.js', (_req, res) => {
    res.type('text/javascript').setHeader('Cache-Control', 'no-cache')
    res.send(HOME_JS)
  })
  router.get('/', async (_req, res) => {
    const page = await deps.store.articles.list({ limit: 50, offset: 0 })
    // Embargoed articles are not public yet (src/sources/embargo.ts); the admin API lists them.
    const items = page.items.filter((a) => isPublic(a))
    const total = page.total - (page.items.length - items.length)
    const voices = await voicesSection(deps)
    const listens = await deps.store.listenStats.totalsFor(items.map((a) => a.id))
    const episodes = await Promise.all(items.map((a) => (a.episodeId !== null ? deps.store.episodes.get(a.episodeId) : undefined)))
    const { urls, config } = deps
    const unreachable = publicUrlProblem(urls.base)
    const exampleId = items[0]?.id ?? 'ARTICLE_ID'
    const { script: snippet, iframe } = embedSnippets(urls, exampleId)
    res.setHeader('Content-Security-Policy', CSP)
    res.setHeader('Cache-Control', 'no-store')
    res.type('html').send(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(config.show.title)} · briefcast</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  .status-ready { color: #0a6b2b; } .status-failed { color: #a40000; } .status-rendering, .status-queued { color: #7a5600; }
  pre { background: #f4f4f4; padding: .75rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
  fieldset { border: 1px solid #ccc; margin: 1rem 0; } label { display: block; margin: .5rem 0 .25rem; }
  input[type=text], input[type=url], input[type=password], textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; }
  button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
  #result { white-space: pre-wrap; }
  .warning { background: #fff4d6; border: 1px solid #c99a00; padding: .75rem; }
</style>
</head>
<body>
<header><h1>${escapeHtml(config.show.title)}</h1><p>${escapeHtml(config.show.description)}</p></header>
<main>
<section aria-labelledby="articles-h">
  <h2 id="articles-h">Articles <small>(${total})</small></h2>
  ${items.length === 0 ? '<p>No articles yet: add one below.</p>' : `<table><thead><tr><th scope="col">Title</th><th scope="col">Status</th><th scope="col">Length</th><th scope="col">Listens</th><th scope="col">Listen</th></tr></thead><tbody>${items.map((a, i) => row(deps, a, episodes[i], listens.get(a.id))).join('')}</tbody></table>`}
  <audio id="audio" controls preload="none" hidden></audio>
</section>
<section aria-labelledby="add-h">
  <h2 id="add-h">Add an article</h2>
  <form id="add-form">
    <fieldset><legend>API key</legend>
      <label for="api-key">API key (kept in this browser only)</label>
      <input id="api-key" type="password" autocomplete="off" required>
    </fieldset>
    <label for="title">Title (optional)</label><input id="title" name="title" type="text">
    <label for="url">Article URL (fetched when no text or file is given)</label><input id="url" name="url" type="url" placeholder="https://example.com/news/story">
    <label for="body">Text, Markdown or HTML</label><textarea id="body" name="body" rows="8"></textarea>
    <label for="file">…or upload a file (.html, .md, .txt)</label><input id="file" name="file" type="file" accept=".html,.htm,.md,.markdown,.txt,.json,text/html,text/markdown,text/plain">
    <p><button type="submit">Add and render</button></p>
    <p id="result" role="status" aria-live="polite"></p>
  </form>
</section>
${voices}
<section aria-labelledby="feed-h">
  <h2 id="feed-h">Podcast feeds</h2>
  ${unreachable ? `<p class="warning" role="alert"><strong>Warning:</strong> ${escapeHtml(unreachable)}</p>` : ''}
  <ul>
    <li><a href="${escapeHtml(urls.base)}/feeds/articles.xml">${escapeHtml(urls.base)}/feeds/articles.xml</a>: every article as an episode. <strong>Submit this one</strong> to Apple Podcasts, Spotify and other directories.</li>
    <li><a href="${escapeHtml(urls.feed())}">${escapeHtml(urls.feed())}</a>: briefings only (several stories per episode); submit it as a second show if you publish briefings.</li>
  </ul>
</section>
<section aria-labelledby="embed-h">
  <h2 id="embed-h">Embed the player</h2>
  <p>Add this to an article page (the article attribute is the article's id):</p>
  <pre><code>${escapeHtml(snippet)}</code></pre>
  <p>Or use an iframe:</p>
  <pre><code>${escapeHtml(iframe)}</code></pre>
</section>
</main>
<script src="/home.js" defer></script>
</body>
</html>`)
  })
  return router
}

const HOME_JS = `'use strict'
;(function () {
  var KEY = 'briefcast.apiKey'
  var keyInput = document.getElementById('api-key')
  try { keyInput.value = localStorage.getItem(KEY) || '' } catch (e) {}
  var audio = document.getElementById('audio')
  document.querySelectorAll('button.listen').forEach(function (b) {
    b.addEventListener('click', function () {
      audio.hidden = false
      audio.src = b.getAttribute('data-src')
      audio.play().catch(function () {})
    })
  })
  // Live status for articles still rendering.
  function poll(el) {
    fetch(el.getAttribute('data-info')).then(function (r) { return r.json() }).then(function (info) {
      el.className = 'status status-' + info.status
      el.textContent = info.status === 'rendering' ? 'rendering ' + Math.round(info.progress * 100) + '%' : info.status
      if (info.status === 'queued' || info.status === 'rendering') setTimeout(function () { poll(el) }, 2000)
    }).catch(function () {})
  }
  document.querySelectorAll('.status-queued, .status-rendering').forEach(function (el) { setTimeout(function () { poll(el) }, 1000) })
  var form = document.getElementById('add-form')
  var result = document.getElementById('result')
  form.addEventListener('submit', function (ev) {
    ev.preventDefault()
    var key = keyInput.value.trim()
    try { localStorage.setItem(KEY, key) } catch (e) {}
    var fd = new FormData()
    var title = document.getElementById('title').value.trim()
    var url = document.getElementById('url').value.trim()
    var body = document.getElementById('body').value
    var file = document.getElementById('file').files[0]
    if (title) fd.append('title', title)
    if (url) fd.append('url', url)
    if (file) fd.append('file', file)
    else if (body.trim()) fd.append(/^\\s*</.test(body) ? 'html' : 'markdown', body)
    result.textContent = 'Sending…'
    fetch('/api/articles', { method: 'POST', headers: { Authorization: 'Bearer ' + key }, body: fd })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j } }) })
      .then(function (r) {
        if (!r.ok) { result.textContent = 'Error: ' + r.body.error.code + ': ' + r.body.error.message; return }
        result.textContent = 'Added "' + r.body.title + '" (' + r.body.id + '). Rendering; reload to see its status.'
        form.reset()
        keyInput.value = key
      })
      .catch(function (e) { result.textContent = 'Error: ' + e.message })
  })
})()
`
