/**
 * Podcast downloads counted the way podcast hosts count them (IAB Tech Lab
 * Podcast Measurement Technical Guidelines v2.1): one download per client
 * (address + user agent) per episode per day, however many (ranged) requests
 * it took, once the client has fetched at least a minute of audio (or the
 * whole episode when it is shorter); known bots excluded by user agent; HEAD
 * requests and the two-byte "bytes=0-1" probes some players send first do not
 * count. Tables from 'admin-003-downloads' (queries in src/store/admin.ts: store.downloads).
 */

/**
 * User agents that are not listeners: crawlers, link previews, feed checkers,
 * monitoring and generic HTTP libraries (a small list in the spirit of the IAB
 * spiders & bots list and the Open Podcast Analytics Working Group's user-agent list).
 */
const BOT_RE =
  /bot\b|bot[/;-]|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|feedfetcher|feedvalidator|podcastindex|pingdom|uptime|monitor|headlesschrome|lighthouse|curl\/|wget\/|python-requests|python-urllib|aiohttp|go-http-client|java\/|libwww|httpclient|node-fetch|axios\/|undici/i

export function isBot(userAgent: string | undefined): boolean {
  if (!userAgent || userAgent.trim().length < 3) return true // no user agent: IAB treats it as not a listener
  return BOT_RE.test(userAgent)
}

/** The request is only a probe for the file's size or the server's range support. */
export function isProbe(method: string, range: string | undefined): boolean {
  if (method === 'HEAD') return true
  return !!range && /^bytes=0-[01]$/.test(range.trim())
}

export interface DownloadRequest {
  articleId: string
  method: string
  userAgent: string | undefined
  range: string | undefined
  address: string
  /** Bytes of audio this response carried. */
  bytes: number
  /** Bytes that make a download: a minute of audio, or the whole file when shorter. */
  threshold: number
}

/** A minute of the episode's audio in bytes (constant bitrate), at most the whole file. */
export function downloadThreshold(episode: { bytes: number; durationMs: number }): number {
  if (!(episode.durationMs > 0)) return episode.bytes
  return Math.min(episode.bytes, Math.ceil((episode.bytes * 60_000) / episode.durationMs))
}

export interface DownloadCounter {
  /** Add the request's bytes to its client's today; count a download the first time they reach the threshold. Returns whether it counted. */
  record(r: DownloadRequest, now?: Date): Promise<boolean>
}

const EPISODE_AUDIO = /^\/audio\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{6,128})\.(?:mp3|m4a)(?:\?|$)/

/**
 * Watch a request for an episode's audio file (/audio/:articleId/:hash.mp3,
 * the feed's enclosure URL) and count it once it was answered with 200 or 206.
 */
export function countEpisodeDownload(
  counter: DownloadCounter,
  episodeOf: (articleId: string, hash: string) => Promise<{ bytes: number; durationMs: number } | undefined>,
  req: { method?: string; url?: string; headers: Record<string, string | string[] | undefined>; socket: { remoteAddress?: string } },
  res: { statusCode: number; getHeader(name: string): unknown; once(event: 'finish', fn: () => void): unknown },
  onError: (err: unknown) => void,
): void {
  if (req.method !== 'GET' || !req.url?.startsWith('/audio/')) return
  const m = EPISODE_AUDIO.exec(req.url)
  if (!m) return
  const header = (name: string) => {
    const v = req.headers[name]
    return Array.isArray(v) ? v[0] : v
  }
  const articleId = m[1]!
  const hash = m[2]!
  const method = req.method
  const userAgent = header('user-agent')
  const range = header('range')
  const address = req.socket.remoteAddress ?? ''
  res.once('finish', () => {
    if (res.statusCode !== 200 && res.statusCode !== 206) return
    const bytes = Number(res.getHeader('content-length') ?? 0)
    void (async () => {
      const episode = await episodeOf(articleId, hash)
      if (!episode) return
      await counter.record({ articleId, method, userAgent, range, address, bytes: Number.isFinite(bytes) ? bytes : 0, threshold: downloadThreshold(episode) })
    })().catch(onError)
  })
}
