/**
 * BRIEFCAST_STORAGE_URL and BRIEFCAST_STORAGE_PUBLIC_URL: parsed and checked
 * once, in src/config.ts, so a typo is a start-up error naming the setting.
 *
 *   s3://BUCKET[/PREFIX][?endpoint=https://host:port&region=REGION&forcePathStyle=true]
 *
 * Credentials never go in the URL: the standard AWS variables
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN) or the rest
 * of the SDK's default chain (profile, instance role) supply them.
 */
export interface S3Location {
  bucket: string
  /** Key prefix without leading or trailing slash; '' for the bucket root. */
  prefix: string
  endpoint?: string
  region?: string
  forcePathStyle: boolean
}

const PARAMS = new Set(['endpoint', 'region', 'forcePathStyle'])
// S3 bucket naming rules (3-63 characters, lowercase letters, digits, dots and hyphens, no "..").
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/** The parsed location, or a message saying what is wrong (for the config error). */
export function parseStorageUrl(raw: string): S3Location | string {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return 'is not a URL; use s3://BUCKET/PREFIX?endpoint=...&region=...'
  }
  if (url.protocol !== 's3:') return `must start with s3:// (not ${url.protocol}//); leave it unset to keep files in the cache directory`
  if (url.username || url.password) return 'must not contain credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead'
  const bucket = decodeURIComponent(url.hostname)
  if (!BUCKET.test(bucket) || bucket.includes('..')) return `"${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens)`
  if (url.port) return 'has a port after the bucket name; put the server in ?endpoint=http://host:port'
  if (url.hash) return 'must not have a #fragment'
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '')
  if (prefix.split('/').some((s) => s === '.' || s === '..') || prefix.includes('//')) return `the prefix "${prefix}" must not contain empty, "." or ".." parts`
  for (const name of url.searchParams.keys()) if (!PARAMS.has(name)) return `has an unknown parameter "${name}" (allowed: endpoint, region, forcePathStyle)`
  const loc: S3Location = { bucket, prefix, forcePathStyle: false }
  const endpoint = url.searchParams.get('endpoint')
  if (endpoint !== null) {
    let e: URL
    try {
      e = new URL(endpoint)
    } catch {
      return `endpoint "${endpoint}" is not a URL (e.g. https://minio.internal:9000)`
    }
    if (e.protocol !== 'http:' && e.protocol !== 'https:') return `endpoint "${endpoint}" must be an http:// or https:// URL`
    if (e.username || e.password) return 'endpoint must not contain credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead'
    loc.endpoint = e.origin + e.pathname.replace(/\/+$/, '')
  }
  const region = url.searchParams.get('region')
  if (region !== null) {
    if (!/^[a-z0-9-]{2,32}$/i.test(region)) return `region "${region}" is not a region name (e.g. eu-central-1, auto)`
    loc.region = region
  }
  const fps = url.searchParams.get('forcePathStyle')
  if (fps !== null) {
    if (!['true', 'false', '1', '0'].includes(fps)) return 'forcePathStyle must be true or false'
    loc.forcePathStyle = fps === 'true' || fps === '1'
  }
  return loc
}

/** The public base URL (CDN or public bucket) without a trailing slash, or a message saying what is wrong. */
export function parsePublicStorageUrl(raw: string): string | { problem: string } {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return { problem: 'is not a URL (e.g. https://cdn.example.com/briefcast)' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: 'must be an http:// or https:// URL' }
  if (url.username || url.password) return { problem: 'must not contain credentials' }
  if (url.search || url.hash) return { problem: 'must not have a ?query or #fragment: object keys are appended to it' }
  return url.origin + url.pathname.replace(/\/+$/, '')
}

/** The location as text for logs and /readyz: no credentials ever appear in it. */
export function describeLocation(loc: S3Location): string {
  return `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}${loc.endpoint ? ` at ${loc.endpoint}` : ''}`
}
