/**
 * The key a page's URL is matched by (the player's lookup by canonical URL):
 * scheme and host lower-case, default port, fragment, tracking parameters and
 * a trailing slash dropped, the remaining query sorted. Two spellings of one
 * page give one key; different pages keep different keys.
 */
const TRACKING = /^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|ref_src|amp)$/i

export function urlKey(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string' || raw.trim() === '') return null
  let u: URL
  try {
    u = new URL(raw.trim())
  } catch {
    return null
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
  u.hash = ''
  u.username = ''
  u.password = ''
  const params = [...u.searchParams].filter(([k]) => !TRACKING.test(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  u.search = params.length ? new URLSearchParams(params).toString() : ''
  let pathname = u.pathname.replace(/\/{2,}/g, '/')
  if (pathname.length > 1) pathname = pathname.replace(/\/+$/, '')
  u.pathname = pathname
  // http and https of one page are one page (sites move to https; canonical tags lag behind).
  return `${u.host}${u.pathname}${u.search}`
}
