/**
 * The public home page: the show, its feeds, how to embed the player, and the
 * latest published episodes. Nothing private: no ids of unpublished work, no
 * embargoed or failed stories, no counts. The newsroom's list is at /admin.
 */
import express from 'express'
import { escapeHtml, formatDuration } from '../admin/layout.ts'
import type { AppDeps } from '../deps.ts'
import { embedSnippets } from '../player/snippet.ts'
import { isPublicArticle } from './listen.ts'

const CSP = "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; media-src 'self'; img-src 'self' data: https:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

export function homeRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  router.get('/', async (_req, res) => {
    const { urls, config } = deps
    const latest = (await deps.store.episodes.listPublished({ limit: 30 }))
      .filter(({ article }) => isPublicArticle(article))
      .slice(0, 10)
    const { script: snippet, iframe } = embedSnippets(urls, latest[0]?.article.id ?? 'ARTICLE_ID')
    res.setHeader('Content-Security-Policy', CSP)
    res.setHeader('Cache-Control', 'public, max-age=60')
    res.type('html').send(`<!doctype html>
<html lang="${escapeHtml(config.show.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(config.show.title)}</title>
<link rel="alternate" type="application/rss+xml" title="${escapeHtml(config.show.title)}" href="${escapeHtml(urls.feed())}">
<style>
  :root { color-scheme: light dark; --muted: #5a5a66; --line: #d9d9e0; --panel: #f5f5f8; --accent: #1d4ed8; }
  @media (prefers-color-scheme: dark) { :root { --muted: #a9a9b6; --line: #34343d; --panel: #1d1d23; --accent: #8ab4ff; } body { background: #121216; color: #ececf1; } }
  body { font: 17px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 44rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; overflow-wrap: anywhere; }
  a { color: var(--accent); } h1 { margin-bottom: .25rem; } .lede { font-size: 1.15rem; color: var(--muted); margin-top: 0; }
  ul.feeds, ol.episodes { padding-left: 1.2rem; } ol.episodes li { margin: 1rem 0; } audio { width: 100%; margin-top: .3rem; }
  pre { background: var(--panel); border: 1px solid var(--line); padding: .75rem; white-space: pre-wrap; word-break: break-all; font-size: .85rem; }
  footer { margin-top: 3rem; border-top: 1px solid var(--line); padding-top: 1rem; color: var(--muted); font-size: .9rem; }
</style>
</head>
<body>
<header><h1>${escapeHtml(config.show.title)}</h1><p class="lede">${escapeHtml(config.show.description)}</p>
${config.show.siteUrl ? `<p><a href="${escapeHtml(config.show.siteUrl)}">Read the stories on our site</a></p>` : ''}</header>
<main>
<section aria-labelledby="feeds-h">
  <h2 id="feeds-h">Subscribe</h2>
  <p>Add a feed to your podcast app:</p>
  <ul class="feeds">
    <li><a href="${escapeHtml(urls.feed())}">Daily briefings</a> <small>${escapeHtml(urls.feed())}</small></li>
    <li><a href="${escapeHtml(`${urls.base}/feeds/articles.xml`)}">Every article</a> <small>${escapeHtml(`${urls.base}/feeds/articles.xml`)}</small></li>
  </ul>
</section>
<section aria-labelledby="latest-h">
  <h2 id="latest-h">Latest episodes</h2>
  ${
    latest.length === 0
      ? '<p>No episodes yet.</p>'
      : `<ol class="episodes">${latest
          .map(
            ({ article, episode }) =>
              `<li><strong>${escapeHtml(article.title)}</strong> <small>${escapeHtml(formatDuration(episode.durationMs))}</small><br><audio controls preload="none" src="${escapeHtml(urls.audio(episode))}" aria-label="Listen to ${escapeHtml(article.title)}"></audio></li>`,
          )
          .join('')}</ol>`
  }
</section>
<section aria-labelledby="embed-h">
  <h2 id="embed-h">The player on your pages</h2>
  <p>Add this to an article page (the article attribute is the article's id or your CMS id):</p>
  <pre><code>${escapeHtml(snippet)}</code></pre>
  <p>Or use an iframe:</p>
  <pre><code>${escapeHtml(iframe)}</code></pre>
</section>
</main>
<footer><p>Audio made with briefcast. <a href="/admin">Newsroom sign-in</a></p></footer>
</body>
</html>`)
  })
  return router
}
