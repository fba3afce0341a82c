/**
 * Fetching a URL for ingest without letting a client reach our own network
 * (SSRF). Every hop is checked: the host is resolved and EVERY address must
 * be public, and the connection is made to exactly the address we checked
 * (a custom `lookup`), so DNS rebinding between check and connect cannot
 * slip in a private address. Redirects are followed by hand (max 5), each
 * re-checked. The body is capped at `maxBytes` and the whole fetch at
 * `timeoutMs`. Hosts in `allowlist` (hostnames, IPs or CIDRs) skip the
 * private-address check (for intranet CMSs, and tests).
 */
import { promises as dns } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'
import { AppError } from '../errors.ts'

export interface SafeFetchOptions {
  allowlist: readonly string[]
  timeoutMs: number
  maxBytes: number
  maxRedirects?: number
  signal?: AbortSignal
  /** Resolver (tests may inject); defaults to dns.lookup with all addresses. */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>
  /** Extra request headers, e.g. If-None-Match / If-Modified-Since for a conditional GET, or Accept. */
  headers?: Record<string, string>
}

export interface FetchedPage {
  url: string
  status: number
  contentType: string
  body: Buffer
  /** Response headers (lower-case names). */
  headers: http.IncomingHttpHeaders
}

/**
 * IPv6 forms that carry an IPv4 address: the connection may end up at that
 * IPv4 address (through the kernel, a NAT64 gateway or a relay), so it is the
 * IPv4 address that is judged. IPv4-compatible ::a.b.c.d (RFC 4291 2.5.5.1),
 * IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d (RFC 6145),
 * and the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052) put it in the last
 * 32 bits. 6to4 2002::/16 (RFC 3056) carries it in bits 16-47 and Teredo
 * 2001::/32 (RFC 4380) obfuscated in the last 32 bits; both go through relays
 * we do not control and are refused whatever they embed.
 */
function embeddedIPv4(v6: ipaddr.IPv6): { ipv4: ipaddr.IPv4; judgeByIPv4: boolean } | undefined {
  const p = v6.parts
  const last = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255])
  const range = v6.range()
  if (range === 'ipv4Mapped' || range === 'rfc6145') return { ipv4: last(p[6]!, p[7]!), judgeByIPv4: true }
  // ::a.b.c.d (but not :: or ::1, which are the unspecified and loopback addresses).
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return { ipv4: last(p[6]!, p[7]!), judgeByIPv4: true }
  if (range === 'rfc6052') {
    // 64:ff9b::/96 only; the local-use prefix 64:ff9b:1::/48 (RFC 8215) leads into a private network.
    const wellKnown = p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)
    return { ipv4: last(p[6]!, p[7]!), judgeByIPv4: wellKnown }
  }
  if (range === '6to4') return { ipv4: last(p[1]!, p[2]!), judgeByIPv4: false }
  if (range === 'teredo') return { ipv4: last(~p[6]! & 0xffff, ~p[7]! & 0xffff), judgeByIPv4: false }
  return undefined
}

/**
 * True when the address is not a public unicast address (loopback, private,
 * link-local, documentation, reserved, multicast ...), classified by ipaddr.js;
 * IPv6 addresses that embed an IPv4 address are judged by it (see embeddedIPv4).
 */
export function isPrivateAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true
  const parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast'
  const v6 = parsed as ipaddr.IPv6
  const embedded = embeddedIPv4(v6)
  if (embedded) return !embedded.judgeByIPv4 || embedded.ipv4.range() !== 'unicast'
  return v6.range() !== 'unicast'
}

function allowlisted(host: string, address: string | undefined, allowlist: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  for (const raw of allowlist) {
    const entry = raw.trim().toLowerCase()
    if (!entry) continue
    if (entry === h) return true
    if (entry.startsWith('*.') && h.endsWith(entry.slice(1))) return true
    if (address && entry.includes('/')) {
      const [base, bits] = entry.split('/')
      const fam = net.isIP(base!)
      if (fam && net.isIP(address) === fam) {
        const list = new net.BlockList()
        try {
          list.addSubnet(base!, Number(bits), fam === 4 ? 'ipv4' : 'ipv6')
          if (list.check(address, fam === 4 ? 'ipv4' : 'ipv6')) return true
        } catch {}
      }
    } else if (address && entry === address) return true
  }
  return false
}

const defaultResolve = (host: string) => dns.lookup(host, { all: true, verbatim: true })

/** Resolve and check a host; returns the addresses we may connect to. */
export async function checkHost(host: string, options: Pick<SafeFetchOptions, 'allowlist' | 'resolve'>): Promise<{ address: string; family: number }[]> {
  const bare = host.replace(/^\[|\]$/g, '')
  let addresses: { address: string; family: number }[]
  if (net.isIP(bare)) addresses = [{ address: bare, family: net.isIP(bare) }]
  else {
    try {
      addresses = await (options.resolve ?? defaultResolve)(bare)
    } catch (err) {
      throw new AppError('FETCH_FAILED', `Cannot resolve host "${bare}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { cause: err })
    }
  }
  if (addresses.length === 0) throw new AppError('FETCH_FAILED', `Host "${bare}" has no addresses.`)
  for (const a of addresses) {
    if (isPrivateAddress(a.address) && !allowlisted(bare, a.address, options.allowlist)) {
      throw new AppError('URL_NOT_ALLOWED', `The URL's host "${bare}" resolves to ${a.address}, a private, loopback or link-local address.`, {
        details: { host: bare, address: a.address },
      })
    }
  }
  return addresses
}

