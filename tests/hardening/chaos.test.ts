/**
 * Chaos: N cycles of kill -9 at random moments (the service, or its render
 * child) while articles are ingested, edited, listened to and briefed, with
 * restarts on the same data. Afterwards: every article ends ready, every
 * served file is whole (its length as recorded, and ffmpeg decodes it), no
 * temp file or unfinished job is left, and no acknowledged edit is lost.
 *
 * CHAOS_CYCLES sets the number of kill cycles (default 20; `npm run soak`
 * runs 200); CHAOS_SEED replays a run's random choices.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/audio/ffmpeg.ts'
import { API_KEY, paragraphs } from '../http/helpers.ts'
import { spawnService, type ChildService } from './child-service.ts'

const CYCLES = Number(process.env.CHAOS_CYCLES ?? 20)
const MAX_ARTICLES = Number(process.env.CHAOS_ARTICLES ?? Math.max(6, Math.ceil(CYCLES / 4)))
const MAX_BRIEFINGS = Math.max(2, Math.ceil(CYCLES / 10))
const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Date.now() % 2 ** 31

const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-chaos-'))
const configFile = path.join(dir, 'briefcast.config.json')
// Kills interrupt renders: quick retries, and enough attempts that the kills alone never exhaust them.
writeFileSync(configFile, JSON.stringify({ jobs: { retryBaseMs: 200, maxAttempts: 20 } }))
const env = {
  BRIEFCAST_CONFIG: configFile,
  BRIEFCAST_DATA_DIR: path.join(dir, 'data'),
  BRIEFCAST_CACHE_DIR: path.join(dir, 'cache'),
  BRIEFCAST_API_KEY: API_KEY,
  BRIEFCAST_JOB_CONCURRENCY: '1',
}
let svc: ChildService | undefined
afterAll(async () => {
  await svc?.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** mulberry32: a small seeded generator, so CHAOS_SEED replays a run's choices. */
const rng = (() => {
  let a = SEED >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
})()
const pick = <T>(xs: T[]): T => xs[Math.floor(rng() * xs.length)]!

/** Per article and field: the values sent, in order, and whether each was acknowledged (200). */
type Sent = { value: string; acked: boolean }
const edits = new Map<string, Map<string, Sent[]>>()
const created: string[] = []
const briefings: string[] = []
const counts = { create: 0, edit: 0, listen: 0, briefing: 0, lost: 0, killService: 0, killRender: 0 }

const api = (s: ChildService, p: string, init: RequestInit = {}) =>
  fetch(s.url + p, { ...init, signal: AbortSignal.timeout(60_000), headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } })

async function randomOp(s: ChildService, cycle: number, n: number): Promise<void> {
  const r = rng()
  try {
    // A few articles, edited and listened to over and over: every edit is a render, and renders are what the kills interrupt.
    if (created.length === 0 || (r < 0.3 && created.length < MAX_ARTICLES)) {
      counts.create++
      const res = await api(s, '/api/articles', { method: 'POST', body: JSON.stringify({ title: `Chaos ${cycle}.${n}`, text: paragraphs(1 + Math.floor(rng() * 2), `Cycle ${cycle} story ${n}`) }) })
      if (res.status === 201) created.push(((await res.json()) as { id: string }).id)
    } else if (r < 0.7) {
      counts.edit++
      const id = pick(created)
      const field = pick(['title', 'author'])
      const value = `${field}-${cycle}-${n}`
      const sent: Sent = { value, acked: false }
      const perField = edits.get(id) ?? new Map<string, Sent[]>()
      edits.set(id, perField)
      perField.set(field, [...(perField.get(field) ?? []), sent])
      const res = await api(s, `/api/articles/${id}`, { method: 'PUT', body: JSON.stringify({ [field]: value }) })
      if (res.status === 200) sent.acked = true
      await res.arrayBuffer()
    } else if (r < 0.9) {
      counts.listen++
      const res = await fetch(`${s.url}/listen/${pick(created)}`, { signal: AbortSignal.timeout(3000) })
      await res.arrayBuffer()
    } else if (briefings.length < MAX_BRIEFINGS) {
      counts.briefing++
      const res = await api(s, '/api/briefings', { method: 'POST', body: JSON.stringify({ articleIds: [pick(created), pick(created)], allowPartial: true }) })
      if (res.status === 202) briefings.push(((await res.json()) as { id: string }).id)
    }
  } catch {
    counts.lost++ // the service was killed under it (or the listen timed out): the outcome is unknown
  }
}

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = []
  const walk = (d: string) => {
    let names: string[] = []
    try {
      names = readdirSync(d)
    } catch {
      return
    }
    for (const name of names) {
      const p = path.join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(p)
    }
  }
  walk(root)
  return out
}

