/**
 * Bridge to the script module's pronunciation lexicons (voices/lexicon/<name>.json,
 * owned by src/script). Loaded through a runtime URL so the TTS side keeps
 * working (without a lexicon) on a tree where that module is not present.
 */
import type { Lexicon } from '../script/types.ts'

interface LexiconModule {
  loadLexicon(voicesDir: string, name: string): Lexicon | Promise<Lexicon>
  applyLexicon(text: string, lexicon: Lexicon): string
}

let modulePromise: Promise<LexiconModule | null> | undefined

function lexiconModule(): Promise<LexiconModule | null> {
  modulePromise ??= import(new URL('../script/index.ts', import.meta.url).href).then(
    (m: Partial<LexiconModule>) => (typeof m.loadLexicon === 'function' && typeof m.applyLexicon === 'function' ? (m as LexiconModule) : null),
    () => null,
  )
  return modulePromise
}

/** False when the script module (and so lexicon support) is not present. */
export async function lexiconsAvailable(): Promise<boolean> {
  return (await lexiconModule()) !== null
}

export const NO_LEXICON: Lexicon = { language: 'und', version: 'none', entries: [] }

/** The named lexicon, or null when it does not exist (or lexicons are unavailable). */
export async function loadLexiconOrNull(voicesDir: string, name: string): Promise<Lexicon | null> {
  const mod = await lexiconModule()
  if (!mod) return null
  try {
    return await mod.loadLexicon(voicesDir, name)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ENOENT' || code === 'UNKNOWN_PROFILE' || code === 'NOT_FOUND' || /not (exist|found)|ENOENT/i.test((err as Error).message ?? '')) return null
    throw err
  }
}

export async function applyLexiconTo(text: string, lexicon: Lexicon): Promise<string> {
  if (lexicon.entries.length === 0) return text
  const mod = await lexiconModule()
  return mod ? mod.applyLexicon(text, lexicon) : text
}
