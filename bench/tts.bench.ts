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
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../src/config.ts'
import { articleToScript } from '../src/script/index.ts'
import { createEspeakEngine } from '../src/tts/espeak.ts'
import { createSpeechService } from '../src/tts/index.ts'

const pageUrl = new URL('../tests/fixtures/plain/lenovo-nvidia-ai-factories.txt', import.meta.url)
const page = readFileSync(pageUrl, 'utf8')
const workers = Math.max(1, Math.min(os.availableParallelism(), 8))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!
const ms = (x: number) => `${x.toFixed(1)} ms`

/**
 * Cold: a fresh process loads the module, instantiates the WASM (compile + 24 MB data +
 * dictionary) and synthesizes the whole page in one call; it times itself from before the
 * import, so node's own start-up is not counted. A fresh process, because V8 may reuse
 * compiled WASM for a second instance in the same process.
 */
function coldWholePage(): number {
  const code = `
    const t = performance.now()
    const { default: Module } = await import('@echogarden/espeak-ng-emscripten')
    const mod = await Module()
    const espeak = new mod.eSpeakNGWorker()
    espeak.set_voice('en-us')
    const text = (await import('node:fs')).readFileSync(${JSON.stringify(fileURLToPath(pageUrl))}, 'utf8')
    espeak.synthesize(text.replace(/&/g, '&amp;').replace(/</g, '&lt;'), () => 0)
    console.log(performance.now() - t)
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`cold run failed: ${r.stderr}`)
  return Number(r.stdout.trim())
}

// Timings on a shared machine mean little without its load: print it with the figures.
console.log(`machine: ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
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

// 2. cold whole page vs. segmented on the warm pool. The pool is warmed on other articles,
// never on this page; then cold and pool runs alternate so both see the same machine load.
for (const f of ['story-1.txt', 'story-2.txt', 'story-3.txt']) {
  const other = articleToScript({ content: readFileSync(new URL(`../tests/fixtures/plain/${f}`, import.meta.url), 'utf8'), format: 'text' })
  await Promise.all(other.segments.map((s) => engine.synthesize({ text: s.text, voice: { language: 'en-us' } })))
}
const script = articleToScript({ content: page, format: 'text' }, { targetChars: engine.capabilities.targetChars })
const colds: number[] = []
const segmented: number[] = []
for (let run = 0; run < 3; run++) {
  colds.push(coldWholePage())
  const t = performance.now()
  await Promise.all(script.segments.map((s) => engine.synthesize({ text: s.text, voice: { language: 'en-us' } })))
  segmented.push(performance.now() - t)
}
const cold = median(colds)
const seg = median(segmented)
// The same segments on one worker: what splitting alone buys, without the pool's parallelism.
const single = await createEspeakEngine({ workers: 1 })
const t1 = performance.now()
await Promise.all(script.segments.map((s) => single.synthesize({ text: s.text, voice: { language: 'en-us' } })))
const oneWorker = performance.now() - t1
await single.close()
console.log(`espeak-ng cold, whole page (${page.length} chars) in one call: ${ms(cold)} (median of 3 fresh processes)  [baseline]`)
console.log(
  `espeak-ng warm pool (${workers} workers), ${script.segments.length} segments: median ${ms(seg)}  ratio ${(seg / cold).toFixed(2)}x of cold (target < 0.50x); ` +
    `first sight of the page ${ms(segmented[0]!)} (${(segmented[0]! / colds[0]!).toFixed(2)}x of the cold run beside it)`,
)
console.log(`espeak-ng warm, 1 worker, same segments: ${ms(oneWorker)}  ratio ${(oneWorker / cold).toFixed(2)}x of cold`)

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
const repeatCalls = engineCalls - callsAfterFirst
const fresh = { ...segment, id: 'b2', text: 'Fifty listeners asked for this sentence at once.' }
const before = engineCalls
await Promise.all(Array.from({ length: 50 }, () => service.synthesizeSegment(fresh, profile)))
console.log(
  `clip cache: miss ${ms(missMs)} (${callsAfterFirst} engine call), repeat ${ms(hitMs)} cached=${hit.cached} with ${repeatCalls} engine calls; ` +
    `50 concurrent requests for one new key: ${engineCalls - before} engine call(s)`,
)
await service.close()