describe('chaos', () => {
  it(`${CYCLES} cycles of kill -9 during ingest, render, edit and briefing lose nothing`, { timeout: 30 * 60_000 }, async () => {
    const started = Date.now()
    const starts: number[] = []
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const t0 = Date.now()
      if (!svc?.alive()) svc = await spawnService(env)
      const s = svc
      starts.push(Date.now() - t0)
      const killAt = Date.now() + 200 + rng() * 1500
      const killService = rng() < 0.5
      // Two clients at once until the kill.
      await Promise.all(
        [0, 1].map(async (w) => {
          for (let n = 0; Date.now() < killAt && s.alive(); n++) await randomOp(s, cycle, w * 1000 + n)
        }),
      )
      const render = s.children().find((c) => c.args.includes('render-process'))
      if (killService || !render) {
        counts.killService++
        await s.kill('SIGKILL')
      } else {
        counts.killRender++
        process.kill(render.pid, 'SIGKILL')
      }
    }
    if (!svc?.alive()) svc = await spawnService(env)
    const s = svc!

    // Everything settles: every article ready, every briefing ready, no job left.
    const deadline = Date.now() + 20 * 60_000
    let articles: { id: string; status: string; title: string; author: string | null; episode: { bytes: number } | null; audioUrl: string | null }[] = []
    for (;;) {
      const page = (await (await api(s, '/api/articles?limit=100')).json()) as { items: typeof articles; total: number }
      articles = page.items
      for (let offset = 100; offset < page.total; offset += 100) articles.push(...((await (await api(s, `/api/articles?limit=100&offset=${offset}`)).json()) as { items: typeof articles }).items)
      const b = (await (await api(s, '/api/briefings?limit=100')).json()) as { items: { status: string }[] }
      if (articles.every((a) => a.status === 'ready') && b.items.every((x) => x.status === 'ready' || x.status === 'failed')) break
      if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify(articles.filter((a) => a.status !== 'ready').map((a) => [a.id, a.status]))}`)
      await new Promise((r) => setTimeout(r, 500))
    }
    console.log(`chaos: ${CYCLES} cycles (seed ${SEED}) in ${Math.round((Date.now() - started) / 1000)} s (service starts: ${starts.filter((t) => t > 50).map((t) => (t / 1000).toFixed(1)).join(', ')} s): ${JSON.stringify(counts)}; ${articles.length} articles, ${briefings.length} briefings`)
    expect(counts.killService + counts.killRender).toBe(CYCLES)
    for (const id of created) expect(articles.map((a) => a.id)).toContain(id)

    // No acknowledged edit lost: each field holds its last acknowledged value or a later one whose answer was lost.
    for (const [id, fields] of edits) {
      const a = articles.find((x) => x.id === id)!
      for (const [field, sent] of fields) {
        const lastAcked = sent.map((x) => x.acked).lastIndexOf(true)
        if (lastAcked < 0 && !sent.some((x) => (a as Record<string, unknown>)[field] === x.value)) continue // none acknowledged, none applied
        const allowed = sent.slice(Math.max(0, lastAcked)).map((x) => x.value)
        expect(allowed, `${id}.${field}`).toContain((a as Record<string, unknown>)[field])
      }
    }

    // Every served file is whole: its recorded length, and ffmpeg decodes it without an error.
    const ffmpeg = locateFfmpeg().ffmpegPath
    for (const a of articles) {
      const res = await fetch(a.audioUrl!)
      expect(res.status).toBe(200)
      const bytes = Buffer.from(await res.arrayBuffer())
      expect(bytes.length, a.id).toBe(a.episode!.bytes)
      const file = path.join(dir, `check-${a.id}.mp3`)
      writeFileSync(file, bytes)
      await promisify(execFile)(ffmpeg, ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'])
      rmSync(file)
    }

    // No job and no temp file left behind.
    await s.kill('SIGTERM')
    const Database = (await import('better-sqlite3')).default
    const db = new Database(path.join(dir, 'data', 'briefcast.db'), { readonly: true })
    try {
      expect(db.prepare(`SELECT id, kind, subject_id, status FROM jobs WHERE status IN ('queued','running')`).all()).toEqual([])
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    } finally {
      db.close()
    }
    const leftovers = (await allFiles(dir)).filter((f) => /\.tmp$|\/tmp\//.test(path.relative(dir, f)))
    expect(leftovers).toEqual([])
  })
})
