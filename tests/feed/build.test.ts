import fc from 'fast-check'
import { XMLValidator } from 'fast-xml-parser'
import Parser from 'rss-parser'
import { describe, expect, it } from 'vitest'
import { buildFeed, enclosureUrl, textToHtml, type FeedItem, type FeedShow } from '../../src/feed/build.ts'
import { podcastGuid, uuidv5 } from '../../src/feed/guid.ts'

type CustomFeed = { 'podcast:guid'?: string; language?: string; itunes?: Record<string, unknown> }
type CustomItem = {
  transcript?: { $: Record<string, string> }
  chapters?: { $: Record<string, string> }
  itunes?: Record<string, string>
}
const parser: Parser<CustomFeed, CustomItem> = new Parser({
  customFields: {
    feed: ['podcast:guid'] as never,
    item: [['podcast:transcript', 'transcript'], ['podcast:chapters', 'chapters']] as never,
  },
})

const show: FeedShow = {
  title: 'The Daily Brief',
  description: 'News, read aloud.',
  language: 'en',
  author: 'Example News',
  ownerName: 'Jane Editor',
  ownerEmail: 'podcast@example.com',
  category: 'News > Daily News',
  explicit: false,
  imageUrl: 'https://cdn.example.com/cover-3000.jpg',
  siteUrl: 'https://news.example.com/',
}

function item(n: number, over: Partial<FeedItem> = {}): FeedItem {
  return {
    guid: `briefcast:article:a${n}`,
    title: `Story ${n}`,
    description: `Body of story ${n}.`,
    link: `https://news.example.com/story-${n}`,
    publishedAt: new Date(Date.UTC(2026, 10, n, 6, 0, 0)),
    audio: { url: `https://audio.example.com/audio/a${n}/hash${n}.mp3`, bytes: 1000 + n, mimeType: 'audio/mpeg' },
    durationMs: 61_500 + n * 1000,
    transcriptUrl: `https://audio.example.com/audio/a${n}/hash${n}.vtt`,
    chaptersUrl: `https://audio.example.com/audio/a${n}/hash${n}.chapters.json`,
    chapters: [{ title: `Story ${n}`, startMs: 0, endMs: 1000 }],
    ...over,
  }
}

/** Every character a conforming XML 1.0 document may contain (https://www.w3.org/TR/xml/#charsets). */
function onlyXmlChars(xml: string): boolean {
  for (const ch of xml) {
    const cp = ch.codePointAt(0)!
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
    if (!ok) return false
  }
  return true
}

/**
 * The documented cleaning (src/feed/text.ts), written independently here:
 * lone surrogates -> U+FFFD, CR LF / CR -> LF, C0 (but tab, LF) + DEL + C1 +
 * U+FFFE/U+FFFF removed, trimmed.
 */
function documentedClean(s: string): string {
  let out = ''
  const units = s.replace(/\r\n?/g, '\n')
  for (let i = 0; i < units.length; i++) {
    const c = units.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = units.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += units[i]! + units[i + 1]!
        i++
      } else out += '\uFFFD'
      continue
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\uFFFD'
      continue
    }
    if ((c < 0x20 && c !== 0x9 && c !== 0xa) || (c >= 0x7f && c <= 0x9f) || c === 0xfffe || c === 0xffff) continue
    out += units[i]
  }
  return out.trim()
}

