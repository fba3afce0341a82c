/**
 * The service on PostgreSQL (BRIEFCAST_DATABASE_URL): ingest, render, Listen and the feed, with every row in a
 * fresh schema.
 */
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { paragraphs, postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { addUser, asSession, signIn } from '../admin/helpers.ts'
import { freshSchema, PG_URL, postgresUnavailable, urlWithSchema } from './pg.ts'

const unavailable = await postgresUnavailable('the service on PostgreSQL (tests/store/postgres-service.test.ts)')

async function createSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`CREATE SCHEMA ${schema}`)
  await client.end()
}

const services: TestService[] = []
afterAll(async () => {
  for (const s of services.splice(0)) await s.stop()
})

describe.skipIf(unavailable !== undefined)(`the service on PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('ingests, renders, serves Listen and the feed; the rows are in PostgreSQL', async () => {
    const schema = freshSchema()
    await createSchema(schema)
    const svc = await startTestService({ 'database.url': urlWithSchema(schema) })
    services.push(svc)
    expect(svc.deps.store.dialect).toBe('postgres')
    const r = await postJson(svc, '/api/articles', { title: 'Harbour news on Postgres', externalId: 'pg-1', text: paragraphs(2, 'The harbour board met on Monday') })
    expect(r.status).toBe(201)
    const id = ((await r.json()) as { id: string }).id
    const a = await waitForArticle(svc, id, ready, 180_000)
    expect(a.status).toBe('ready')
    const listen = await fetch(`${svc.url}/listen/${id}`)
    expect(listen.status).toBe(200)
    const audio = Buffer.from(await listen.arrayBuffer())
    expect(audio.length).toBe((a.episode as { bytes: number }).bytes)
    const feed = await (await fetch(`${svc.url}/feeds/articles.xml`)).text()
    expect(feed).toContain('Harbour news on Postgres')
    const readyz = (await (await fetch(`${svc.url}/readyz`)).json()) as { dependencies: Record<string, string>; checks: Record<string, { detail: string }> }
    expect(readyz.dependencies.database).toBe('ok')
    expect(readyz.checks.database!.detail).toMatch(/^postgres 127\.0\.0\.1:5432\//)

    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    const rows = (await client.query(`SELECT id, status, url_key FROM ${schema}.articles`)).rows as { id: string; status: string }[]
    const jobs = (await client.query(`SELECT status FROM ${schema}.jobs WHERE subject_id = $1`, [id])).rows as { status: string }[]
    await client.end()
    expect(rows).toEqual([{ id, status: 'ready', url_key: null }])
    expect(jobs).toEqual([{ status: 'done' }])

    // The dashboard on PostgreSQL: the first admin was made at start, sessions, keys, pages, pronunciation, downloads and figures.
    expect(await svc.deps.store.accounts.countUsers()).toBe(1)
    const u = await addUser(svc, 'Editor.One', 'admin')
    const session = await signIn(svc, 'editor.one', u.password)
    for (const p of ['/admin', `/admin/articles/${id}`, '/admin/figures', '/admin/pronunciation', '/admin/users', '/admin/keys', '/admin/voices', '/admin/briefings', '/admin?q=harbour'])
      expect((await asSession(svc, session, p)).status, p).toBe(200)
    expect(await (await asSession(svc, session, '/admin?q=HARBOUR NEWS')).text()).toContain('Harbour news on Postgres')
    const key = (await (await asSession(svc, session, '/api/keys', { method: 'POST', json: { name: 'CMS', role: 'viewer' } })).json()) as { key: string }
    expect((await fetch(`${svc.url}/api/me`, { headers: { authorization: `Bearer ${key.key}` } })).status).toBe(200)
    const saved = await asSession(svc, session, '/api/lexicon/en', { method: 'PUT', json: { entries: [{ match: 'harbour', say: 'har bor' }] } })
    expect(saved.status).toBe(200)
    expect(((await saved.json()) as { affected: { id: string }[] }).affected.map((x) => x.id)).toEqual([id])
    // Two downloads: the Listen fetch above (the whole file, user agent "node") and a podcast app, twice (once a day).
    for (let i = 0; i < 2; i++) await (await fetch(a.audioUrl as string, { headers: { 'user-agent': 'Overcast/3.0 (+http://overcast.fm/; iOS podcast app)' } })).arrayBuffer()
    let figures: { totals: { downloads: number } } = { totals: { downloads: 0 } }
    for (let i = 0; i < 50 && figures.totals.downloads < 2; i++) {
      await new Promise((res) => setTimeout(res, 50))
      figures = (await (await asSession(svc, session, `/api/figures?article=${id}`)).json()) as typeof figures
    }
    await new Promise((res) => setTimeout(res, 200))
    figures = (await (await asSession(svc, session, `/api/figures?article=${id}`)).json()) as typeof figures
    expect(figures.totals.downloads).toBe(2)
    const csv = await (await asSession(svc, session, '/api/figures.csv')).text()
    expect(csv.split('\r\n')[1]).toContain(id)
  }, 240_000)
})
