/**
 * Podcast downloads counted the way podcast hosts count them (IAB Tech Lab
 * Podcast Measurement Guidelines v2): one download per client (address + user
 * agent) per episode per day, however many (ranged) requests it took; known
 * bots excluded by user agent; HEAD requests and the two-byte "bytes=0-1"
 * probes some players send first do not count. Tables from 'admin-003-downloads'.
 */
import { createHmac, randomBytes } from 'node:crypto'
import type Database from 'better-sqlite3'
import { perDatabase } from '../store/per-database.ts'

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
}

export interface DownloadCounter {
  /** Count the request if it is the first of this client for this episode today. Returns whether it counted. */
  record(r: DownloadRequest, now?: Date): boolean
}

export const downloadCounter = perDatabase(createCounter)

function createCounter(db: Database.Database): DownloadCounter {
  db.prepare('INSERT OR IGNORE INTO admin_secrets (name, value) VALUES (?, ?)').run('download-client-key', randomBytes(32).toString('base64url'))
  const key = (db.prepare('SELECT value FROM admin_secrets WHERE name = ?').get('download-client-key') as { value: string }).value
  const seen = db.prepare('INSERT OR IGNORE INTO download_clients (day, article_id, client) VALUES (?, ?, ?)')
  const count = db.prepare('INSERT INTO download_stats (article_id, day, downloads) VALUES (?, ?, 1) ON CONFLICT (article_id, day) DO UPDATE SET downloads = downloads + 1')
  const exists = db.prepare('SELECT 1 FROM articles WHERE id = ?')
  const prune = db.prepare('DELETE FROM download_clients WHERE day < ?')
  let pruned = ''
  return {
    record(r, now = new Date()) {
      if (isProbe(r.method, r.range) || isBot(r.userAgent)) return false
      const day = now.toISOString().slice(0, 10)
      if (pruned !== day) {
        prune.run(new Date(now.getTime() - 2 * 86_400_000).toISOString().slice(0, 10))
        pruned = day
      }
      const client = createHmac('sha256', key).update(`${day}\0${r.address}\0${r.userAgent ?? ''}`).digest('base64url').slice(0, 22)
      return db.transaction(() => {
        if (!exists.get(r.articleId)) return false
        if (seen.run(day, r.articleId, client).changes === 0) return false
        count.run(r.articleId, day)
        return true
      })()
    },
  }
}

const EPISODE_AUDIO = /^\/audio\/([A-Za-z0-9_-]{1,64})\/[A-Za-z0-9_-]{6,128}\.(?:mp3|m4a)(?:\?|$)/

/**
 * Watch a request for an episode's audio file (/audio/:articleId/:hash.mp3,
 * the feed's enclosure URL) and count it once it was answered with 200 or 206.
 */
export function countEpisodeDownload(
  counter: DownloadCounter,
  req: { method?: string; url?: string; headers: Record<string, string | string[] | undefined>; socket: { remoteAddress?: string } },
  res: { statusCode: number; once(event: 'finish', fn: () => void): unknown },
  onError: (err: unknown) => void,
): void {
  if (req.method !== 'GET' || !req.url?.startsWith('/audio/')) return
  const m = EPISODE_AUDIO.exec(req.url)
  if (!m) return
  const header = (name: string) => {
    const v = req.headers[name]
    return Array.isArray(v) ? v[0] : v
  }
  const r: DownloadRequest = { articleId: m[1]!, method: req.method, userAgent: header('user-agent'), range: header('range'), address: req.socket.remoteAddress ?? '' }
  res.once('finish', () => {
    if (res.statusCode !== 200 && res.statusCode !== 206) return
    try {
      counter.record(r)
    } catch (err) {
      onError(err)
    }
  })
}
