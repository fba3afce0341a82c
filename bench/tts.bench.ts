/**
 * TTS benchmarks (issue 3). Prints, each measured in this run:
 *  - warm espeak-ng: one-sentence clip, median of 30 (target < 50 ms)
 *  - cold espeak-ng: a fresh WASM instance + the whole 5 300-character page in one call (baseline)
 *  - the same page split into segments by the script module and synthesized by the warm pool
 *    (target: < 0.5 x cold)
 *  - HTTP p99 of a trivial request on a server in this process while the pool synthesizes a
 *    long article (target < 20 ms), plus the event-loop delay p99
 *  - clip cache: engine calls for a repeat and for 50 concurrent requests of one new key
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { loadConfig } from '../src/config.ts'
import { articleToScript } from '../src/script/index.ts'
import { createEspeakEngine } from '../src/tts/espeak.ts'
import { createSpeechService } from '../src/tts/index.ts'

const page = readFileSync(new URL('../tests/fixtures/plain/lenovo-nvidia-ai-factories.txt', import.meta.url), 'utf8')
const workers = Math.max(1, Math.min(os.availableParallelism(), 8))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!
const ms = (x: number) => `${x.toFixed(1)} ms`

async function coldWholePage(): Promise<number> {
  // A fresh module instance (WASM compile + 24 MB data + dictionary load) and one call on the whole text.
  const t = performance.now()
  const { default: Module } = await import('@echogarden/espeak-ng-emscripten')
  const mod = (await Module()) as { eSpeakNGWorker: new () => { set_voice(v: string): number; synthesize(t: string, cb: () => number): void } }
  const espeak = new mod.eSpeakNGWorker()
  espeak.set_voice('en-us')
  espeak.synthesize(page.replace(/&/g, '&amp;').replace(/</g, '&lt;'), () => 0)
  return performance.now() - t
}

const engine = await createEspeakEngine({ workers })

// 1. warm one-sentence clips
const sentences = Array.from({ length: 40 }, (_, i) => `The market opened higher on day ${i + 1}, led by technology shares.`)
for (const text of sentences.slice(0, 10)) await engine.synthesize({ text, voice: { language: 'en-us' } }) // let every worker tier up
const warm: number[] = []
for (const text of sentences.slice(10)) {
  const t = performance.now()
  await engine.synthesize({ text, voice: { language: 'en-us' } })
  warm.push(performance.now() - t)
}
console.log(`espeak-ng warm one-sentence clip: median ${ms(median(warm))}, p90 ${ms(pct(warm, 0.9))} (target < 50 ms)`)

// 2. cold whole page vs. segmented on the warm pool
const cold = await coldWholePage()
const script = articleToScript({ content: page, format: 'text' }, { targetChars: engine.capabilities.targetChars })
const segmented: number[] = []
for (let run = 0; run < 3; run++) {
  const t = performance.now()
  await Promise.all(script.segments.map((s) => engine.synthesize({ text: s.text, voice: { language: 'en-us' } })))
  segmented.push(performance.now() - t)
}
const seg = median(segmented)
console.log(`espeak-ng cold, whole page (${page.length} chars) in one call: ${ms(cold)}  [baseline]`)
console.log(
  `espeak-ng warm pool (${workers} workers), ${script.segments.length} segments: ${ms(seg)}  ratio ${(seg / cold).toFixed(2)}x of cold (target < 0.50x)`,
)

// 3. HTTP latency while the pool synthesizes a long article
const server = http.createServer((_req, res) => res.end('ok'))
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
const longArticle = Array.from({ length: 3 }, (_, i) => script.segments.map((s) => `${s.text} (${i})`)).flat()
const loop = monitorEventLoopDelay({ resolution: 1 })
loop.enable()
let done = false
const t0 = performance.now()
const work = Promise.all(longArticle.map((text) => engine.synthesize({ text, voice: { language: 'en-us' } }))).finally(() => (done = true))
const latencies: number[] = []
const agent = new http.Agent({ keepAlive: true })
const get = () =>
  new Promise<void>((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      res.resume()
      res.on('end', resolve)
    }).on('error', reject)
  })
while (!done) {
  const t = performance.now()
  await get()
  latencies.push(performance.now() - t)
  await new Promise((r) => setTimeout(r, 2))
}
await work
loop.disable()
agent.destroy()
server.close()
console.log(
  `HTTP trivial request while the pool synthesizes ${longArticle.length} segments (${ms(performance.now() - t0)}): ` +
    `${latencies.length} requests, p50 ${ms(pct(latencies, 0.5))}, p99 ${ms(pct(latencies, 0.99))} (target < 20 ms); ` +
    `event-loop delay p99 ${ms(loop.percentile(99) / 1e6)}`,
)
await engine.close()

// 4. clip cache: hits and single flight, counted
const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-bench-'))
const config = loadConfig({
  env: {},
  cwd: dir,
  overrides: {
    cacheDir: path.join(dir, 'cache'),
    voicesDir: new URL('../voices', import.meta.url).pathname,
    'tts.espeakWorkers': workers,
  },
})
let engineCalls = 0
const service = await createSpeechService(config, { onEngineCall: () => engineCalls++ })
const profile = service.getProfile('default')
const segment = { id: 'b1', kind: 'paragraph' as const, text: 'A sentence for the cache benchmark.', pauseAfterMs: 500, sectionIndex: 0 }
let t = performance.now()
await service.synthesizeSegment(segment, profile)
const missMs = performance.now() - t
const callsAfterFirst = engineCalls
t = performance.now()
const hit = await service.synthesizeSegment(segment, profile)
const hitMs = performance.now() - t
const fresh = { ...segment, id: 'b2', text: 'Fifty listeners asked for this sentence at once.' }
const before = engineCalls
await Promise.all(Array.from({ length: 50 }, () => service.synthesizeSegment(fresh, profile)))
console.log(
  `clip cache: miss ${ms(missMs)} (${callsAfterFirst} engine call), repeat ${ms(hitMs)} cached=${hit.cached} with ${engineCalls - callsAfterFirst} engine calls; ` +
    `50 concurrent requests for one new key: ${engineCalls - before} engine call(s)`,
)
await service.close()
