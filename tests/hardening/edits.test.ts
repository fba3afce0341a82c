/**
 * Optimistic concurrency on articles and briefings: concurrent partial edits
 * never lose a field; If-Match answers 412 on a stale revision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { paragraphs, postJson, startTestService, waitForArticle, ready, type TestService } from '../http/helpers.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService({ 'jobs.concurrency': 1 })
})
afterAll(async () => {
  await svc?.stop()
})

async function createArticle(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const r = await postJson(svc, '/api/articles', { title: 'Council budget', text: paragraphs(1), ...extra })
  expect(r.status).toBe(201)
  return (await r.json()) as Record<string, unknown>
}

describe('concurrent partial edits', () => {
  it('keeps every field of 50 concurrent PUTs of different fields', async () => {
    const a = await createArticle()
    const n = 50
    // Four metadata fields (a url would be fetched): 50 PUTs are 12 or 13 per field, each sending one field only. Every edit is counted
    // in the revision, and each field ends with a value sent for it (never reset to an older state by an edit of another field).
    const fields = ['title', 'author', 'publishedAt', 'externalId'] as const
    const value = (f: string, i: number) =>
      f === 'publishedAt' ? new Date(Date.UTC(2024, 0, 1 + i)).toISOString() : `${f}-${i}`
    const sent: { field: string; value: string; i: number }[] = []
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const field = fields[i % fields.length]!
        sent.push({ field, value: value(field, i), i })
        return postJson(svc, `/api/articles/${a.id}`, { [field]: value(field, i) }, 'PUT')
      }),
    )
    for (const r of results) expect(r.status, await r.clone().text()).toBe(200)
    const final = (await (await svc.api(`/api/articles/${a.id}`)).json()) as Record<string, unknown>
    expect(final.revision).toBe(1 + n)
    // Every field holds one of the values sent for it: no edit reset a field it did not send to an older value.
    for (const f of fields) {
      const values = sent.filter((s) => s.field === f).map((s) => s.value)
      expect(values, `field ${f}`).toContain(final[f])
    }
  })

  it('merges two concurrent edits of different fields (title and author) every time', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await createArticle()
      const [r1, r2] = await Promise.all([
        postJson(svc, `/api/articles/${a.id}`, { title: `New title ${round}` }, 'PUT'),
        postJson(svc, `/api/articles/${a.id}`, { author: `Ann ${round}` }, 'PUT'),
      ])
      expect([r1.status, r2.status]).toEqual([200, 200])
      const final = (await (await svc.api(`/api/articles/${a.id}`)).json()) as Record<string, unknown>
      expect(final).toMatchObject({ title: `New title ${round}`, author: `Ann ${round}`, revision: 3 })
    }
  })

  it('sends an ETag and answers 412 to a PUT or DELETE with a stale If-Match', async () => {
    const a = await createArticle()
    const got = await svc.api(`/api/articles/${a.id}`)
    const etag = got.headers.get('etag')
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/)
    const put = (body: unknown, ifMatch: string) =>
      svc.api(`/api/articles/${a.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', 'if-match': ifMatch }, body: JSON.stringify(body) })
    const ok = await put({ title: 'First' }, etag!)
    expect(ok.status).toBe(200)
    const newTag = ok.headers.get('etag')
    expect(newTag).not.toBe(etag)
    const stale = await put({ author: 'Second' }, etag!)
    expect(stale.status).toBe(412)
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('PRECONDITION_FAILED')
    const del = await svc.api(`/api/articles/${a.id}`, { method: 'DELETE', headers: { 'if-match': etag! } })
    expect(del.status).toBe(412)
    const after = (await (await svc.api(`/api/articles/${a.id}`)).json()) as Record<string, unknown>
    expect(after).toMatchObject({ title: 'First', author: null, revision: 2 })
    expect((await svc.api(`/api/articles/${a.id}`, { method: 'DELETE', headers: { 'if-match': newTag! } })).status).toBe(204)
  })

  it('with If-Match, of 10 concurrent PUTs at one revision exactly one wins and the others get 412', async () => {
    const a = await createArticle()
    const etag = (await svc.api(`/api/articles/${a.id}`)).headers.get('etag')!
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        svc.api(`/api/articles/${a.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', 'if-match': etag }, body: JSON.stringify({ author: `A${i}` }) }),
      ),
    )
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([200, ...Array(9).fill(412)])
    const final = (await (await svc.api(`/api/articles/${a.id}`)).json()) as Record<string, unknown>
    expect(final.revision).toBe(2)
  })

  it('briefings have an ETag and honour If-Match on DELETE', async () => {
    const a = await createArticle()
    await waitForArticle(svc, String(a.id), ready)
    const created = await postJson(svc, '/api/briefings', { articleIds: [a.id] })
    expect(created.status).toBe(202)
    const b = (await created.json()) as { id: string }
    const got = await svc.api(`/api/briefings/${b.id}`)
    const etag = got.headers.get('etag')
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/)
    expect((await svc.api(`/api/briefings/${b.id}`, { method: 'DELETE', headers: { 'if-match': '"stale"' } })).status).toBe(412)
    expect((await svc.api(`/api/briefings/${b.id}`, { method: 'DELETE', headers: { 'if-match': etag! } })).status).toBe(204)
  })
})
