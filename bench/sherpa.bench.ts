/**
 * The local neural engine (sherpa-onnx) on the tiny generated Piper-shaped model
 * (tests/tts/piper-model.ts). Prints, each measured in this run:
 *  - real-time factor (synthesis seconds per second of audio) of the fixture page, split into
 *    segments, on 1 worker and on 2 workers, against espeak-ng on the same segments (baseline,
 *    run alternately with it);
 *  - memory (RSS) of the first worker with the model loaded (it includes the ONNX Runtime
 *    library, loaded once per process) and of each further worker.
 * The tiny model's graph is a sine generator, so its RTF is the engine's own cost (espeak-ng
 * phonemization inside sherpa-onnx, ONNX Runtime calls, the worker round trip), not a neural
 * network's. What a real Piper model costs is printed after it, from sherpa-onnx's published
 * table, marked as such (not measured here: no real model can be downloaded on this machine).
 */
import { promises as fs, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { articleToScript } from '../src/script/index.ts'
import { createEspeakEngine } from '../src/tts/espeak.ts'
import type { TtsEngine } from '../src/tts/engine.ts'
import { installModel } from '../src/tts/models.ts'
import { createSherpaEngine } from '../src/tts/sherpa.ts'
import { tinyPiperArchive } from '../tests/tts/piper-model.ts'

const MODEL = 'vits-piper-en_US-tiny-low'
const page = readFileSync(new URL('../tests/fixtures/plain/lenovo-nvidia-ai-factories.txt', import.meta.url), 'utf8')
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

console.log(`machine: ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-bench-sherpa-'))
try {
  const archive = await tinyPiperArchive(dir, MODEL, { sampleRate: 22050 })
  const modelsDir = path.join(dir, 'models')
  await installModel(archive, { modelsDir, maxBytes: 100e6, allowlist: [], timeoutMs: 10_000 })
  const script = articleToScript({ content: page, format: 'text' }, { targetChars: 400 })
  const texts = script.segments.map((s) => s.text)

  // Memory: RSS with no engine, then with one busy worker (model loaded), then with two.
  global.gc?.()
  const rss0 = process.memoryUsage().rss
  const one = await createSherpaEngine({ modelsDir, workers: 1 })
  await one.synthesize({ text: texts[0]!, voice: { name: MODEL, language: 'en-US' } })
  const rss1 = process.memoryUsage().rss
  await one.close()
  const two = await createSherpaEngine({ modelsDir, workers: 2 })
  await Promise.all(texts.slice(0, 4).map((text) => two.synthesize({ text, voice: { name: MODEL, language: 'en-US' } })))
  const rss2 = process.memoryUsage().rss
  await two.close()

  async function rtf(engine: TtsEngine, voice: { name?: string; language: string }, parallel: boolean): Promise<number> {
    const t = performance.now()
    let audioMs = 0
    if (parallel) for (const c of await Promise.all(texts.map((text) => engine.synthesize({ text, voice })))) audioMs += c.durationMs
    else for (const text of texts) audioMs += (await engine.synthesize({ text, voice })).durationMs
    return (performance.now() - t) / audioMs
  }

  const sherpa1 = await createSherpaEngine({ modelsDir, workers: 1 })
  const sherpa2 = await createSherpaEngine({ modelsDir, workers: 2 })
  const espeak1 = await createEspeakEngine({ workers: 1, warmUp: false })
  const neural = { name: MODEL, language: 'en-US' }
  const plain = { language: 'en-us' }
  // Warm every engine once, then alternate runs so the machine's load hits them alike.
  await rtf(sherpa1, neural, false)
  await rtf(sherpa2, neural, true)
  await rtf(espeak1, plain, false)
  const runs = { s1: [] as number[], s2: [] as number[], e1: [] as number[] }
  for (let i = 0; i < 5; i++) {
    runs.s1.push(await rtf(sherpa1, neural, false))
    runs.e1.push(await rtf(espeak1, plain, false))
    runs.s2.push(await rtf(sherpa2, neural, true))
  }
  await Promise.all([sherpa1.close(), sherpa2.close(), espeak1.close()])
  const [s1, s2, e1] = [median(runs.s1), median(runs.s2), median(runs.e1)]
  console.log(`sherpa-onnx, tiny generated model, ${texts.length} segments, 1 worker: RTF ${s1.toFixed(4)}  (${(s1 / e1).toFixed(2)}x espeak-ng's RTF ${e1.toFixed(4)} on the same segments, 1 worker)`)
  console.log(`sherpa-onnx, tiny generated model, same segments, 2 workers in parallel: RTF ${s2.toFixed(4)}  (${(s2 / s1).toFixed(2)}x of 1 worker)`)
  console.log(`sherpa-onnx memory: first worker with the model loaded +${mb(rss1 - rss0)} RSS (includes ONNX Runtime, once per process); a second worker +${mb(Math.max(0, rss2 - rss1))}`)
  console.log('published, NOT measured here (sherpa-onnx docs, "RTF of pre-trained models", Raspberry Pi 4 Model B, 1 / 2 / 4 threads, model size):')
  console.log('  vits-piper-en_US-lessac-medium      RTF 0.774 / 0.482 / 0.357   61 MB')
  console.log('  vits-piper-en_US-libritts_r-medium  RTF 0.790 / 0.493 / 0.357   75 MB')
  console.log('  kokoro-en-v0_19                     RTF 6.629 / 3.870 / 2.774  330 MB')
} finally {
  await fs.rm(dir, { recursive: true, force: true })
}
