/**
 * externalId rules: printable, at most 256 characters, no "/", and never
 * equal to another article's id (it would shadow that article in every lookup).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, startTestService, type TestService } from '../http/helpers.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
})
afterAll(async () => {
  await svc?.stop()
})

const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string; details?: unknown } }).error

describe('externalId', () => {
  it.each([
    ['a NUL byte', 'cms\u0000-1'],
    ['a newline', 'cms\n1'],
    ['a slash', 'news/2024/1'],
    ['a bidi override', 'cms-\u202e1'],
    ['257 characters', 'x'.repeat(257)],
  ])('refuses %s', async (_what, externalId) => {
    const r = await postJson(svc, '/api/articles', { externalId, text: 'A short story.' })
    expect(r.status).toBe(400)
    const e = await errorOf(r)
    expect(e.code).toBe('VALIDATION_FAILED')
    expect(JSON.stringify(e.details)).toContain('externalId')
  })

  it('accepts printable ids up to 256 characters, quotes and non-ASCII included, and finds the article by them', async () => {
    for (const externalId of ['y'.repeat(256), 'cms "42" — été', "o'brien:17"]) {
      const r = await postJson(svc, '/api/articles', { externalId, text: 'A short story.' })
      expect(r.status, externalId).toBe(201)
      const info = await fetch(`${svc.url}/listen/${encodeURIComponent(externalId)}/info.json`)
      expect(info.status).toBe(200)
      expect(((await info.json()) as { externalId: string }).externalId).toBe(externalId)
    }
  })

  it('refuses an externalId equal to another article id, on create and on edit', async () => {
    const first = (await (await postJson(svc, '/api/articles', { text: 'The first story.' })).json()) as { id: string }
    const r = await postJson(svc, '/api/articles', { externalId: first.id, text: 'A second story.' })
    expect(r.status).toBe(409)
    expect((await errorOf(r)).code).toBe('CONFLICT')
    const second = (await (await postJson(svc, '/api/articles', { text: 'A third story.' })).json()) as { id: string }
    const put = await postJson(svc, `/api/articles/${second.id}`, { externalId: first.id }, 'PUT')
    expect(put.status).toBe(409)
    // The first article is still the one its id names.
    const info = (await (await fetch(`${svc.url}/listen/${first.id}/info.json`)).json()) as { id: string }
    expect(info.id).toBe(first.id)
  })
})
