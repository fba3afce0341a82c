/**
 * Pronunciation through the API on the real service: the database holds the
 * lexicon (seeded from voices/lexicon/), a save names the articles it touches,
 * and re-rendering them synthesizes only the segments with the word (render stats).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { addUser, asSession, signIn } from './helpers.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
})
afterAll(async () => {
  await svc?.stop()
})

const NAME = 'Zorblax'
const WITH_WORD = [
  'The city council met on Tuesday evening to settle the budget for next year.',
  `The chief executive of ${NAME} told members the company would hire forty people.`,
  'Members argued for three hours about the cost of the new river bridge.',
  'The final vote was seven to four, and the budget takes effect in January.',
].join('\n\n')
const WITHOUT_WORD = 'The library opens a new reading room on Monday.\n\nChildren can borrow up to ten books at a time.'

describe('pronunciation', () => {
  it('an edit re-renders only the affected articles, and only their segments with the word', async () => {
    const seeded = (await (await svc.api('/api/lexicon/en')).json()) as { entries: { match: string; say: string }[] }
    expect(seeded.entries.find((e) => e.match === 'Nvidia')).toEqual({ match: 'Nvidia', say: 'en-vidia' }) // from voices/lexicon/en.json

    const a = (await (await postJson(svc, '/api/articles', { title: 'Council budget', text: WITH_WORD })).json()) as { id: string }
    const b = (await (await postJson(svc, '/api/articles', { title: 'Library', text: WITHOUT_WORD })).json()) as { id: string }
    const readyA = await waitForArticle(svc, a.id, ready)
    const readyB = await waitForArticle(svc, b.id, ready)
    expect(readyA.status).toBe('ready')
    const epA1 = (readyA.episode as { hash: string }).hash
    expect(readyB.status).toBe('ready')
    const epB1 = (await svc.deps.store.articles.get(b.id))!.episodeId
    const segmentsA = (await svc.deps.store.articles.getScript(a.id))!.script.segments
    const withWord = segmentsA.filter((s) => s.text.includes(NAME)).length
    expect(withWord).toBe(1)
    expect(segmentsA.length).toBeGreaterThan(3)

    const entries = [...seeded.entries, { match: NAME, say: 'zor blacks' }]
    const saved = await postJson(svc, '/api/lexicon/en', { entries }, 'PUT')
    expect(saved.status).toBe(200)
    const body = (await saved.json()) as { changed: string[]; affected: { id: string }[]; entries: unknown[] }
    expect(body.changed).toEqual([NAME])
    expect(body.affected.map((x) => x.id)).toEqual([a.id])
    expect(body.entries).toHaveLength(entries.length)

    const rr = await postJson(svc, '/api/lexicon/en/rerender', { articleIds: body.affected.map((x) => x.id) })
    expect(rr.status).toBe(202)
    const after = await waitForArticle(svc, a.id, (x) => x.status === 'ready' && (x.episode as { hash: string }).hash !== epA1)
    const ep = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(a.id))!.episodeId!))!
    // Only the segment with the word was synthesized again; the rest came from the clip cache.
    expect(ep.stats.synthesized).toBe(withWord)
    expect(ep.stats.cached).toBe(segmentsA.length - withWord)
    expect((after.episode as { hash: string }).hash).not.toBe(epA1)
    // The other article was not touched.
    expect((await svc.deps.store.articles.get(b.id))!.episodeId).toBe(epB1)
    expect((await svc.deps.store.episodes.listForArticle(b.id))).toHaveLength(1)

    // The database is the source: a restart would read it back; GET shows the new entry now.
    const now = (await (await svc.api('/api/lexicon/en')).json()) as { entries: { match: string }[] }
    expect(now.entries.some((e) => e.match === NAME)).toBe(true)
  }, 240_000)

  it('"hear it" answers with a WAV of the text in the chosen voice', async () => {
    const r = await postJson(svc, '/api/lexicon/en/hear', { text: 'zor blacks', voice: 'default' })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/audio\/wav/)
    const wav = Buffer.from(await r.arrayBuffer())
    expect(wav.subarray(0, 4).toString()).toBe('RIFF')
    expect(wav.length).toBeGreaterThan(8000)
    expect((await postJson(svc, '/api/lexicon/en/hear', { text: '' })).status).toBe(400)
    expect((await postJson(svc, '/api/lexicon/en/hear', { text: 'x', voice: 'nope' })).status).toBe(400)
  }, 120_000)

  it('validates entries, and a viewer can read but not change', async () => {
    const bad = await postJson(svc, '/api/lexicon/en', { entries: [{ match: 'X', say: '' }] }, 'PUT')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/entries\.0\.say/)
    const dup = await postJson(svc, '/api/lexicon/en', { entries: [{ match: 'X', say: 'ex' }, { match: 'X', say: 'eks' }] }, 'PUT')
    expect(dup.status).toBe(400)
    expect((await svc.api('/api/lexicon/../etc')).status).toBe(404)
    expect((await svc.api('/api/lexicon/e%20n')).status).toBe(400)
    const u = await addUser(svc, 'lexviewer', 'viewer')
    const s = await signIn(svc, u.username, u.password)
    expect((await asSession(svc, s, '/api/lexicon/en')).status).toBe(200)
    expect((await asSession(svc, s, '/api/lexicon/en', { method: 'PUT', json: { entries: [] } })).status).toBe(403)
    const page = await (await fetch(svc.url + '/admin/pronunciation', { headers: { cookie: s.cookie } })).text()
    expect(page).toContain('en-vidia')
    expect(page).not.toContain('data-hear')
  })
})
