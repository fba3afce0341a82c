import { spawnSync } from 'node:child_process'
import { promises as fs, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createEspeakEngine, type EspeakEngine } from '../../src/tts/espeak.ts'
import { assertPoolStopped, engineContract } from './contract.ts'

const article = readFileSync(new URL('../fixtures/plain/lenovo-nvidia-ai-factories.txt', import.meta.url), 'utf8')

engineContract('espeak-ng', async () => {
  const engine = await createEspeakEngine({ workers: 1 })
  const longText = article
  // Audio per character, from a short sample, to estimate what the whole text would make.
  const sample = await engine.synthesize({ text: longText.slice(0, 400), voice: { language: 'en-us' } })
  const fullSamplesEstimate = (sample.pcm.length / 2) * (longText.length / 400)
  return {
    engine,
    voice: { language: 'en-us' },
    longText,
    assertWorkStopped: () => assertPoolStopped(engine, fullSamplesEstimate),
  }
})

describe('espeak-ng engine', () => {
  let engine: EspeakEngine
  beforeAll(async () => {
    engine = await createEspeakEngine({ workers: 2 })
  })
  afterAll(async () => {
    await engine.close()
  })

  test('lists all of its languages, including en, de, fr, es, ru', async () => {
    const voices = await engine.listVoices()
    expect(voices.length).toBeGreaterThan(100)
    const langs = new Set(voices.flatMap((v) => v.languages))
    for (const l of ['en', 'en-us', 'de', 'fr', 'es', 'ru', 'fi', 'cmn']) expect(langs).toContain(l)
    expect(engine.capabilities.languages).toEqual([...langs].sort())
    expect(engine.variants).toContain('f3')
  })

  test('speaks other languages, and a variant sounds different', async () => {
    const de = await engine.synthesize({ text: 'Guten Morgen, hier sind die Nachrichten.', voice: { language: 'de' } })
    expect(de.durationMs).toBeGreaterThan(1000)
    const base = await engine.synthesize({ text: 'Hello there.', voice: { name: 'en-us', language: 'en-US' } })
    const f3 = await engine.synthesize({ text: 'Hello there.', voice: { name: 'en-us+f3', language: 'en-US' } })
    expect(f3.pcm.equals(base.pcm)).toBe(false)
    const female = await engine.synthesize({ text: 'Hello there.', voice: { language: 'en-US', gender: 'female' } })
    expect(female.pcm.equals(base.pcm)).toBe(false) // gender without a name picks a female variant
  })

  test('rate and pitch change the audio', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.'
    const normal = await engine.synthesize({ text, voice: { language: 'en' } })
    const fast = await engine.synthesize({ text, voice: { language: 'en', rate: 1.8 } })
    const high = await engine.synthesize({ text, voice: { language: 'en', pitch: 8 } })
    expect(fast.durationMs).toBeLessThan(normal.durationMs * 0.75)
    expect(high.pcm.equals(normal.pcm)).toBe(false)
  })

  test('reports word timings that point at the words of the text', async () => {
    const text = 'Fish & chips cost <5 pounds in Leeds.'
    const clip = await engine.synthesize({ text, voice: { language: 'en' } })
    const words = clip.words!.map((w) => text.slice(w.offset, w.offset + w.length))
    expect(words).toContain('Fish')
    expect(words).toContain('chips')
    expect(words).toContain('Leeds')
    const starts = clip.words!.map((w) => w.startMs)
    expect([...starts].sort((a, b) => a - b)).toEqual(starts)
    expect(starts.at(-1)!).toBeLessThan(clip.durationMs)
  })

  test('accepts SSML emphasis and refuses broken SSML', async () => {
    const clip = await engine.synthesize({ text: '<speak>This is <emphasis level="strong">important</emphasis>.</speak>', ssml: true, voice: { language: 'en' } })
    expect(clip.durationMs).toBeGreaterThan(500)
    await expect(engine.synthesize({ text: '<speak>Unclosed <emphasis>tag</speak>', ssml: true, voice: { language: 'en' } })).rejects.toMatchObject({
      code: 'SSML_REJECTED',
    })
  })

  test('unknown voices, variants and languages are clear errors', async () => {
    await expect(engine.synthesize({ text: 'x', voice: { name: 'xx-nope', language: 'en' } })).rejects.toMatchObject({ code: 'UNKNOWN_VOICE' })
    await expect(engine.synthesize({ text: 'x', voice: { name: 'en-us+nosuch', language: 'en' } })).rejects.toMatchObject({
      code: 'UNKNOWN_VOICE',
      message: expect.stringContaining('nosuch'),
    })
    await expect(engine.synthesize({ text: 'x', voice: { language: 'tlh' } })).rejects.toMatchObject({ code: 'UNSUPPORTED_LANGUAGE' })
  })

  test('queued requests spread over the pool and all complete', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `Sentence number ${i + 1} of the batch.`)
    const clips = await Promise.all(texts.map((text) => engine.synthesize({ text, voice: { language: 'en' } })))
    expect(clips.every((c) => c.durationMs > 500)).toBe(true)
    expect(engine.load).toEqual({ queued: 0, running: 0, workers: 2, maxWorkers: 2 })
  })

  test('the pool is elastic: one worker at start and for one job, more only while jobs wait', async () => {
    const pool = await createEspeakEngine({ workers: 3 })
    try {
      expect(pool.load).toMatchObject({ workers: 1, maxWorkers: 3 })
      await pool.synthesize({ text: 'One changed paragraph.', voice: { language: 'en' } })
      await pool.synthesize({ text: 'And then another one, after it.', voice: { language: 'en' } })
      expect(pool.load.workers).toBe(1)
      const texts = Array.from({ length: 6 }, (_, i) => `Batch sentence ${i + 1}, long enough to keep a worker busy for a while.`)
      const batch = Promise.all(texts.map((text) => pool.synthesize({ text, voice: { language: 'en' } })))
      expect(pool.load.workers).toBe(3)
      const clips = await batch
      expect(clips.every((c) => c.durationMs > 1000)).toBe(true)
      expect(pool.load).toMatchObject({ workers: 3, queued: 0, running: 0 })
    } finally {
      await pool.close()
    }
  })

  test('aborting a queued request removes it without touching the running one', async () => {
    const one = await createEspeakEngine({ workers: 1 })
    try {
      const running = one.synthesize({ text: article.slice(0, 600), voice: { language: 'en' } })
      const ac = new AbortController()
      const queued = one.synthesize({ text: 'Queued sentence.', voice: { language: 'en' } }, ac.signal)
      expect(one.load.queued).toBe(1)
      ac.abort()
      await expect(queued).rejects.toMatchObject({ code: 'ABORTED' })
      expect(one.load.queued).toBe(0)
      expect((await running).durationMs).toBeGreaterThan(10_000)
    } finally {
      await one.close()
    }
  })
})

