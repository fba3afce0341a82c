/**
 * What the public sees: security headers on every response (the embed page
 * may be framed, nothing else), and failed renders described by a code and a
 * plain message; internal error text only in the admin API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'

let svc: TestService
let readyId: string
beforeAll(async () => {
  svc = await startTestService()
  const r = await postJson(svc, '/api/articles', { title: 'Headers', text: 'A short story about headers.' })
  readyId = ((await r.json()) as { id: string }).id
  await waitForArticle(svc, readyId, ready)
})
afterAll(async () => {
  await svc?.stop()
})

describe('security headers', () => {
  it('every page but the embed page refuses framing; all responses are nosniff with a Referrer-Policy', async () => {
    const audio = ((await (await fetch(`${svc.url}/listen/${readyId}/info.json`)).json()) as { audioUrl: string }).audioUrl
    for (const path of ['/', '/home.js', '/healthz', `/listen/${readyId}/info.json`, '/feed.xml', '/player.js', '/api/articles', '/no/such/page', new URL(audio).pathname]) {
      const r = await fetch(svc.url + path)
      await r.arrayBuffer()
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(r.headers.get('referrer-policy'), path).toBeTruthy()
      expect(r.headers.get('x-frame-options'), path).toBe('DENY')
      expect(r.headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/)
    }
    const embed = await fetch(`${svc.url}/embed/${readyId}`)
    await embed.arrayBuffer()
    expect(embed.headers.get('x-frame-options')).toBeNull()
    expect(embed.headers.get('content-security-policy')).toMatch(/frame-ancestors \*/)
    expect(embed.headers.get('x-content-type-options')).toBe('nosniff')
    // The home page keeps its own script policy, with framing refused.
    const home = await fetch(svc.url + '/')
    expect(home.headers.get('content-security-policy')).toMatch(/script-src 'self'/)
  })
})

describe('public errors', () => {
  it('a render that failed before any episode is not public (#17); the newsroom sees the code and a plain message on info.json, and the details in the admin API', { timeout: 120_000 }, async () => {
    // A Google voice without credentials fails with a message naming the server's settings.
    const r = await postJson(svc, '/api/articles', { title: 'Will fail', text: 'This one cannot be spoken by the configured voice.', voice: 'google-en-us' })
    const { id } = (await r.json()) as { id: string }
    const admin = await waitForArticle(svc, id, ready)
    expect(admin.status).toBe('failed')
    const internal = (admin.error as { message: string }).message
    expect(internal).toMatch(/GOOGLE|credential/i)
    for (const url of [`${svc.url}/listen/${id}/info.json`, `${svc.url}/listen/${id}`]) {
      const pub = await fetch(url)
      expect(pub.status, url).toBe(404)
      const text = await pub.text()
      expect(text).toContain('ARTICLE_NOT_FOUND')
      expect(text).not.toContain(internal)
    }
    const info = (await (await svc.api(`/listen/${id}/info.json`)).json()) as { error: { code: string; message: string } }
    expect(info.error.code).toBe('MISSING_CREDENTIALS')
    expect(info.error.message).not.toContain(internal)
    expect(JSON.stringify(info)).not.toMatch(/GOOGLE_APPLICATION|keyFile|\/.*\.json/)
    const home = await (await fetch(svc.url + '/')).text()
    expect(home).not.toContain(internal.slice(0, 40))
  })
})
