/** Absolute public URLs, built from config.publicUrl; the one place URL shapes live (see docs/api.md). */
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
