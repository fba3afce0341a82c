/**
 * Podcast RSS as a pure function: show metadata + items -> XML string.
 *
 * Built with the `podcast` package (RSS 2.0 + itunes namespace), plus the
 * Podcasting 2.0 tags podcast:guid (channel), podcast:transcript and
 * podcast:chapters (items): https://github.com/Podcastindex-org/podcast-namespace
 *
 * Every string goes through xmlSafeText/xmlSafeLine first (see text.ts for the
 * exact rules), so any article title or body gives well-formed XML 1.0.
 * Titles are single-line plain text in CDATA; descriptions are escaped HTML
 * (paragraphs in <p>) in CDATA, with the same text as plain text in
 * itunes:summary.
 */
import { randomUUID } from 'node:crypto'
import { Podcast, type FeedOptions, type ItemOptions } from 'podcast'
import type { Chapter } from '../episodes/types.ts'
import { clockTime } from '../audio/transcript.ts'
import { podcastGuid } from './guid.ts'
import { escapeHtml, xmlSafeLine, xmlSafeText } from './text.ts'

/** Show metadata: the shape of config.show. */
export interface FeedShow {
  title: string
  description: string
  language: string
  author: string
  ownerName: string
  ownerEmail: string
  /** Apple Podcasts category; "News > Daily News" gives a subcategory. */
  category: string
  explicit: boolean
  /** Cover art, 1400-3000 px square JPEG or PNG. */
  imageUrl?: string
  siteUrl?: string
  /** podcast:guid; derived from the feed URL when unset. */
  guid?: string
  /** podcast:locked: other platforms must not import the feed without the owner's e-mail confirming. */
  locked?: boolean
}

export interface FeedItem {
  /** Stable for the life of the episode (never derived from the audio): e.g. `briefcast:article:<id>`. */
  guid: string
  title: string
  /** Plain text; written as escaped HTML paragraphs in <description> and as text in itunes:summary. */
  description?: string
  /** Extra HTML for content:encoded (already safe HTML, e.g. a story list built with escapeHtml). */
  contentHtml?: string
  /** Web page of the item (the article). */
  link?: string
  author?: string
  publishedAt: Date | string
  audio: { url: string; bytes: number; mimeType: string }
  durationMs: number
  episodeType?: 'full' | 'trailer' | 'bonus'
  /** WebVTT transcript URL (podcast:transcript type text/vtt). */
  transcriptUrl?: string
  /** JSON chapters URL (podcast:chapters type application/json+chapters). */
  chaptersUrl?: string
  /** Also written inline as Podlove Simple Chapters for apps without podcast:chapters support. */
  chapters?: Chapter[]
  imageUrl?: string
  /** BCP 47 language of the transcript when it differs from the show's. */
  language?: string
}

export interface BuildFeedOptions {
  /** Absolute URL of this feed (atom:link rel=self; seed of podcast:guid). */
  feedUrl: string
  /** Site link; defaults to show.siteUrl, then the feed URL's origin. */
  siteUrl?: string
  /** Overrides show.title / show.description (e.g. the per-article feed). */
  title?: string
  description?: string
  /** podcast:guid; defaults to show.guid when `useShowGuid`, else the UUIDv5 of feedUrl. */
  guid?: string
  /** Newest N items only. */
  itemLimit?: number
  /** lastBuildDate; defaults to the newest item's date (so equal inputs give equal bytes). */
  lastBuildDate?: Date
  /** Minutes a client may cache the feed (RSS ttl). */
  ttlMinutes?: number
}

const GENERATOR = 'briefcast'

/** ASCII-only absolute URL (punycode host, percent-encoded path): old podcast apps choke on anything else. */
export function asciiUrl(url: string): string {
  const href = new URL(url).href
  // URL.href is ASCII except for characters the WHATWG parser leaves in the fragment; encode defensively.
  // eslint-disable-next-line no-control-regex
  return href.replace(/[^\x00-\x7F]/gu, (c) => encodeURIComponent(c))
}

/** An enclosure URL must be absolute, ASCII-only, and end in a file extension (.mp3, .m4a). */
export function enclosureUrl(url: string): string {
  const ascii = asciiUrl(url)
  const pathname = new URL(ascii).pathname
  if (!/\.[A-Za-z0-9]{2,5}$/.test(pathname)) throw new TypeError(`enclosure URL needs a file extension: ${ascii}`)
  return ascii
}

/** Plain text -> escaped HTML: blank-line separated paragraphs in <p>, single newlines as <br>. */
export function textToHtml(text: string): string {
  return cleanTextToHtml(xmlSafeText(text))
}

/** textToHtml for text already through xmlSafeText. */
function cleanTextToHtml(clean: string): string {
  if (!clean) return ''
  return clean
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
    .join('')
}

function toDate(value: Date | string): Date {
  const d = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(d.getTime())) throw new TypeError(`invalid date: ${String(value)}`)
  return d
}

/** "News > Daily News" -> itunes:category text="News" with a nested subcategory. */
function itunesCategories(category: string): NonNullable<FeedOptions['itunesCategory']> {
  const parts = category
    .split('>')
    .map((p) => xmlSafeLine(p))
    .filter(Boolean)
  if (parts.length === 0) return []
  const [top, ...subs] = parts
  return [{ text: top!, ...(subs.length > 0 ? { subcats: [{ text: subs.join(' ') }] } : {}) }]
}

