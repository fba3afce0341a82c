/**
 * The WebAssembly build of espeak-ng (src/tts/espeak-wasm.mjs, built from native/espeak-ng) against the
 * reference: the JavaScript build in @echogarden/espeak-ng-emscripten, whose voice data it loads. Same
 * text, voice, rate and pitch must give the same samples and the same word and sentence events, so a
 * clip cached by either build is the clip the other would make.
 */
import { existsSync, promises as fs, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, test, vi } from 'vitest'
import createReference from '@echogarden/espeak-ng-emscripten'
import { extractVoiceData, loadEspeak, type EspeakWasm } from '../../src/tts/espeak-wasm.mjs'

interface ReferenceWorker {
  set_voice(name: string): number
  set_rate(wpm: number): void
  set_pitch(pitch: number): void
  synthesize(text: string, cb: (chunk: Int16Array, events: { type: string; text_position: number; word_length: number; audio_position: number }[]) => number): void
  list_voices(): { name: string; identifier: string; languages: { priority: number; name: string }[] }[]
  get_samplerate(): number
}

/**
 * espeak-ng seeds its noise source (breathy voices such as the f3 variant) with time(NULL) when it
 * initializes, so two engines agree sample for sample only when they start within the same second:
 * both start on one frozen clock.
 */
async function onOneClock<T>(start: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(new Date('2026-11-26T06:00:00Z'))
  try {
    return await start()
  } finally {
    vi.useRealTimers()
  }
}

interface Spoken {
  pcm: Int16Array
  events: number[]
}

function concat(chunks: Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

function speakOurs(engine: EspeakWasm, voice: string, rate: number, pitch: number, text: string): Spoken {
  expect(engine.setVoice(voice)).toBe(0)
  engine.setRate(rate)
  engine.setPitch(pitch)
  const chunks: Int16Array[] = []
  const events: number[] = []
  engine.synthesize(text, (samples, evs) => {
    chunks.push(samples.slice())
    events.push(...evs)
    return false
  })
  return { pcm: concat(chunks), events }
}

function speakReference(ref: ReferenceWorker, voice: string, rate: number, pitch: number, text: string): Spoken {
  expect(ref.set_voice(voice)).toBe(0)
  ref.set_rate(rate)
  ref.set_pitch(pitch)
  const chunks: Int16Array[] = []
  const events: number[] = []
  ref.synthesize(text, (chunk, evs) => {
    chunks.push(Int16Array.from(chunk))
    for (const e of evs) {
      const type = e.type === 'word' ? 1 : e.type === 'sentence' ? 2 : 0
      if (type) events.push(type, e.text_position, e.word_length, e.audio_position)
    }
    return 0
  })
  return { pcm: concat(chunks), events }
}

/** Largest sample difference (0 when identical), and the index of the first differing sample. */
function compare(a: Int16Array, b: Int16Array): { maxDiff: number; firstDiff: number } {
  let maxDiff = 0
  let firstDiff = -1
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = Math.abs((a[i] ?? 0) - (b[i] ?? 0))
    if (d > 0 && firstDiff < 0) firstDiff = i
    maxDiff = Math.max(maxDiff, d)
  }
  return { maxDiff, firstDiff }
}