describe('buildFeed', () => {
  it('writes every channel and item tag podcast apps check, and rss-parser reads them back', async () => {
    const xml = buildFeed(show, [item(1), item(3), item(2)], { feedUrl: 'https://audio.example.com/feed.xml', itemLimit: 10 })
    expect(XMLValidator.validate(xml)).toBe(true)
    const feed = await parser.parseString(xml)

    expect(feed.title).toBe('The Daily Brief')
    expect(feed.link).toBe('https://news.example.com/')
    expect(feed.language).toBe('en')
    expect(feed.feedUrl).toBe('https://audio.example.com/feed.xml')
    expect(feed.itunes?.author).toBe('Example News')
    expect(feed.itunes?.owner).toEqual({ name: 'Jane Editor', email: 'podcast@example.com' })
    expect(feed.itunes?.explicit).toBe('false')
    expect(feed.itunes?.image).toBe('https://cdn.example.com/cover-3000.jpg')
    expect(feed.itunes?.categoriesWithSubs).toEqual([{ name: 'News', subs: [{ name: 'Daily News' }] }])
    expect(feed['podcast:guid']).toBe(podcastGuid('https://audio.example.com/feed.xml'))
    expect(feed['podcast:guid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)

    // newest first
    expect(feed.items.map((i) => i.guid)).toEqual(['briefcast:article:a3', 'briefcast:article:a2', 'briefcast:article:a1'])
    const first = feed.items[0]!
    expect(first.title).toBe('Story 3')
    expect(first.link).toBe('https://news.example.com/story-3')
    expect(first.content).toBe('<p>Body of story 3.</p>')
    expect(first.itunes?.summary).toBe('Body of story 3.')
    expect(first.pubDate).toBe('Tue, 03 Nov 2026 06:00:00 GMT') // RFC 2822 (RFC 822 with 4-digit year)
    expect(first.isoDate).toBe('2026-11-03T06:00:00.000Z')
    expect(first.enclosure).toEqual({ url: 'https://audio.example.com/audio/a3/hash3.mp3', length: '1003', type: 'audio/mpeg' })
    expect(first.itunes?.duration).toBe('00:01:05') // 64.5 s, rounded to whole seconds
    expect(first.itunes?.episodeType).toBe('full')
    expect(first.transcript?.$).toEqual({ url: 'https://audio.example.com/audio/a3/hash3.vtt', type: 'text/vtt' })
    expect(first.chapters?.$).toEqual({ url: 'https://audio.example.com/audio/a3/hash3.chapters.json', type: 'application/json+chapters' })
    expect(xml).toContain('<guid isPermaLink="false">briefcast:article:a3</guid>')
  })
  it('derives podcast:guid per the Podcasting 2.0 spec (its published examples), or uses the configured one', async () => {
    expect(podcastGuid('https://mp3s.nashownotes.com/pc20rss.xml')).toBe('917393e3-1b1e-5cef-ace4-edaa54e1f810')
    expect(podcastGuid('http://podnews.net/rss/')).toBe('9b024349-ccf0-5f69-a609-6b82873eab3c')
    // RFC 4122 appendix B example (DNS namespace, "www.example.com"), as corrected in RFC 9562
    expect(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2')
    const xml = buildFeed({ ...show, guid: 'c0ffee00-1b1e-5cef-ace4-edaa54e1f810' }, [], {
      feedUrl: 'https://a.example/feed.xml',
      guid: 'c0ffee00-1b1e-5cef-ace4-edaa54e1f810',
    })
    expect((await parser.parseString(xml))['podcast:guid']).toBe('c0ffee00-1b1e-5cef-ace4-edaa54e1f810')
  })

  it('keeps the newest N items and is a pure function of its inputs', () => {
    const items = Array.from({ length: 7 }, (_, i) => item(i + 1))
    const a = buildFeed(show, items, { feedUrl: 'https://a.example/feed.xml', itemLimit: 3 })
    const b = buildFeed(show, [...items].reverse(), { feedUrl: 'https://a.example/feed.xml', itemLimit: 3 })
    expect(a).toBe(b)
    expect(a.match(/<item>/g)).toHaveLength(3)
    expect(a).toContain('<lastBuildDate>Sat, 07 Nov 2026 06:00:00 GMT</lastBuildDate>')
    expect(a).not.toContain('briefcast:article:a4<')
  })

  it('writes ASCII-only absolute URLs with a file extension', async () => {
    const xml = buildFeed(show, [item(1, { audio: { url: 'https://bücher.example/audio/ä/x.mp3', bytes: 5, mimeType: 'audio/mpeg' } })], {
      feedUrl: 'https://bücher.example/feed.xml',
    })
    const feed = await parser.parseString(xml)
    expect(feed.items[0]!.enclosure!.url).toBe('https://xn--bcher-kva.example/audio/%C3%A4/x.mp3')
    // eslint-disable-next-line no-control-regex
    expect(/^[\x00-\x7F]*$/.test(feed.items[0]!.enclosure!.url)).toBe(true)
    expect(() => enclosureUrl('https://a.example/audio/1/noext')).toThrow(/file extension/)
  })

  it('survives hostile titles and bodies: markup, CDATA ends, quotes, emoji, controls, lone surrogates, invalid UTF-8', async () => {
    const invalidUtf8 = new TextDecoder().decode(new Uint8Array([0x41, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x42]))
    const nasty = `A & B <script>alert("x")</script> ]]> ]]]]> 'q' "dq" 😀 \u0000\u0001\u0008\u000b\u001f\u007f\u0085 \uD800 \uDFFF x\r\ny ${invalidUtf8}`
    const xml = buildFeed({ ...show, title: nasty, description: nasty }, [item(1, { title: nasty, description: nasty, author: nasty })], {
      feedUrl: 'https://a.example/feed.xml',
    })
    expect(XMLValidator.validate(xml)).toBe(true)
    expect(onlyXmlChars(xml)).toBe(true)
    const feed = await parser.parseString(xml)
    const line = documentedClean(nasty).replace(/\s+/g, ' ')
    expect(feed.title).toBe(line)
    expect(feed.items[0]!.title).toBe(line)
    expect(feed.items[0]!.itunes!.summary).toBe(documentedClean(nasty))
    expect(feed.items[0]!.title).toContain('\uFFFD')
    expect(feed.items[0]!.title).toContain('😀')
    expect(feed.items[0]!.title).toContain(']]>')
  })

  it('fuzz: any title and body gives well-formed XML that rss-parser reads back to the same text', async () => {
    const char16 = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))
    const fragment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.string({ unit: char16, maxLength: 20 }),
      fc.constantFrom('&', '<', '>', ']]>', ']]', '<![CDATA[', '"', "'", '&amp;', '😀', '\u0000', '\u001b', '\r\n', '\r', '\n\n', '\uD83D', '\uDE00', '\uFFFE', '\u2028', ' ', '\t'),
    )
    const text = fc.array(fragment, { maxLength: 8 }).map((parts) => parts.join(''))
    await fc.assert(
      fc.asyncProperty(text, text, async (title, body) => {
        const xml = buildFeed(show, [item(1, { title, description: body })], { feedUrl: 'https://a.example/feed.xml' })
        expect(XMLValidator.validate(xml)).toBe(true)
        expect(onlyXmlChars(xml)).toBe(true)
        const parsed = (await parser.parseString(xml)).items[0]!
        const expectedTitle = documentedClean(title).replace(/\s+/g, ' ') || 'Untitled'
        expect(parsed.title).toBe(expectedTitle)
        const expectedBody = documentedClean(body)
        if (expectedBody) {
          expect(parsed.itunes!.summary).toBe(expectedBody)
          expect(parsed.content).toBe(textToHtml(expectedBody))
          expect(decodeHtml(parsed.content!)).toBe(expectedBody.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean).join('\n\n'))
        } else {
          expect(parsed.content).toBeUndefined()
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    )
  })
})

/** Undo textToHtml: <p> paragraphs -> blank lines, <br> -> newline, the five entities -> characters. */
function decodeHtml(html: string): string {
  return html
    .replace(/<\/p><p>/g, '\n\n')
    .replace(/<\/?p>/g, '')
    .replace(/<br>/g, '\n')
    .replace(/&(lt|gt|quot|#39|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e]!)
}
