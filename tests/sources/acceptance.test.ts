/**
 * Acceptance: a fresh install with only a feed URL configured (and a public
 * URL) turns every story of the feed into an episode without any API call,
 * and its /feeds/articles.xml carries what podcast apps check: valid artwork,
 * owner, category, explicit, enclosures with exact lengths, podcast:locked and
 * podcast:guid. Also measures feed-to-playable time on this machine.
 */
import { writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addUser, signIn } from '../admin/helpers.ts'
import { startTestService, type TestService } from '../http/helpers.ts'
import { rss, startSite, story, type Site } from './site.ts'

const PUBLIC = 'https://news.example.com/audio'
let svc: TestService
let site: Site
const stories = [story('p1', 'Harbour reopens', '2026-11-30T08:00:00Z'), story('p2', 'School wins prize', '2026-11-30T09:00:00Z')]

beforeAll(async () => {
  site = await startSite()
  site.docs.set('/feed.xml', { body: rss(site.url, stories), type: 'application/rss+xml' })
  svc = await startTestService({ 'fetch.allowlist': ['127.0.0.1'], publicUrl: PUBLIC, 'sources.list': [{ id: 'site', url: `${site.url}/feed.xml`, intervalSeconds: 2 }] })
}, 60_000)
afterAll(async () => {
  await svc?.stop()
  await site?.close()
})

/** Where the service listens (its public URL names news.example.com, as behind a proxy). */
const base = () => `http://127.0.0.1:${(svc.server.address() as AddressInfo).port}`
/** A public URL as this test reaches it. */
const local = (u: string) => base() + u.slice(PUBLIC.length)

async function waitPlayable(externalId: string, timeoutMs = 240_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await fetch(`${base()}/listen/${externalId}/info.json`)
    if (r.status === 200) {
      const info = (await r.json()) as { status: string; audioUrl: string | null; error: unknown }
      if (info.status === 'failed') throw new Error(`render failed: ${JSON.stringify(info.error)}`)
      if (info.audioUrl && (await fetch(local(info.audioUrl), { method: 'HEAD' })).status === 200) return info.audioUrl
    }
    if (Date.now() > deadline) throw new Error(`${externalId} not playable in time`)
    await new Promise((res) => setTimeout(res, 200))
  }
}

describe('a site with only a feed URL', () => {
  it('gets every story of the feed as an episode, with no API call', async () => {
    for (const s of stories) await waitPlayable(s.id)
    // A story published later appears on its own too; measured from "in the feed" to "audio playable".
    const t0 = Date.now()
    site.docs.set('/feed.xml', { body: rss(site.url, [story('p3', 'Rail line delayed', new Date().toISOString()), ...stories]), type: 'application/rss+xml' })
    await waitPlayable('p3')
    console.log(`published in the feed -> audio playable: ${((Date.now() - t0) / 1000).toFixed(1)} s (poll interval 2 s; espeak-ng, 4 paragraphs)`)
  }, 300_000)

  it('serves /feeds/articles.xml as podcast apps require', async () => {
    const xml = await (await fetch(`${base()}/feeds/articles.xml`)).text()
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(xml) as { rss: { channel: Record<string, unknown> & { item: Record<string, unknown>[] } } }
    const ch = doc.rss.channel
    const image = (ch['itunes:image'] as { '@href': string })['@href']
    expect(image.startsWith(`${PUBLIC}/assets/`)).toBe(true)
    const art = await fetch(local(image))
    expect(art.status).toBe(200)
    expect(art.headers.get('content-type')).toBe('image/png')
    const file = path.join(svc.dir, 'art.png')
    writeFileSync(file, Buffer.from(await art.arrayBuffer()))
    expect(await svc.deps.ffmpeg.checkImage(file)).toMatchObject({ codec: 'png', width: 3000, height: 3000 })
    expect(ch['itunes:owner']).toMatchObject({ 'itunes:email': expect.stringContaining('@') })
    expect((ch['itunes:category'] as { '@text': string })['@text']).toBeTruthy()
    expect(String(ch['itunes:explicit'])).toMatch(/^(false|true|yes|no|clean)$/)
    expect(ch['podcast:locked']).toMatchObject({ '#text': 'yes', '@owner': expect.stringContaining('@') })
    expect(String(ch['podcast:guid'])).toMatch(/^[0-9a-f-]{36}$/)
    const items = ch.item
    expect(items.length).toBe(3)
    for (const item of items) {
      const enc = item.enclosure as { '@url': string; '@length': string; '@type': string }
      expect(enc['@type']).toBe('audio/mpeg')
      const bytes = (await (await fetch(local(enc['@url']))).arrayBuffer()).byteLength
      expect(Number(enc['@length'])).toBe(bytes)
      // The description is the story's summary or first paragraph, not its title.
      expect(String(item.description)).not.toBe(String(item.title))
      expect(String(item.description)).toMatch(/paragraph 1|reported here/)
    }
    // With a public URL set there is no warning on the home page.
    expect(await (await fetch(`${base()}/`)).text()).not.toContain('role="alert"')
  })
})

describe('a service without a public URL', () => {
  it("warns on the dashboard that podcast apps cannot reach it, and links both feeds saying which to submit; the public page keeps the operator's warning to itself", async () => {
    const local = await startTestService()
    try {
      const { password } = await addUser(local, 'feeds-viewer', 'viewer')
      const session = await signIn(local, 'feeds-viewer', password)
      expect(await (await fetch(`${local.url}/`)).text()).not.toMatch(/points at this machine or a private network/)
      const home = await (await fetch(`${local.url}/admin`, { headers: { cookie: session.cookie } })).text()
      expect(home).toContain('role="alert"')
      expect(home).toMatch(/points at this machine or a private network/)
      expect(home).toContain('/feeds/articles.xml')
      expect(home).toContain('/feed.xml')
      expect(home).toMatch(/Submit this one/)
    } finally {
      await local.stop()
    }
  })
})
