/**
 * The table of written -> spoken forms (tests/script/spoken-forms/*.tsv, English, British English,
 * German and French rows from news copy): each row run through the normalizer, its output compared
 * with the expected spoken form through espeak-ng's phonemes (what a listener hears), and spoken by
 * our WebAssembly espeak-ng build to check that it is pronounceable.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { normalizeForSpeech } from '../../src/script/index.ts'
import { loadEspeak, type EspeakWasm } from '../../src/tts/espeak-wasm.mjs'
import { VOICES, loadSpokenForms, phonemizer } from './spoken-forms/table.ts'

const rows = loadSpokenForms()
let phonemes: (text: string, tag: string) => string

beforeAll(async () => {
  phonemes = await phonemizer()
}, 60_000)

describe('the table', () => {
  it('has at least 300 rows, English with German and French dates, times, money and ordinals', () => {
    expect(rows.length).toBeGreaterThanOrEqual(300)
    for (const tag of ['de', 'fr']) {
      for (const category of ['dates', 'times', 'money', 'ordinals']) {
        expect(rows.filter((r) => r.tag === tag && r.category === category).length, `${tag} ${category}`).toBeGreaterThanOrEqual(5)
      }
    }
    const written = rows.map((r) => `${r.tag}\t${r.written}`)
    expect(new Set(written).size).toBe(written.length)
  })
})

describe.each([...new Set(rows.map((r) => `${r.tag}: ${r.category}`))])('%s', (group) => {
  const mine = rows.filter((r) => `${r.tag}: ${r.category}` === group)
  it.each(mine.map((r) => [r.written, r] as const))('%s', (_written, row) => {
    const ours = normalizeForSpeech(row.written, row.tag)
    const heard = phonemes(ours, row.tag)
    const wanted = phonemes(row.spoken, row.tag)
    if (row.gap) {
      // A known gap (the table says why): when it starts to pass, take the mark off.
      expect(heard, `${row.where} is marked as a gap but is now spoken right: remove the mark`).not.toBe(wanted)
    } else {
      expect({ ours, heard }, `${row.where}: ${row.written} -> ${ours}`).toEqual({ ours, heard: wanted })
    }
  })
})

describe('pronounceable: every row as we normalize it, spoken by our espeak-ng build', () => {
  let engine: EspeakWasm
  beforeAll(async () => {
    engine = await loadEspeak()
  }, 60_000)

  it('gives speech for every word, at a speaking pace', () => {
    const bad: string[] = []
    for (const row of rows) {
      const text = normalizeForSpeech(row.written, row.tag)
      expect(engine.setVoice(VOICES[row.tag]!)).toBe(0)
      let samples = 0
      let words = 0
      engine.synthesize(text.replace(/&/g, '&amp;').replace(/</g, '&lt;'), (pcm, events) => {
        samples += pcm.length
        for (let i = 0; i < events.length; i += 4) if (events[i] === 1) words++
        return false
      })
      const ms = (samples / engine.sampleRate) * 1000
      const spokenWords = text.split(/\s+/).length
      // Spelled-out symbols or digit strings read one by one are far slower than this; silence far faster.
      if (words < 1 || ms / spokenWords < 120 || ms / spokenWords > 1500) bad.push(`${row.where}: ${text} (${words} word events, ${ms.toFixed(0)} ms)`)
    }
    expect(bad).toEqual([])
  })
})
