/**
 * Progressive listening: the first audio byte of a NEW article (the reader
 * presses Listen right after it is published) against the time the full
 * render takes, on the same article in the same run. Goal: < 10%.
 * Then 50 readers at once on another new article: renders started (goal 1)
 * and their time to first byte.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { startService } from '../src/main.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const PARAGRAPHS = Number(process.env.BENCH_PARAGRAPHS ?? 20)
const key = 'bench-key-0123456789abcdef'
const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-bench-listen-'))

const svc = await startService({
  env: {},
  cwd: ROOT,
  handleSignals: false,
  logger: pino({ level: 'silent' }),
  overrides: { port: 0, host: '127.0.0.1', apiKey: key, dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache') },
})
const auth = { authorization: `Bearer ${key}` }

function article(seed: string): string {
  const topics = ['harbour', 'tram line', 'library', 'wind farm', 'school', 'bridge', 'market hall', 'museum']
  return Array.from({ length: PARAGRAPHS }, (_, i) => {
    const t = topics[(i + seed.length) % topics.length]
    // Unique numbers per run: nothing comes from the clip cache.
    return `Report ${seed}, section ${i + 1}: the ${t} plan was debated for ${(i * 13 + seed.length) % 90 + 10} minutes. The mayor said the ${t} would open in ${2027 + (i % 4)}, at a cost of ${seed.length * 100 + i * 7} thousand euros.`
  }).join('\n\n')
}

async function post(title: string, text: string): Promise<string> {
  const r = await fetch(`${svc.url}/api/articles`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ title, text }) })
  if (r.status !== 201) throw new Error(`POST ${r.status}: ${await r.text()}`)
  return ((await r.json()) as { id: string }).id
}

async function listen(id: string, start: number): Promise<{ firstByteMs: number; endMs: number; bytes: number; progressive: boolean }> {
  const res = await fetch(`${svc.url}/listen/${id}`)
  const reader = res.body!.getReader()
  let first = -1
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (first < 0 && value.length > 0) first = performance.now() - start
    bytes += value.length
  }
  return { firstByteMs: first, endMs: performance.now() - start, bytes, progressive: res.headers.get('x-briefcast-progressive') === '1' }
}

async function readyAt(id: string, start: number): Promise<number> {
  for (;;) {
    const a = (await svc.deps.store.articles.get(id))!
    if (a.status === 'ready') return performance.now() - start
    if (a.status === 'failed') throw new Error(`render failed: ${JSON.stringify(a.error)}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

try {
  // Warm up engines and workers so the first run does not pay start-up costs.
  const warm = await post('Warm-up', 'A short warm-up article. It primes the speech engine.')
  await listen(warm, performance.now())

  const ratios: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const id = await post(`Breaking story ${i}`, article(`run-${i}-${Date.now()}`))
    const start = performance.now()
    const [heard, ready] = await Promise.all([listen(id, start), readyAt(id, start)])
    const ep = (await svc.deps.store.episodes.get((await svc.deps.store.articles.get(id))!.episodeId!))!
    const ratio = heard.firstByteMs / ready
    ratios.push(ratio)
    process.stdout.write(
      `run ${i + 1}: ${(ep.durationMs / 1000).toFixed(0)} s of audio, ${ep.stats.segments} segments; first byte ${heard.firstByteMs.toFixed(0)} ms, full render ${ready.toFixed(0)} ms, ratio ${(ratio * 100).toFixed(1)}% (progressive: ${heard.progressive}, ${heard.bytes} bytes streamed)\n`,
    )
  }
  ratios.sort((a, b) => a - b)
  process.stdout.write(`first byte / full render: median ${(ratios[Math.floor(ratios.length / 2)]! * 100).toFixed(1)}% (goal < 10%)\n`)

  const id = await post('Fifty readers', article(`fifty-${Date.now()}`))
  const start = performance.now()
  const all = await Promise.all(Array.from({ length: 50 }, () => listen(id, start)))
  const firsts = all.map((a) => a.firstByteMs).sort((a, b) => a - b)
  const renders = svc.deps.renders.rendersByArticle.get(id)
  process.stdout.write(
    `50 concurrent listens: renders ${renders} (goal 1); first byte p50 ${firsts[25]!.toFixed(0)} ms, max ${firsts[49]!.toFixed(0)} ms; all streams identical: ${all.every((a) => a.bytes === all[0]!.bytes)}\n`,
  )
} finally {
  await svc.close()
  rmSync(dir, { recursive: true, force: true })
}
