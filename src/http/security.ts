/**
 * Security headers on every response (docs/security.md), set before any
 * route runs (the audio fast path included). Routes with a page of their own
 * set a fuller Content-Security-Policy over this default (the home page, the
 * embed page). The embed page is the one page meant to be framed by other
 * sites: it gets no X-Frame-Options and sets `frame-ancestors *` itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** For JSON, audio, feeds and errors: nothing to run, nothing to frame. */
export const DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

const EMBED = /^\/embed\//

export function setSecurityHeaders(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Referrer-Policy', 'strict-origin-when-cross-origin')
  if (EMBED.test(req.url ?? '')) return
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('Content-Security-Policy', DEFAULT_CSP)
}
