/**
 * Embargo: an article whose publishedAt is in the future renders ahead but is
 * public nowhere (feeds, Listen, embed, audio files, home page, player lookup)
 * until that instant. Every public read checks the clock itself, so the story
 * goes public exactly when its time comes, across restarts, with nothing to
 * schedule; the feeds' SQL applies the same rule (sqlite.ts listPublished).
 */
import type { ArticleRecord } from '../store/types.ts'

export function isPublic(a: Pick<ArticleRecord, 'publishedAt'>, now = Date.now()): boolean {
  if (!a.publishedAt) return true
  const t = Date.parse(a.publishedAt)
  return Number.isNaN(t) || t <= now
}