describe('espeak-ng warm-up', () => {
  test('a job posted during warm-up interrupts it and sounds as without warm-up', async () => {
    const text = 'Warm-up must never change what a listener hears, nor keep a job waiting.'
    const request = { text, voice: { language: 'en-us' } }
    const plain = await createEspeakEngine({ workers: 1, warmUp: false })
    const warm = await createEspeakEngine({ workers: 1, warmUp: true })
    try {
      const reference = await plain.synthesize(request)
      // A service's worker warms up after 150 ms of idleness: give it time to be inside a warm-up sentence.
      await new Promise((r) => setTimeout(r, 180))
      const first = await warm.synthesize(request)
      const second = await warm.synthesize(request)
      // espeak-ng adds a little randomness of its own (its noise source), so two runs of one engine
      // differ by a few samples too: compare what a listener hears, the timing of every word.
      for (const clip of [first, second]) {
        expect(Math.abs(clip.durationMs - reference.durationMs)).toBeLessThan(reference.durationMs * 0.01)
        expect(clip.words!.map((w) => [w.offset, w.length])).toEqual(reference.words!.map((w) => [w.offset, w.length]))
        clip.words!.forEach((w, i) => expect(Math.abs(w.startMs - reference.words![i]!.startMs)).toBeLessThan(25))
      }
    } finally {
      await Promise.all([plain.close(), warm.close()])
    }
  })
})

