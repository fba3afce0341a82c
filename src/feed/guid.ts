import { createHash } from 'node:crypto'

/** The "podcast" namespace UUID of the Podcasting 2.0 spec (docs/tags/guid.md in Podcastindex-org/podcast-namespace). */
export const PODCAST_GUID_NAMESPACE = 'ead4c236-bf58-58c6-a2c6-a6b28d128cb6'

/** RFC 4122 / RFC 9562 version 5 (SHA-1, name-based) UUID. */
export function uuidv5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex')
  if (ns.length !== 16) throw new TypeError(`uuidv5: namespace must be a UUID, got "${namespace}"`)
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x50
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * podcast:guid for a show: UUIDv5 of the feed URL "with the protocol scheme and
 * trailing slashes stripped off", in the podcast namespace. The spec wants the
 * guid assigned once and kept when the feed moves, so config.show.guid
 * overrides this derivation.
 */
export function podcastGuid(feedUrl: string): string {
  const name = feedUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '')
  return uuidv5(name, PODCAST_GUID_NAMESPACE)
}
