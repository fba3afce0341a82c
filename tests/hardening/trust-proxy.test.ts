/**
 * BRIEFCAST_TRUST_PROXY: behind a reverse proxy the listen-event rate limit
 * keys on the reader's address (X-Forwarded-For from a trusted proxy), and
 * without it X-Forwarded-For is ignored (a client cannot pick its bucket).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { postJson, startTestService, type TestService } from '../http/helpers.ts'

const services: TestService[] = []
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()))
})

async function eventsFrom(svc: TestService, id: string, forwardedFor: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${svc.url}/listen/${id}/events`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-forwarded-for': forwardedFor }, body: '{"event":"start"}' })
    await r.arrayBuffer()
    statuses.push(r.status)
  }
  return statuses
}

async function serviceWithArticle(overrides: Record<string, unknown>): Promise<{ svc: TestService; id: string }> {
  const svc = await startTestService(overrides)
  services.push(svc)
  const r = await postJson(svc, '/api/articles', { title: 'Counted', text: 'A short story to count listens of.' })
  return { svc, id: ((await r.json()) as { id: string }).id }
}

describe('trust proxy', () => {
  it('with the proxy trusted, each reader behind it has its own rate-limit bucket', { timeout: 60_000 }, async () => {
    const { svc, id } = await serviceWithArticle({ 'server.trustProxy': 'loopback' })
    // A burst of 60, then one a second: 80 in a row run into the limit.
    const a = await eventsFrom(svc, id, '198.51.100.1', 80)
    expect(a.slice(0, 60).every((s) => s === 204)).toBe(true)
    expect(a.at(-1)).toBe(429)
    // Another reader behind the same proxy is not throttled by the first one.
    expect(await eventsFrom(svc, id, '198.51.100.2', 1)).toEqual([204])
  })

  it('without it, X-Forwarded-For is ignored: a client cannot escape its bucket', { timeout: 60_000 }, async () => {
    const { svc, id } = await serviceWithArticle({})
    const a = await eventsFrom(svc, id, '198.51.100.1', 80)
    expect(a.at(-1)).toBe(429)
    expect(await eventsFrom(svc, id, '198.51.100.2', 1)).toEqual([429])
  })

  it('accepts hops, addresses, CIDRs and names; refuses "true" and garbage', () => {
    const parse = (v: string) => loadConfig({ env: { BRIEFCAST_TRUST_PROXY: v }, cwd: '/' }).server.trustProxy
    expect(parse('2')).toBe(2)
    expect(parse('false')).toBe(false)
    expect(parse('loopback, 10.0.0.0/8, 2001:db8::1')).toEqual(['loopback', '10.0.0.0/8', '2001:db8::1'])
    expect(() => parse('true')).toThrow(/BRIEFCAST_TRUST_PROXY/)
    expect(() => parse('10.0.0.0/99')).toThrow(/BRIEFCAST_TRUST_PROXY/)
    expect(() => parse('proxy.example')).toThrow(/BRIEFCAST_TRUST_PROXY/)
  })
})
