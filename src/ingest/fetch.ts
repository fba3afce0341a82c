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

const blocked = new net.BlockList()
// IPv4: "this" network, private, CGNAT, loopback, link-local, IETF protocol, TEST-NETs, benchmarking, multicast, reserved, broadcast.
for (const [net4, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net4, prefix, 'ipv4')
// IPv6: unspecified, loopback, IPv4-mapped/translated (checked again as IPv4 below), discard, ULA, link-local, site-local, multicast, documentation, 6to4/Teredo.
for (const [net6, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 32], ['2001:db8::', 32], ['2002::', 16],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(net6, prefix, 'ipv6')

/** True when the address is loopback, private, link-local or otherwise not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address)
  if (family === 4) return blocked.check(address, 'ipv4')
  if (family === 6) {
    const lower = address.toLowerCase()
    // IPv4-mapped (::ffff:a.b.c.d / ::ffff:xxxx:xxxx): judge the embedded IPv4 address.
    const mapped = /^(?:0*:)*:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
    if (mapped) return isPrivateAddress(mapped[1]!)
    const hexMapped = /^(?:0*:)*:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
    if (hexMapped) {
      const hi = parseInt(hexMapped[1]!, 16)
      const lo = parseInt(hexMapped[2]!, 16)
      return isPrivateAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`)
    }
    return blocked.check(address, 'ipv6')
  }
  return true
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

export async function safeFetch(rawUrl: string, options: SafeFetchOptions): Promise<FetchedPage> {
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
    const res = await request(url, addresses, options, signal)
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      res.stream.resume()
      const location = res.headers.location
      if (!location) throw new AppError('FETCH_FAILED', `${url.href} redirected without a Location header.`)
      if (hop >= maxRedirects) throw new AppError('FETCH_FAILED', `Too many redirects fetching ${rawUrl}.`)
      url = new URL(location, url)
      continue
    }
    // A conditional GET answered "not modified": an empty body, and the caller keeps its copy.
    if (res.status === 304 && options.headers && Object.keys(options.headers).some((h) => /^if-(none-match|modified-since)$/i.test(h))) {
      res.stream.resume()
      return { url: url.href, status: 304, contentType: '', body: Buffer.alloc(0), headers: res.headers }
    }
    if (res.status < 200 || res.status >= 300) {
      res.stream.resume()
      throw new AppError('FETCH_FAILED', `${url.href} answered HTTP ${res.status}.`, { details: { status: res.status } })
    }
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
        headers: { 'user-agent': 'briefcast/0.1 (+article ingest)', accept: 'text/html, text/markdown, text/plain;q=0.9, */*;q=0.1', ...options.headers },
      },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, stream: res }),
    )
    req.once('error', (err) => reject(timeoutOr(err, signal, url.href, options.timeoutMs)))
    req.end()
  })
}
