/** A news site on 127.0.0.1:0 for source tests: feeds and pages the test edits, with real ETag / Last-Modified handling. */
import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Doc {
  body: string
  type: string
}

export interface Site {
  url: string
  docs: Map<string, Doc>
  /** Requests per path, and how many were answered 304. */
  hits: Map<string, { total: number; notModified: number }>
  close(): Promise<void>
}

export async function startSite(): Promise<Site> {
  const docs = new Map<string, Doc>()
  const hits = new Map<string, { total: number; notModified: number }>()
  const lastModified = new Map<string, string>()
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname
    const h = hits.get(p) ?? { total: 0, notModified: 0 }
    hits.set(p, h)
    h.total++
    if (p === '/broken/500.xml') return res.writeHead(500).end('oops')
    if (p === '/broken/loop.xml') return res.writeHead(302, { location: '/broken/loop.xml' }).end()
    if (p === '/broken/slow.xml') return void setTimeout(() => res.writeHead(200, { 'content-type': 'application/rss+xml' }).end('<rss/>'), 5000)
    if (p === '/broken/huge.xml') {
      res.writeHead(200, { 'content-type': 'application/rss+xml' })
      const chunk = Buffer.alloc(1024 * 1024, 'a')
      let n = 0
      const write = () => {
        while (n < 20) {
          n++
          if (!res.write(chunk)) return void res.once('drain', write)
        }
        res.end()
      }
      res.on('error', () => {})
      return write()
    }
    const doc = docs.get(p)
    if (!doc) return res.writeHead(404).end('not found')
    const etag = `"${createHash('sha256').update(doc.body).digest('hex').slice(0, 16)}"`
    const key = `${p} ${etag}`
    if (!lastModified.has(key)) lastModified.set(key, new Date(Math.floor(Date.now() / 1000) * 1000).toUTCString())
    const lm = lastModified.get(key)!
    if (req.headers['if-none-match'] === etag) {
      h.notModified++
      return res.writeHead(304, { etag, 'last-modified': lm }).end()
    }
    res.writeHead(200, { 'content-type': doc.type, etag, 'last-modified': lm }).end(doc.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    docs,
    hits,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    }),
  }
}

export interface Story {
  id: string
  title: string
  body: string
  date: string
  category?: string
  /** The feed carries only a teaser; the full text is on the page. */
  teaser?: boolean
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
const html = (s: Story) => s.body.split('\n\n').map((p) => `<p>${esc(p)}</p>`).join('\n')

export function pageHtml(s: Story, site: string): string {
  return `<!doctype html><html lang="en"><head><title>${esc(s.title)}</title><link rel="canonical" href="${site}/news/${s.id}"></head>
<body><header><nav>Home · News · Sport</nav></header><main><article><h1>${esc(s.title)}</h1>${html(s)}</article></main><footer>© Example</footer></body></html>`
}

export function rss(site: string, stories: Story[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Example News</title><link>${site}/</link><description>News</description>
${stories
  .map(
    (s) => `<item><title>${esc(s.title)}</title><link>${site}/news/${s.id}</link><guid isPermaLink="false">${s.id}</guid>
<pubDate>${new Date(s.date).toUTCString()}</pubDate>${s.category ? `<category>${esc(s.category)}</category>` : ''}<dc:creator>Reporter</dc:creator>
<description>${esc(s.body.slice(0, 120))}…</description>${s.teaser ? '' : `<content:encoded><![CDATA[${html(s)}]]></content:encoded>`}</item>`,
  )
  .join('\n')}
</channel></rss>`
}

export function atom(site: string, stories: Story[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example Atom</title><id>${site}/atom</id><updated>2026-12-01T00:00:00Z</updated>
${stories
  .map(
    (s) => `<entry><title>${esc(s.title)}</title><id>${site}/news/${s.id}</id><link rel="alternate" href="${site}/news/${s.id}"/>
<published>${s.date}</published><updated>${s.date}</updated>${s.category ? `<category term="${esc(s.category)}"/>` : ''}
<author><name>Reporter</name></author><content type="html">${esc(html(s))}</content></entry>`,
  )
  .join('\n')}
</feed>`
}

export function jsonFeed(site: string, stories: Story[]): string {
  return JSON.stringify({
    version: 'https://jsonfeed.org/version/1.1',
    title: 'Example JSON',
    home_page_url: `${site}/`,
    items: stories.map((s) => ({ id: `json-${s.id}`, url: `${site}/news/${s.id}`, title: s.title, content_html: html(s), date_published: s.date, tags: s.category ? [s.category] : [] })),
  })
}

export function sitemapIndex(site: string, maps: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
${maps.map((m) => `<sitemap><loc>${site}${m}</loc></sitemap>`).join('')}</sitemapindex>`
}

export function newsSitemap(site: string, stories: Story[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
${stories
  .map(
    (s) => `<url><loc>${site}/news/${s.id}</loc><news:news><news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>
<news:publication_date>${s.date}</news:publication_date><news:title>${esc(s.title)}</news:title>${s.category ? `<news:keywords>${esc(s.category)}</news:keywords>` : ''}</news:news></url>`,
  )
  .join('\n')}
</urlset>`
}

/** A story long enough to count as whole (several paragraphs). */
export function story(id: string, title: string, date: string, extra: Partial<Story> = {}): Story {
  const body = Array.from({ length: 4 }, (_, i) => `${title} is reported here, paragraph ${i + 1}. The council met on Tuesday and agreed to review the plan again next month after residents asked questions.`).join('\n\n')
  return { id, title, body, date, ...extra }
}
