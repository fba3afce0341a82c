/**
 * The table of written -> spoken forms (tests/script/spoken-forms/*.tsv) and the phoneme
 * comparison used by its test and by `npm run bench script`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import createReference from '@echogarden/espeak-ng-emscripten'

export interface SpokenRow {
  /** The file's language tag: en (US), en-GB, de, fr. */
  tag: string
  category: string
  written: string
  spoken: string
  /** Why the normalizer does not produce this form yet (the test expects it to differ). */
  gap?: string
  /** file:line, for messages. */
  where: string
}

const dir = path.dirname(fileURLToPath(import.meta.url))

export function loadSpokenForms(): SpokenRow[] {
  const rows: SpokenRow[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tsv')).sort()) {
    const tag = file.slice(0, -4)
    readFileSync(path.join(dir, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim() || line.startsWith('#')) return
        const [category, written, spoken, gap] = line.split('\t')
        if (!category || !written || !spoken) throw new Error(`${file}:${i + 1}: want category<TAB>written<TAB>spoken`)
        rows.push({ tag, category, written, spoken, gap: gap?.replace(/^gap:\s*/, '') || undefined, where: `${file}:${i + 1}` })
      })
  }
  return rows
}

/** Words as compared: lower case, hyphens as spaces, punctuation other than apostrophes dropped ("a.m." = "a m"). */
export function comparableWords(text: string): string {
  return text
    .toLowerCase()
    .replace(/[-–—]/g, ' ')
    .replace(/\.(?=\p{L})/gu, ' ')
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

/** espeak-ng's voice for each table's language. */
export const VOICES: Record<string, string> = { en: 'gmw/en-US', 'en-GB': 'gmw/en', de: 'gmw/de', fr: 'roa/fr' }

interface ReferenceWorker {
  set_voice(name: string): number
  synthesize_ipa(text: string): { code: number; ipa: string }
}

/**
 * Phonemes as espeak-ng speaks a text, from the engine's phoneme trace. The trace comes from the
 * JavaScript build in @echogarden/espeak-ng-emscripten: our WebAssembly build (src/tts/espeak-wasm.mjs)
 * is the same espeak-ng release on the same voice data and is tested to give the same samples
 * (tests/tts/espeak-wasm.test.ts), but exports no phoneme call. Stress marks, word and clause
 * boundaries are dropped: "twenty-five" and "twenty five" sound the same.
 */
export async function phonemizer(): Promise<(text: string, tag: string) => string> {
  const mod = (await createReference()) as { eSpeakNGWorker: new () => ReferenceWorker }
  const worker = new mod.eSpeakNGWorker()
  let current = ''
  return (text, tag) => {
    const voice = VOICES[tag] ?? VOICES.en!
    if (voice !== current) {
      if (worker.set_voice(voice) !== 0) throw new Error(`espeak-ng has no voice ${voice}`)
      current = voice
    }
    const { code, ipa } = worker.synthesize_ipa(text)
    if (code !== 0) throw new Error(`espeak-ng failed (${code}) on ${JSON.stringify(text)}`)
    return ipa.replace(/[ˈˌ_\s-]/g, '')
  }
}