export interface FetchedStream {
  url: string
  status: number
  headers: http.IncomingHttpHeaders
  /** The response body; the caller reads it to the end or destroys it. */
  stream: http.IncomingMessage
}

/**
 * Like safeFetch, but hands over the response body as a stream (for large downloads that go to a
 * file) and takes extra request headers (e.g. Range). Every redirect hop is checked the same way;
 * statuses outside 2xx are FETCH_FAILED. The caller enforces its own size limit on the stream.
 */
export async function safeFetchStream(rawUrl: string, options: SafeFetchOptions & { headers?: Record<string, string> }): Promise<FetchedStream> {
  const maxRedirects = options.maxRedirects ?? 5
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    throw new AppError('VALIDATION_FAILED', `"${rawUrl}" is not a valid URL.`, { details: { field: 'url' } })
  }
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('URL_NOT_ALLOWED', `Only http and https URLs can be fetched, not ${url.protocol}`)
    if (url.username || url.password) throw new AppError('URL_NOT_ALLOWED', 'URLs with credentials are not fetched.')
    const addresses = await withSignal(checkHost(url.hostname, options), signal, options.timeoutMs)
    const res = await request(url, addresses, options, signal, options.headers)
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      res.stream.resume()
      const location = res.headers.location
      if (!location) throw new AppError('FETCH_FAILED', `${url.href} redirected without a Location header.`)
      if (hop >= maxRedirects) throw new AppError('FETCH_FAILED', `Too many redirects fetching ${rawUrl}.`)
      try {
        url = new URL(location, url)
      } catch {
        throw new AppError('FETCH_FAILED', `${url.href} redirected to "${location.slice(0, 200)}", which is not a valid URL.`)
      }
      continue
    }
    // A conditional GET answered "not modified": an empty body, and the caller keeps its copy.
    if (res.status === 304 && options.headers && Object.keys(options.headers).some((h) => /^if-(none-match|modified-since)$/i.test(h))) {
      res.stream.resume()
      return { url: url.href, status: 304, headers: res.headers, stream: res.stream }
    }
    if (res.status < 200 || res.status >= 300) {
      res.stream.resume()
      throw new AppError('FETCH_FAILED', `${url.href} answered HTTP ${res.status}.`, { details: { status: res.status } })
    }
    return { url: url.href, status: res.status, headers: res.headers, stream: res.stream }
  }
}

export async function safeFetch(rawUrl: string, options: SafeFetchOptions): Promise<FetchedPage> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const res = await safeFetchStream(rawUrl, { ...options, signal })
  const url = new URL(res.url)
  if (res.status === 304) return { url: url.href, status: 304, contentType: '', body: Buffer.alloc(0), headers: res.headers }
  const declared = Number(res.headers['content-length'])
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    res.stream.destroy()
    throw new AppError('INPUT_TOO_LARGE', `${url.href} is ${declared} bytes; the limit is ${options.maxBytes}.`)
  }
  const chunks: Buffer[] = []
  let total = 0
  try {
    for await (const chunk of res.stream) {
      total += (chunk as Buffer).length
      if (total > options.maxBytes) {
        res.stream.destroy()
        throw new AppError('INPUT_TOO_LARGE', `${url.href} is larger than the limit of ${options.maxBytes} bytes.`)
      }
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    if (err instanceof AppError) throw err
    throw timeoutOr(err, signal, rawUrl, options.timeoutMs)
  }
  return { url: url.href, status: res.status, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks), headers: res.headers }
}

function timeoutOr(err: unknown, signal: AbortSignal, url: string, timeoutMs: number): AppError {
  if (signal.aborted) return new AppError('FETCH_FAILED', `Fetching ${url} took longer than ${timeoutMs} ms.`, { cause: err })
  return new AppError('FETCH_FAILED', `Fetching ${url} failed: ${(err as Error).message}`, { cause: err })
}

async function withSignal<T>(p: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  if (signal.aborted) throw new AppError('FETCH_FAILED', `Fetching took longer than ${timeoutMs} ms.`)
  return await new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AppError('FETCH_FAILED', `Fetching took longer than ${timeoutMs} ms.`))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function request(
  url: URL,
  addresses: { address: string; family: number }[],
  options: SafeFetchOptions,
  signal: AbortSignal,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; stream: http.IncomingMessage }> {
  const pinned = addresses[0]!
  // Connect to the address we checked, never to a fresh DNS answer.
  const lookup: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned])
    else cb(null, pinned.address, pinned.family)
  }
  const mod = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: 'GET',
        lookup,
        signal,
        headers: { 'user-agent': 'briefcast/0.1 (+article ingest)', accept: 'text/html, text/markdown, text/plain;q=0.9, */*;q=0.1', ...extraHeaders },
      },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, stream: res }),
    )
    req.once('error', (err) => reject(timeoutOr(err, signal, url.href, options.timeoutMs)))
    req.end()
  })
}
