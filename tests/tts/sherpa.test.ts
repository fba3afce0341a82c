/**
 * The local neural engine with the real sherpa-onnx runtime, on a tiny Piper-shaped model that the
 * test builds (piper-model.ts): its output is a 440 Hz sine, SAMPLES_PER_TOKEN samples per token
 * at speed 1, amplitude 0.3 + 0.1 * speaker, at the sample rate its metadata declares.
 */
import { promises as fs, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { sentenceSpans } from '../../src/audio/transcript.ts'
import { installModel } from '../../src/tts/models.ts'
import { createSherpaEngine, type SherpaEngine } from '../../src/tts/sherpa.ts'
import { assertPoolStopped, engineContract } from './contract.ts'
import { SAMPLES_PER_TOKEN, tinyPiperArchive } from './piper-model.ts'

const article = readFileSync(new URL('../fixtures/plain/lenovo-nvidia-ai-factories.txt', import.meta.url), 'utf8')
const MODEL = 'vits-piper-en_US-tiny-low'

let tmp: string
let modelsDir: string

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-sherpa-'))
  modelsDir = path.join(tmp, 'models')
  const archive = await tinyPiperArchive(tmp, MODEL, { speakers: 3, sampleRate: 16000 })
  await installModel(archive, { modelsDir, maxBytes: 100e6, allowlist: [], timeoutMs: 10_000 })
}, 180_000)

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true })
})

function peak(pcm: Buffer): number {
  let max = 0
  for (let i = 0; i + 1 < pcm.length; i += 2) max = Math.max(max, Math.abs(pcm.readInt16LE(i)))
  return max / 32767
}

/** Cycles per second of a clip: rising crossings of the zero line, with hysteresis against rounding noise. */
function frequency(pcm: Buffer, sampleRate: number): number {
  let cycles = 0
  let low = false
  for (let i = 0; i + 1 < pcm.length; i += 2) {
    const s = pcm.readInt16LE(i) / 32767
    if (s < -0.05) low = true
    else if (low && s > 0.05) {
      cycles++
      low = false
    }
  }
  return cycles / (pcm.length / 2 / sampleRate)
}

engineContract('sherpa-onnx (tiny Piper model)', async () => {
  const engine = await createSherpaEngine({ modelsDir, workers: 1 })
  const longText = article.repeat(3)
  const sample = await engine.synthesize({ text: longText.slice(0, 400), voice: { name: MODEL, language: 'en-US' } })
  const fullSamplesEstimate = (sample.pcm.length / 2) * (longText.length / 400)
  return {
    engine,
    voice: { name: MODEL, language: 'en-US' },
    longText,
    assertWorkStopped: () => assertPoolStopped(engine, fullSamplesEstimate),
  }
})

describe('sherpa-onnx engine', () => {
  let engine: SherpaEngine
  beforeAll(async () => {
    engine = await createSherpaEngine({ modelsDir, workers: 2 })
  })
  afterAll(async () => {
    await engine.close()
  })

  test('reports the sample rate from the model metadata, and audio that is the model output', async () => {
    expect(engine.capabilities.sampleRate).toBe(16000)
    expect(engine.capabilities.languages).toEqual(expect.arrayContaining(['en', 'en-US']))
    const clip = await engine.synthesize({ text: 'Hello world.', voice: { name: MODEL, language: 'en-US' } })
    expect(clip.sampleRate).toBe(16000)
    const samples = clip.pcm.length / 2
    // The model's output length: a whole number of tokens, each SAMPLES_PER_TOKEN samples.
    expect(samples % SAMPLES_PER_TOKEN).toBe(0)
    expect(samples / SAMPLES_PER_TOKEN).toBeGreaterThan(10)
    expect(peak(clip.pcm)).toBeCloseTo(0.3, 2)
    expect(frequency(clip.pcm, clip.sampleRate)).toBeGreaterThan(440 * 0.98)
    expect(frequency(clip.pcm, clip.sampleRate)).toBeLessThan(440 * 1.02)
  })

  test('honours the speaker id and the rate', async () => {
    const voice = { name: MODEL, language: 'en-US' }
    const normal = await engine.synthesize({ text: 'The council met today.', voice })
    const speaker2 = await engine.synthesize({ text: 'The council met today.', voice: { ...voice, speaker: 2 } })
    expect(peak(speaker2.pcm)).toBeCloseTo(0.5, 2)
    expect(speaker2.pcm.length).toBe(normal.pcm.length)
    const fast = await engine.synthesize({ text: 'The council met today.', voice: { ...voice, rate: 2 } })
    // length_scale = 1 / rate: half the samples per token.
    expect(fast.pcm.length / 2).toBeCloseTo(normal.pcm.length / 4, -2)
    const voices = await engine.listVoices()
    expect(voices.map((v) => v.name)).toEqual([`${MODEL}#0`, `${MODEL}#1`, `${MODEL}#2`])
  })

  test('reports where each sentence starts', async () => {
    const text = 'First sentence here. A second, somewhat longer sentence follows it. Third.'
    const clip = await engine.synthesize({ text, voice: { name: MODEL, language: 'en-US' } })
    const sentences = sentenceSpans(text)
    expect(clip.sentences).toHaveLength(3)
    expect(clip.sentences!.map((s) => text.slice(s.offset, s.offset + s.length))).toEqual(sentences)
    expect(clip.sentences![0]!.startMs).toBe(0)
    // Each sentence is its own model call: a start is a whole number of tokens in.
    const second = await engine.synthesize({ text: sentences[0]!, voice: { name: MODEL, language: 'en-US' } })
    expect(clip.sentences![1]!.startMs).toBeCloseTo(second.durationMs, 0)
    expect(clip.sentences![2]!.startMs).toBeGreaterThan(clip.sentences![1]!.startMs + 1000)
  })

  test('a missing model and an unknown speaker are clear errors naming the fix', async () => {
    await expect(engine.synthesize({ text: 'Hi.', voice: { name: 'vits-piper-de_DE-nope-low', language: 'de' } })).rejects.toMatchObject({
      code: 'MODEL_NOT_INSTALLED',
      help: expect.stringContaining('briefcast voices install vits-piper-de_DE-nope-low'),
    })
    await expect(engine.synthesize({ text: 'Hi.', voice: { name: MODEL, language: 'en-US', speaker: 3 } })).rejects.toMatchObject({
      code: 'UNKNOWN_VOICE',
      message: expect.stringContaining('3 speaker(s)'),
    })
    await expect(engine.synthesize({ text: '<speak>Hi.</speak>', ssml: true, voice: { name: MODEL, language: 'en-US' } })).rejects.toMatchObject({ code: 'SSML_REJECTED' })
  })

  test('synthesis runs off the main thread: the event loop keeps ticking', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const started = Date.now()
    await Promise.all([0, 1, 2, 3].map(() => engine.synthesize({ text: article.slice(0, 3000), voice: { name: MODEL, language: 'en-US' } })))
    clearInterval(timer)
    const elapsed = Date.now() - started
    // A 5 ms timer: synthesis on the main thread would let it fire about once per job; loose for a loaded machine.
    expect(ticks).toBeGreaterThan(elapsed / 5 / 10)
    expect(engine.load.workers).toBe(2)
  })
})
