/**
 * A source's documents -> the stories they carry. Feeds (RSS 2.0, Atom, RDF,
 * JSON Feed) go through feedsmith; sitemaps (index, plain and Google News)
 * through fast-xml-parser. Nothing here fetches: src/sources/poller.ts does.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { parseFeed } from 'feedsmith'
import { AppError } from '../errors.ts'
import { sha256 } from '../util/files.ts'

export interface SourceEntry {
  /** The item's guid / id, else its link: what the story is known by in this source. */
  key: string
  link: string | null
  title: string | null
  /** The item's full content (HTML), when it carries one. */
  html: string | null
  summary: string | null
  categories: string[]
  publishedAt: string | null
  updatedAt: string | null
  author: string | null
  language: string | null
}

export type ParsedSource = { kind: 'entries'; entries: SourceEntry[] } | { kind: 'sitemap-index'; sitemaps: string[] }

const text = (v: unknown): string | null => {
  if (v === undefined || v === null) return null
  if (typeof v === 'string') return v.trim() || null
  if (typeof v === 'number') return String(v)
  if (typeof v === 'object' && 'value' in (v as object)) return text((v as { value: unknown }).value)
  return null
}
const isoDate = (v: unknown): string | null => {
  const s = text(v)
  if (!s) return null
  const t = Date.parse(s)
  return Number.isNaN(t) ? null : new Date(t).toISOString()
}
const absolute = (href: string | null, base: string): string | null => {
  if (!href) return null
  try {
    const u = new URL(href, base)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null
  } catch {
    return null
  }
}

function entry(e: Omit<SourceEntry, 'key'> & { id: string | null }): SourceEntry | undefined {
  const key = e.id ?? e.link
  if (!key) return undefined
  const { id: _id, ...rest } = e
  return { key, ...rest }
}

type Obj = Record<string, unknown>
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : v && typeof v === 'object' ? [v as Obj] : [])

/** Parse a feed or sitemap body; MALFORMED_SOURCE when it is neither. */
export function parseSourceDocument(body: Buffer, contentType: string, url: string): ParsedSource {
  const textBody = body.toString('utf8').replace(/^\uFEFF/, '')
  const head = textBody.slice(0, 2000)
  if (/<(urlset|sitemapindex)[\s>]/.test(head)) return parseSitemap(textBody, url)
  let parsed: ReturnType<typeof parseFeed>
  try {
    const input: unknown = /json/i.test(contentType) || /^\s*[{[]/.test(textBody) ? JSON.parse(textBody) : textBody
    parsed = parseFeed(input as string)
  } catch (err) {
    throw new AppError('MALFORMED_SOURCE', `${url} is not an RSS, Atom or JSON feed, nor a sitemap: ${(err as Error).message}.`, { cause: err })
  }
  const entries: SourceEntry[] = []
  if (parsed.format === 'rss' || parsed.format === 'rdf') {
    for (const raw of arr((parsed.feed as Obj).items)) {
      const i = raw as Obj & { guid?: { value?: string }; content?: { encoded?: string }; dc?: Obj; categories?: Obj[] }
      const link = absolute(text(i.link), url)
      const e = entry({
        id: text(i.guid?.value) ?? null,
        link,
        title: text(i.title),
        html: text(i.content?.encoded),
        summary: text(i.description),
        categories: arr(i.categories).map((c) => text(c.name)).filter((c): c is string => Boolean(c)),
        publishedAt: isoDate(i.pubDate) ?? isoDate(i.dc?.date),
        updatedAt: null,
        author: text(i.dc?.creator) ?? text(i.author),
        language: text(i.dc?.language),
      })
      if (e) entries.push(e)
    }
  } else if (parsed.format === 'atom') {
    for (const raw of arr((parsed.feed as Obj).entries)) {
      const i = raw as Obj & { links?: { href?: string; rel?: string }[]; authors?: { name?: string }[]; categories?: { term?: string; label?: string }[] }
      const links = i.links ?? []
      const link = absolute((links.find((l) => !l.rel || l.rel === 'alternate') ?? links[0])?.href ?? null, url)
      const e = entry({
        id: text(i.id),
        link,
        title: text(i.title),
        html: text(i.content),
        summary: text(i.summary),
        categories: (i.categories ?? []).map((c) => c.term ?? c.label ?? '').filter(Boolean),
        publishedAt: isoDate(i.published) ?? isoDate(i.updated),
        updatedAt: isoDate(i.updated),
        author: text(i.authors?.[0]?.name),
        language: null,
      })
      if (e) entries.push(e)
    }
  } else {
    const feed = parsed.feed as Obj & { language?: string }
    for (const raw of arr(feed.items)) {
      const i = raw as Obj & { tags?: string[]; authors?: { name?: string }[]; author?: { name?: string } }
      const html = text(i.content_html) ?? (text(i.content_text) ? escapeText(text(i.content_text)!) : null)
      const e = entry({
        id: text(i.id),
        link: absolute(text(i.url), url),
        title: text(i.title),
        html,
        summary: text(i.summary),
        categories: (i.tags ?? []).filter((t) => typeof t === 'string'),
        publishedAt: isoDate(i.date_published),
        updatedAt: isoDate(i.date_modified),
        author: text(i.authors?.[0]?.name) ?? text(i.author?.name),
        language: text(i.language) ?? text(feed.language),
      })
      if (e) entries.push(e)
    }
  }
  return { kind: 'entries', entries }
}

function escapeText(s: string): string {
  return s
    .split(/\n\s*\n/)
    .map((p) => `<p>${p.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!)}</p>`)
    .join('\n')
}

const sitemapParser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === 'url' || name === 'sitemap',
})