describe('espeak-ng in WebAssembly', () => {
  let ours: EspeakWasm
  let reference: ReferenceWorker
  beforeAll(async () => {
    ;[ours, reference] = await onOneClock(async () => {
      const engine = await loadEspeak()
      const mod = (await createReference()) as { eSpeakNGWorker: new () => ReferenceWorker }
      return [engine, new mod.eSpeakNGWorker()] as const
    })
  }, 60_000)

  test('speaks the same samples and events as the reference build, across voices, variants, rate and pitch', () => {
    const cases: [voice: string, rate: number, pitch: number, text: string][] = [
      ['gmw/en-US', 175, 50, 'The city council voted on Tuesday to approve a new budget, officials said. Critics disagreed.'],
      ['gmw/en-US', 210, 40, 'Revenue rose 17 percent to 4.2 billion dollars &amp; profits <emphasis>doubled</emphasis>.'],
      ['gmw/en+m3', 166, 50, 'Ministers met in London on Monday; no agreement was reached.'],
      ['gmw/en+f3', 175, 65, '"We are encouraged, but it is early," she said.'],
      ['gmw/de', 160, 50, 'Die Regierung hat am Dienstag einen neuen Haushalt beschlossen.'],
      ['roa/fr', 175, 50, 'Le gouvernement a présenté mardi un nouveau budget.'],
    ]
    expect(ours.sampleRate).toBe(reference.get_samplerate())
    for (const [voice, rate, pitch, text] of cases) {
      const a = speakOurs(ours, voice, rate, pitch, text)
      const b = speakReference(reference, voice, rate, pitch, text)
      expect(a.pcm.length, `${voice}: ${text}`).toBeGreaterThan(ours.sampleRate / 2)
      expect({ voice, length: a.pcm.length, ...compare(a.pcm, b.pcm) }).toEqual({ voice, length: b.pcm.length, maxDiff: 0, firstDiff: -1 })
      expect(a.events, voice).toEqual(b.events)
      expect(a.events.filter((_, i) => i % 4 === 0 && a.events[i] === 1).length, `${voice}: word events`).toBeGreaterThan(3)
    }
  })

  test('lists the same voices as the reference build, and the variants', () => {
    const mine = ours.listVoices()
    expect(mine.length).toBeGreaterThan(100)
    expect(mine).toEqual(reference.list_voices())
    expect(ours.listVariants()).toEqual(expect.arrayContaining(['m3', 'f3', 'f2', 'klatt']))
  })

  test('an unknown voice is refused, and the callback can stop a text part-way', () => {
    expect(ours.setVoice('no-such-voice')).not.toBe(0)
    expect(ours.setVoice('gmw/en-US')).toBe(0)
    let chunks = 0
    let samples = 0
    ours.synthesize('One sentence after another. '.repeat(40), (pcm) => {
      chunks++
      samples += pcm.length
      return chunks === 2
    })
    expect(chunks).toBe(2)
    // Two buffers of ~100 ms, not the ~60 s the whole text would make.
    expect(samples).toBeLessThan(ours.sampleRate)
  })
})

describe('espeak-ng voice data as files (the compiled tree\'s way)', () => {
  test('written out once, atomically, and read through the file system, it speaks as the in-memory data does', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-voice-data-'))
    try {
      const dir = path.join(root, 'espeak-ng-data-test')
      extractVoiceData(dir)
      expect(existsSync(path.join(dir, 'phontab'))).toBe(true)
      expect(existsSync(path.join(dir, 'en_dict'))).toBe(true)
      expect(readdirSync(path.join(dir, 'voices', '!v'))).toContain('m3')
      // A second call finds it there; no temp directory is left beside it.
      const before = (await fs.stat(path.join(dir, 'phontab'))).mtimeMs
      extractVoiceData(dir)
      expect((await fs.stat(path.join(dir, 'phontab'))).mtimeMs).toBe(before)
      expect(readdirSync(root)).toEqual(['espeak-ng-data-test'])

      const [fromFiles, inMemory] = await onOneClock(() => Promise.all([loadEspeak({ dataDir: dir }), loadEspeak()]))
      const cases: [voice: string, text: string][] = [
        ['gmw/en-US', 'The files are read from disk, one voice at a time.'],
        ['gmw/de', 'Die Dateien werden von der Platte gelesen.'],
      ]
      for (const [voice, text] of cases) {
        const speak = (e: EspeakWasm) => {
          expect(e.setVoice(voice)).toBe(0)
          const chunks: Int16Array[] = []
          e.synthesize(text, (pcm) => {
            chunks.push(pcm.slice())
            return false
          })
          return concat(chunks)
        }
        const a = speak(fromFiles)
        const b = speak(inMemory)
        expect(a.length).toBeGreaterThan(fromFiles.sampleRate / 2)
        expect(compare(a, b)).toEqual({ maxDiff: 0, firstDiff: -1 })
      }
      expect(fromFiles.listVoices()).toEqual(inMemory.listVoices())
    } finally {
      await fs.rm(root, { recursive: true, force: true })
    }
  }, 60_000)
})
