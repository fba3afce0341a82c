/**
 * Optimistic concurrency for the admin API (RFC 9110 13.1.1): a resource's
 * ETag names its revision; a PUT or DELETE with If-Match that names another
 * revision is answered 412 PRECONDITION_FAILED and changes nothing.
 */
import { createHash } from 'node:crypto'
import type express from 'express'
import { AppError } from '../errors.ts'

export function articleEtag(a: { id: string; revision: number }): string {
  return `"${a.id}.${a.revision}"`
}

/** Briefings are not edited, but re-rendered and deleted: their tag follows every state change. */
export function briefingEtag(b: { id: string; status: string; episodeId: number | null; updatedAt: string }): string {
  return `"${b.id}.${createHash('sha256').update(`${b.status}|${b.episodeId}|${b.updatedAt}`).digest('base64url').slice(0, 12)}"`
}

/** The entity tags of an If-Match header ("*" matches any current state); undefined when absent. */
export function ifMatchTags(req: express.Request): string[] | undefined {
  const header = req.get('if-match')
  if (header === undefined || header.trim() === '') return undefined
  // Our tags name a revision, not bytes: the compression middleware marks them weak (W/) on compressed
  // responses, and a client sends back what it got, so the weak form names the same revision here.
  return header.split(',').map((t) => t.trim().replace(/^W\//, '')).filter(Boolean)
}

/** Throws PRECONDITION_FAILED unless the If-Match tags (if any) include the current ETag. */
export function checkIfMatch(tags: string[] | undefined, currentEtag: string, what: string): void {
  if (!tags) return
  if (tags.includes('*') || tags.includes(currentEtag)) return
  throw new AppError('PRECONDITION_FAILED', `${what} has changed since you read it (its ETag is now ${currentEtag}, not ${tags.join(', ')}).`, {
    details: { etag: currentEtag },
  })
}