/** A sitemap index (its sitemaps' URLs) or a urlset (one story per <url>, Google News fields when present). */
export function parseSitemap(xml: string, url: string): ParsedSource {
  // A DTD may declare entities that expand without bound; sitemaps never need one.
  if (/<!DOCTYPE/i.test(xml.slice(0, 4000))) throw new AppError('MALFORMED_SOURCE', `${url}: sitemaps must not carry a DOCTYPE.`)
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw new AppError('MALFORMED_SOURCE', `${url} is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}).`)
  const doc = sitemapParser.parse(xml) as { sitemapindex?: { sitemap?: Obj[] }; urlset?: { url?: Obj[] } }
  if (doc.sitemapindex) {
    const sitemaps = arr(doc.sitemapindex.sitemap).map((s) => absolute(text(s.loc), url)).filter((s): s is string => Boolean(s))
    return { kind: 'sitemap-index', sitemaps }
  }
  const entries: SourceEntry[] = []
  for (const u of arr(doc.urlset?.url)) {
    const link = absolute(text(u.loc), url)
    if (!link) continue
    const news = (u.news ?? {}) as Obj & { publication?: Obj }
    const keywords = text(news.keywords)
    entries.push({
      key: link,
      link,
      title: text(news.title),
      html: null,
      summary: null,
      categories: keywords ? keywords.split(',').map((k) => k.trim()).filter(Boolean) : [],
      publishedAt: isoDate(news.publication_date) ?? isoDate(u.lastmod),
      updatedAt: isoDate(u.lastmod),
      author: null,
      language: text(news.publication?.language),
    })
  }
  return { kind: 'entries', entries }
}

/** Whether the item's own content is the whole story (else the page at its link is fetched). */
export function holdsWholeStory(e: SourceEntry): boolean {
  if (!e.html) return false
  const plain = e.html.replace(/<[^>]*>/g, ' ').replace(/&[a-z#0-9]+;/gi, ' ').replace(/\s+/g, ' ').trim()
  if (!e.link) return plain.length > 0
  // Teasers: short, or cut off with an ellipsis or a "read more" link.
  if (plain.length < 400) return false
  return !/(\u2026|\.\.\.|\[\u2026\]|\[\.\.\.\]|read more|continue reading|weiterlesen)\s*\W*$/i.test(plain)
}

/** Changes whenever anything we would ingest changes; equal fingerprints cost nothing. */
export function entryFingerprint(e: SourceEntry): string {
  return sha256(JSON.stringify([e.title, e.link, e.html, e.summary, e.publishedAt, e.updatedAt, e.author, e.categories]))
}

export interface SourceRules {
  include?: { categories?: string[]; paths?: string[] }
  exclude?: { categories?: string[]; paths?: string[] }
}

function matches(e: SourceEntry, rule: { categories?: string[]; paths?: string[] } | undefined): boolean | undefined {
  if (!rule || ((rule.categories?.length ?? 0) === 0 && (rule.paths?.length ?? 0) === 0)) return undefined
  const cats = new Set(e.categories.map((c) => c.toLowerCase()))
  if (rule.categories?.some((c) => cats.has(c.toLowerCase()))) return true
  let pathname = ''
  try {
    pathname = e.link ? new URL(e.link).pathname : ''
  } catch {}
  return Boolean(pathname && rule.paths?.some((p) => globToRegExp(p).test(pathname)))
}

/** "/sport/*" and "/sport/" both match everything under /sport/; "*" matches within and across segments. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')
  return new RegExp(`^${escaped}${glob.endsWith('/') ? '.*' : ''}$`)
}

/** The include rule (when given) must match, and the exclude rule must not. */
export function entryAllowed(e: SourceEntry, rules: SourceRules): boolean {
  if (matches(e, rules.exclude) === true) return false
  const inc = matches(e, rules.include)
  return inc === undefined || inc
}
