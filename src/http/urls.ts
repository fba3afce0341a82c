/** Absolute public URLs, built from config.publicUrl; the one place URL shapes live (see docs/api.md). */
import net from 'node:net'
import { isPrivateAddress } from '../ingest/fetch.ts'
import type { EpisodeRecord } from '../store/types.ts'

export interface PublicUrls {
  base: string
  listen(articleId: string): string
  info(articleId: string): string
  embed(articleId: string): string
  playerScript(): string
  feed(): string
  /** Versioned, immutable URLs of an episode's files. */
  audio(episode: Pick<EpisodeRecord, 'articleId' | 'hash' | 'format'>): string
  transcript(episode: Pick<EpisodeRecord, 'articleId' | 'hash'>): string
  chapters(episode: Pick<EpisodeRecord, 'articleId' | 'hash'>): string
  timings(episode: Pick<EpisodeRecord, 'articleId' | 'hash'>): string
}

export function publicUrls(publicUrl: string): PublicUrls {
  const base = publicUrl.replace(/\/+$/, '')
  const enc = encodeURIComponent
  const file = (ep: Pick<EpisodeRecord, 'articleId' | 'hash'>, suffix: string) => `${base}/audio/${enc(ep.articleId ?? '_')}/${enc(ep.hash)}${suffix}`
  return {
    base,
    listen: (id) => `${base}/listen/${enc(id)}`,
    info: (id) => `${base}/listen/${enc(id)}/info.json`,
    embed: (id) => `${base}/embed/${enc(id)}`,
    playerScript: () => `${base}/player.js`,
    feed: () => `${base}/feed.xml`,
    audio: (ep) => file(ep, `.${ep.format}`),
    transcript: (ep) => file(ep, '.vtt'),
    chapters: (ep) => file(ep, '.chapters.json'),
    timings: (ep) => file(ep, '.timings.json'),
  }
}

/**
 * Why podcast apps and other sites cannot reach this public URL (localhost, a
 * loopback, private or link-local address, a .local/.internal name), or
 * undefined when it looks public. Said at start-up and on the home page.
 */
export function publicUrlProblem(publicUrl: string): string | undefined {
  let host: string
  try {
    host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase()
  } catch {
    return `BRIEFCAST_PUBLIC_URL "${publicUrl}" is not a URL.`
  }
  const local =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /\.(local|internal|lan|home|test)$/.test(host) ||
    !host.includes('.') && !host.includes(':') ||
    (net.isIP(host) !== 0 && isPrivateAddress(host))
  if (!local) return undefined
  return `The public URL ${publicUrl} points at this machine or a private network: podcast apps, directories and other sites cannot fetch the feeds, audio or player from it. Set BRIEFCAST_PUBLIC_URL to the address the service is reached at from the internet.`
}