/** Newest first; ties broken by guid so the order is stable across builds. */
export function sortFeedItems<T extends Pick<FeedItem, 'publishedAt' | 'guid'>>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => toDate(b.publishedAt).getTime() - toDate(a.publishedAt).getTime() || (a.guid < b.guid ? -1 : a.guid > b.guid ? 1 : 0))
}

export function buildFeed(show: FeedShow, items: readonly FeedItem[], options: BuildFeedOptions): string {
  const feedUrl = asciiUrl(options.feedUrl)
  const siteUrl = asciiUrl(options.siteUrl ?? show.siteUrl ?? new URL(feedUrl).origin + '/')
  const limit = Math.max(0, options.itemLimit ?? items.length)
  const chosen = sortFeedItems(items).slice(0, limit)
  const newest = chosen[0] ? toDate(chosen[0].publishedAt) : new Date(0)
  const lastBuildDate = options.lastBuildDate ?? newest

  const title = xmlSafeLine(options.title ?? show.title) || 'Untitled'
  const descriptionText = xmlSafeText(options.description ?? show.description)
  const author = xmlSafeLine(show.author)
  const imageUrl = show.imageUrl ? asciiUrl(show.imageUrl) : undefined
  const guid = xmlSafeLine(options.guid) || podcastGuid(feedUrl)

  // rss (under podcast) stamps lastBuildDate with the wall clock; a per-build
  // marker in <generator> lets us find that element without scanning user text
  // (a title may contain any string) and make the output a pure function.
  const marker = `${GENERATOR} ${randomUUID()}`
  const feedOptions: FeedOptions = {
    title,
    description: textToHtml(descriptionText),
    feedUrl,
    siteUrl,
    generator: marker,
    language: xmlSafeLine(show.language),
    author,
    pubDate: newest,
    ...(options.ttlMinutes ? { ttl: options.ttlMinutes } : {}),
    ...(imageUrl ? { imageUrl, itunesImage: imageUrl } : {}),
    itunesAuthor: author,
    itunesSummary: descriptionText,
    itunesOwner: { name: xmlSafeLine(show.ownerName), email: xmlSafeLine(show.ownerEmail) },
    itunesExplicit: show.explicit,
    itunesCategory: itunesCategories(show.category),
    itunesType: 'episodic',
    customElements: [
      // RSS 2.0 <image> for generic readers (the podcast package only writes itunes:image).
      ...(imageUrl ? [{ image: [{ url: imageUrl }, { title }, { link: siteUrl }] }] : []),
      { 'podcast:guid': guid },
      ...(show.locked !== undefined ? [{ 'podcast:locked': [{ _attr: { owner: xmlSafeLine(show.ownerEmail) } }, show.locked ? 'yes' : 'no'] }] : []),
    ],
  }
  const podcast = new Podcast(feedOptions)

  for (const item of chosen) {
    const text = xmlSafeText(item.description)
    const customElements: unknown[] = []
    if (item.transcriptUrl) {
      customElements.push({
        'podcast:transcript': {
          _attr: { url: asciiUrl(item.transcriptUrl), type: 'text/vtt', ...(item.language ? { language: xmlSafeLine(item.language) } : {}) },
        },
      })
    }
    if (item.chaptersUrl) {
      customElements.push({ 'podcast:chapters': { _attr: { url: asciiUrl(item.chaptersUrl), type: 'application/json+chapters' } } })
    }
    const itemOptions: ItemOptions = {
      title: xmlSafeLine(item.title) || 'Untitled',
      itunesTitle: xmlSafeLine(item.title) || 'Untitled',
      description: cleanTextToHtml(text),
      itunesSummary: text,
      guid: xmlSafeLine(item.guid),
      date: toDate(item.publishedAt),
      enclosure: { url: enclosureUrl(item.audio.url), size: Math.max(0, Math.trunc(item.audio.bytes)), type: item.audio.mimeType },
      itunesDuration: Math.max(0, Math.round(item.durationMs / 1000)),
      itunesEpisodeType: item.episodeType ?? 'full',
      itunesExplicit: show.explicit,
      customElements,
      ...(item.link ? { url: asciiUrl(item.link) } : {}),
      ...(item.author ? { author: xmlSafeLine(item.author), itunesAuthor: xmlSafeLine(item.author) } : {}),
      ...(item.contentHtml ? { content: xmlSafeText(item.contentHtml) } : {}),
      ...(item.imageUrl ? { itunesImage: asciiUrl(item.imageUrl) } : {}),
      ...(item.chapters && item.chapters.length > 0
        ? { pscChapters: { version: '1.2' as const, chapter: item.chapters.map((c) => ({ start: clockTime(c.startMs), title: xmlSafeLine(c.title) || 'Chapter' })) } }
        : {}),
    }
    podcast.addItem(itemOptions)
  }

  const xml = podcast.buildXml()
  const escapedMarker = marker // UUID and ASCII letters: nothing the XML writer escapes
  const pattern = `<generator>${escapedMarker}</generator><lastBuildDate>`
  const at = xml.indexOf(pattern)
  if (at < 0) throw new Error('buildFeed: generator marker not found in the XML')
  const end = xml.indexOf('</lastBuildDate>', at)
  return `${xml.slice(0, at)}<generator>${GENERATOR}</generator><lastBuildDate>${lastBuildDate.toUTCString()}${xml.slice(end)}`
}
