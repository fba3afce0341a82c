import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkHost, isPrivateAddress, safeFetch } from '../../src/ingest/fetch.ts'

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', 'ff02::1', 'not-an-ip',
    // IPv6 forms that embed an IPv4 address: IPv4-compatible, IPv4-translated (RFC 6145), NAT64 (RFC 6052, RFC 8215), 6to4, Teredo.
    '::127.0.0.1', '::7f00:1', '::10.0.0.1', '::ffff:0:127.0.0.1', '::ffff:0:a00:1', '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::1.2.3.4',
    '2002:7f00:1::1', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:80ff:fffe', '2001::1',
    // documentation, benchmarking, TEST-NETs, reserved, 6bone/discard
    '192.0.2.1', '198.18.0.1', '198.51.100.7', '203.0.113.9', '240.0.0.1', '2001:db8::1', '100::1',
  ])('%s is private', (a) => expect(isPrivateAddress(a)).toBe(true))
  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8'])('%s is public', (a) =>
    expect(isPrivateAddress(a)).toBe(false),
  )
})

describe('checkHost', () => {
  const resolveTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  it('rejects a host when ANY of its addresses is private', async () => {
    await expect(checkHost('mixed.example', { allowlist: [], resolve: resolveTo('93.184.216.34', '10.0.0.5') })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
    await expect(checkHost('public.example', { allowlist: [], resolve: resolveTo('93.184.216.34') })).resolves.toHaveLength(1)
  })
  it('honours the allowlist by host name, wildcard and CIDR', async () => {
    const r = resolveTo('10.0.0.5')
    await expect(checkHost('cms.internal', { allowlist: ['cms.internal'], resolve: r })).resolves.toHaveLength(1)
    await expect(checkHost('a.corp.example', { allowlist: ['*.corp.example'], resolve: r })).resolves.toHaveLength(1)
    await expect(checkHost('x.example', { allowlist: ['10.0.0.0/8'], resolve: r })).resolves.toHaveLength(1)
    await expect(checkHost('x.example', { allowlist: ['192.168.0.0/16'], resolve: r })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
    await expect(checkHost('[::1]', { allowlist: [] })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
  })
})

describe('safeFetch', () => {
  let server: http.Server
  let base: string
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/slow') return // never answers
      if (req.url === '/chunked') {
        res.setHeader('content-type', 'text/html')
        const timer = setInterval(() => res.write('x'.repeat(1000)), 1)
        res.on('close', () => clearInterval(timer))
        return
      }
      if (req.url === '/loop') {
        res.statusCode = 302
        res.setHeader('location', '/loop')
        return res.end()
      }
      if (req.url === '/bad-location') {
        res.statusCode = 302
        res.setHeader('location', 'http://[zz')
        return res.end()
      }
      if (req.url === '/ftp') {
        res.statusCode = 301
        res.setHeader('location', 'ftp://example.com/file')
        return res.end()
      }
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end('<p>ok</p>')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://localhost:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })
  const opts = { allowlist: ['localhost'], timeoutMs: 1000, maxBytes: 10_000 }

  it('fetches an allowlisted local page', async () => {
    const page = await safeFetch(`${base}/`, opts)
    expect(page.body.toString()).toBe('<p>ok</p>')
    expect(page.contentType).toMatch(/text\/html/)
  })
  it('enforces the time limit', async () => {
    const t = Date.now()
    await expect(safeFetch(`${base}/slow`, { ...opts, timeoutMs: 300 })).rejects.toMatchObject({ code: 'FETCH_FAILED' })
    expect(Date.now() - t).toBeLessThan(5000)
  })
  it('enforces the size limit on a body without Content-Length', async () => {
    await expect(safeFetch(`${base}/chunked`, opts)).rejects.toMatchObject({ code: 'INPUT_TOO_LARGE' })
  })
  it('stops redirect loops and non-http redirects', async () => {
    await expect(safeFetch(`${base}/loop`, opts)).rejects.toMatchObject({ code: 'FETCH_FAILED' })
    await expect(safeFetch(`${base}/ftp`, opts)).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
  })
  it('answers a redirect to an unparsable Location with FETCH_FAILED', async () => {
    await expect(safeFetch(`${base}/bad-location`, opts)).rejects.toMatchObject({ code: 'FETCH_FAILED' })
  })
  it('refuses IPv6 literals that embed a private IPv4 address before connecting', async () => {
    for (const host of ['[::127.0.0.1]', '[::ffff:0:127.0.0.1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::1]'])
      await expect(safeFetch(`http://${host}:${new URL(base).port}/`, { ...opts, allowlist: [] })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
  })
  it('rejects private hosts and bad URLs without an allowlist', async () => {
    await expect(safeFetch(`${base}/`, { ...opts, allowlist: [] })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
    await expect(safeFetch('not a url', opts)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(safeFetch('http://user:pw@example.com/', opts)).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
  })
})
