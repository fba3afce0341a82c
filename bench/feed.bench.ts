/**
 * Feed XML generation: our buildFeed (text cleaning, itunes + Podcasting 2.0
 * tags, chapters, deterministic lastBuildDate) vs the bare `podcast` package
 * building the same items with the same text (description + itunes:summary)
 * but none of that, in the same run, alternating runs.
 * The service also memoizes the XML per input fingerprint, so a poll that
 * finds nothing new does not rebuild it.
 * Our feed writes ~12 more elements per item (itunes, podcast:*, psc chapters),
 * so the ratio is informative; the goal is absolute: a 100-item feed in < 25 ms.
 */
import { Podcast } from 'podcast'
import { buildFeed, type FeedItem, type FeedShow } from '../src/feed/build.ts'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** Median times of a and b, run alternately (a shared, busy machine slows both alike). */
function timePair(a: () => unknown, b: () => unknown, runs: number): [number, number] {
  for (let i = 0; i < 3; i++) {
    a()
    b()
  }
  const ta: number[] = []
  const tb: number[] = []
  for (let i = 0; i < runs; i++) {
    let t = performance.now()
    a()
    ta.push(performance.now() - t)
    t = performance.now()
    b()
    tb.push(performance.now() - t)
  }
  return [median(ta), median(tb)]
}

const show: FeedShow = {
  title: 'The Daily Brief',
  description: 'News, read aloud.',
  language: 'en',
  author: 'Example News',
  ownerName: 'Jane Editor',
  ownerEmail: 'podcast@example.com',
  category: 'News > Daily News',
  explicit: false,
  imageUrl: 'https://cdn.example.com/cover.jpg',
  siteUrl: 'https://news.example.com/',
}

const para = 'Lenovo and Nvidia announced an ambitious project designed to rethink data center architecture & transform them into "AI factories". '
function items(n: number): FeedItem[] {
  return Array.from({ length: n }, (_, i) => ({
    guid: `briefcast:article:a${i}`,
    title: `Story ${i}: Lenovo & Nvidia <join> forces`,
    description: `${para.repeat(3)}\n\n${para.repeat(2)}`,
    link: `https://news.example.com/story-${i}`,
    publishedAt: new Date(Date.UTC(2026, 10, 1) + i * 3_600_000),
    audio: { url: `https://audio.example.com/audio/a${i}/0123456789abcdef0123456789abcdef.mp3`, bytes: 1_000_000 + i, mimeType: 'audio/mpeg' },
    durationMs: 180_000 + i,
    transcriptUrl: `https://audio.example.com/audio/a${i}/0123456789abcdef0123456789abcdef.vtt`,
    chaptersUrl: `https://audio.example.com/audio/a${i}/0123456789abcdef0123456789abcdef.chapters.json`,
    chapters: [
      { title: `Story ${i}`, startMs: 0, endMs: 60_000 },
      { title: 'Context', startMs: 60_000, endMs: 180_000 },
    ],
  }))
}

function bare(list: FeedItem[]): string {
  const p = new Podcast({ title: show.title, description: show.description, feedUrl: 'https://audio.example.com/feed.xml', siteUrl: show.siteUrl!, author: show.author })
  for (const it of list)
    p.addItem({
      title: it.title,
      description: `<p>${it.description!}</p>`,
      itunesSummary: it.description!,
      guid: it.guid,
      url: it.link!,
      date: it.publishedAt,
      enclosure: { url: it.audio.url, size: it.audio.bytes, type: it.audio.mimeType },
      itunesDuration: Math.round(it.durationMs / 1000),
    })
  return p.buildXml()
}

for (const n of [100, 1000]) {
  const list = items(n)
  const runs = n >= 1000 ? 15 : 60
  const [base, ours] = timePair(
    () => bare(list),
    () => buildFeed(show, list, { feedUrl: 'https://audio.example.com/feed.xml', itemLimit: n }),
    runs,
  )
  const bytes = Buffer.byteLength(buildFeed(show, list, { feedUrl: 'https://audio.example.com/feed.xml', itemLimit: n }))
  process.stdout.write(
    `feed ${String(n).padStart(4)} items: buildFeed ${ours.toFixed(2)} ms, bare podcast package ${base.toFixed(2)} ms, ratio ${(ours / base).toFixed(2)}x;${n === 100 ? ` goal < 25 ms: ${ours < 25 ? 'met' : 'MISSED'};` : ''} ${(bytes / 1024).toFixed(0)} KiB\n`,
  )
}
