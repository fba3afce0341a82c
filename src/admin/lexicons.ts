/**
 * Pronunciation lexicons, editable in the dashboard: the database is the
 * source (migration 'admin-002-lexicons'; queries in src/store/admin.ts: store.lexicons), seeded once per lexicon from the
 * shipped voices/lexicon/<name>.json. A lexicon's name is what voice profiles
 * use (src/tts/lexicon.ts: the profile's own, else its language's primary subtag).
 */
import { z } from 'zod'
import { AppError } from '../errors.ts'
import { applyLexicon, createLexicon } from '../script/lexicon.ts'
import type { Lexicon, LexiconEntry, Script } from '../script/types.ts'

export const LEXICON_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export const entriesSchema = z
  .array(
    z
      .object({
        match: z.string().trim().min(1, 'must not be empty').max(200),
        say: z.string().trim().min(1, 'must not be empty').max(500),
        caseSensitive: z.boolean().optional(),
      })
      .strict(),
  )
  .max(50_000)

export function checkLexiconName(name: string): string {
  if (!LEXICON_NAME_RE.test(name))
    throw new AppError('VALIDATION_FAILED', `"${name}" is not a lexicon name; use a language like "en" or a profile's lexicon name (letters, digits, "-", "_").`, {
      details: { field: 'language' },
    })
  return name
}

/** Entries whose spoken effect differs between two lexicons: added, removed or changed. */
export function changedEntries(before: LexiconEntry[], after: LexiconEntry[]): LexiconEntry[] {
  const key = (e: LexiconEntry) => `${e.match}\0${e.say}\0${e.caseSensitive ? 1 : 0}`
  const a = new Set(before.map(key))
  const b = new Set(after.map(key))
  return [...before.filter((e) => !b.has(key(e))), ...after.filter((e) => !a.has(key(e)))]
}

/** True when any of the entries matches a word of the script's spoken text. */
export function scriptUses(script: Script, entries: LexiconEntry[]): boolean {
  if (entries.length === 0) return false
  // Each entry alone: "does this word occur" (with its own case rule), whatever it is replaced by.
  const probe = createLexicon(script.language, entries.map((e) => ({ ...e, say: `\u0000${e.match}\u0000` })))
  return script.segments.some((s) => applyLexicon(s.text, probe) !== s.text)
}

export interface LexiconStore {
  /** Copy shipped lexicon files into the database, once per name. Returns the names seeded now. */
  seed(voicesDir: string): Promise<string[]>
  names(): Promise<string[]>
  get(name: string): Promise<Lexicon>
  /** Replace all entries; returns the lexicon before and after. */
  replace(name: string, language: string, entries: LexiconEntry[]): Promise<{ before: Lexicon; after: Lexicon }>
}