describe('espeak-ng voice list cache', () => {
  test('is written once; a later engine uses it at once, and a list from another build or a broken file is made again', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-espeak-voices-'))
    const file = path.join(dir, 'espeak-voices.json')
    try {
      const first = await createEspeakEngine({ workers: 1, warmUp: false, cacheDir: dir })
      const voices = await first.listVoices()
      await first.close()
      const cached = JSON.parse(await fs.readFile(file, 'utf8')) as { key: string; voices: { name: string; identifier: string; languages: string[] }[]; variants: string[] }
      expect(cached.voices.length).toBeGreaterThan(100)
      expect(cached.variants).toContain('m3')

      // A list with the current key is taken as it is (this one has a voice the engine does not have)...
      const marked = { ...cached, voices: [...cached.voices, { name: 'Test Voice', identifier: 'test/xx', languages: ['xx-test'] }] }
      await fs.writeFile(file, JSON.stringify(marked))
      const second = await createEspeakEngine({ workers: 1, warmUp: false, cacheDir: dir })
      try {
        expect((await second.listVoices()).map((v) => v.name)).toContain('xx-test')
        // ...and the engine speaks: its first job waits for the worker, which was not awaited.
        const clip = await second.synthesize({ text: 'Ready when needed.', voice: { language: 'en-us' } })
        expect(clip.durationMs).toBeGreaterThan(500)
      } finally {
        await second.close()
      }

      // Another build's list, or a broken file, is replaced by the engine's own.
      for (const content of [JSON.stringify({ ...marked, key: 'another build' }), '{"key": "trunc']) {
        await fs.writeFile(file, content)
        const again = await createEspeakEngine({ workers: 1, warmUp: false, cacheDir: dir })
        await again.close()
        expect((await again.listVoices()).map((v) => v.name)).toEqual(voices.map((v) => v.name))
        expect(JSON.parse(await fs.readFile(file, 'utf8')).key).toBe(cached.key)
      }
      expect(await fs.readdir(dir)).toEqual(['espeak-voices.json'])

      // With the list known, the engine does not wait for its worker: a worker that cannot start fails
      // the jobs (every one, at once, none left waiting forever); without the list, the start fails.
      const failing = () => new Worker('throw new Error("no engine in this worker")', { eval: true })
      const broken = await createEspeakEngine({ workers: 2, warmUp: false, cacheDir: dir, startWorker: failing })
      try {
        for (let i = 0; i < 2; i++)
          await expect(broken.synthesize({ text: 'Nobody will say this.', voice: { language: 'en-us' } })).rejects.toMatchObject({ code: 'ENGINE_FAILED' })
      } finally {
        await broken.close()
      }
      await expect(createEspeakEngine({ workers: 1, warmUp: false, startWorker: failing })).rejects.toMatchObject({ code: 'ENGINE_FAILED' })
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

describe('espeak-ng engine closed before its worker was heard from', () => {
  test("a 'ready' that arrives after close() began does not let a one-shot process end before the worker has gone", async () => {
    // With the voice list cached, create() does not wait for the worker (`briefcast voices`, a cached `say`): the
    // command can finish and close the engine just as the worker posts 'ready'. Here the main thread is busy while
    // the worker gets ready, so 'ready' is delivered only after close() began; it used to unref the worker that
    // terminate() had ref'd, and the process ended with exit code 13 (unsettled top-level await) instead of 0.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-espeak-close-'))
    try {
      await (await createEspeakEngine({ workers: 1, warmUp: false, cacheDir: dir })).close()
      const script = `
        import { createEspeakEngine } from './src/tts/espeak.ts'
        // A longer wait only if the worker was not ready in time (a loaded machine): then nothing was tested yet.
        for (const ms of [1000, 2000, 4000]) {
          const engine = await createEspeakEngine({ workers: 1, warmUp: false, cacheDir: ${JSON.stringify(dir)} })
          let ready = 'not ready'
          engine.ready().then(() => (ready = 'ready'), () => {})
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
          await engine.close()
          console.log(ready)
          if (ready === 'ready') break
        }
      `
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '../..'), encoding: 'utf8', timeout: 30_000 })
      expect(r.stderr).toBe('')
      expect(r.stdout.trim().split('\n').at(-1)).toBe('ready')
      expect(r.status).toBe(0)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  }, 40_000)
})
