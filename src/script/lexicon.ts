/**
 * Pronunciation lexicons: voices/lexicon/<name>.json, whole-word replacements
 * applied to the spoken text (after normalization, so entries match what the
 * engine would otherwise read). Clip cache keys cover the text as spoken (lexicon
 * applied), so editing the lexicon re-synthesizes only the segments it changes.
 * The service keeps editable copies in its database (src/admin/lexicons.ts).
 *
 * File format: { "language": "en", "entries": [ { "match": "Nvidia", "say": "en-VID-ee-uh", "caseSensitive": false } ] }
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import { primaryLanguage } from './language.ts'
import type { Lexicon, LexiconEntry } from './types.ts'

const entrySchema = z.object({
  match: z.string().trim().min(1, 'must not be empty').max(200),
  say: z.string().max(500),
  caseSensitive: z.boolean().optional(),
})
const lexiconSchema = z.object({
  language: z.string().trim().min(1).optional(),
  entries: z.array(entrySchema).max(50_000),
})

function versionOf(entries: LexiconEntry[]): string {
  const h = createHash('sha256')
  for (const e of entries) h.update(`${e.match}\0${e.say}\0${e.caseSensitive ? 1 : 0}\n`)
  return h.digest('hex').slice(0, 16)
}

/** A lexicon with no entries; its version is stable (hash of nothing), so cache keys do not churn. */
export function emptyLexicon(language: string): Lexicon {
  return { language, version: versionOf([]), entries: [] }
}

/** Build a lexicon from entries (validated), computing its version. */
export function createLexicon(language: string, entries: LexiconEntry[]): Lexicon {
  const clean = entries.map((e) => ({ match: e.match.trim(), say: e.say, ...(e.caseSensitive ? { caseSensitive: true } : {}) }))
  return { language, version: versionOf(clean), entries: clean }
}

/**
 * Load voices/lexicon/<name>.json. A missing file is not an error (most
 * languages need no lexicon): it yields an empty lexicon. A broken file is an
 * INVALID_PROFILE error naming the file and the field.
 */
export function loadLexicon(voicesDir: string, name: string): Lexicon {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name)) {
    throw new AppError('VALIDATION_FAILED', `Lexicon name "${name}" is not valid; use letters, digits, "-" or "_" (e.g. "en" or "en-GB").`, {
      details: { field: 'lexicon', value: name },
    })
  }
  const file = path.join(voicesDir, 'lexicon', `${name}.json`)
  if (!existsSync(file)) return emptyLexicon(name)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new AppError('INVALID_PROFILE', `Lexicon ${file} is not valid JSON: ${(err as Error).message}`, { cause: err, details: { path: file } })
  }
  const parsed = lexiconSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.join('.') || '(root)'
    throw new AppError('INVALID_PROFILE', `Lexicon ${file}: field "${field}" ${issue.message}.`, {
      details: { path: file, field, issues: parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })) },
    })
  }
  return createLexicon(parsed.data.language ?? name, parsed.data.entries)
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

interface CompiledLexicon {
  re: RegExp
  exact: Map<string, string>
  folded: Map<string, string>
}
const compiled = new WeakMap<Lexicon, CompiledLexicon | null>()

function compile(lexicon: Lexicon): CompiledLexicon | null {
  let c = compiled.get(lexicon)
  if (c !== undefined) return c
  if (lexicon.entries.length === 0) {
    compiled.set(lexicon, null)
    return null
  }
  const exact = new Map<string, string>()
  const folded = new Map<string, string>()
  for (const e of lexicon.entries) {
    if (e.caseSensitive) exact.set(e.match, e.say)
    else folded.set(e.match.toLowerCase(), e.say)
  }
  // Longest first, so "New York Times" wins over "New York".
  const alternatives = [...new Set(lexicon.entries.map((e) => e.match))].sort((a, b) => b.length - a.length).map(escapeRegExp)
  // Whole words: not inside a longer word (letters, digits, marks, apostrophe-joined).
  const re = new RegExp(`(?<![\\p{L}\\p{N}\\p{M}_])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}\\p{M}_])`, 'giu')
  c = { re, exact, folded }
  compiled.set(lexicon, c)
  return c
}

/** Whole-word replacements; case-insensitive unless the entry says caseSensitive. */
export function applyLexicon(text: string, lexicon: Lexicon | undefined): string {
  if (!lexicon) return text
  const c = compile(lexicon)
  if (!c) return text
  return text.replace(c.re, (m) => c.exact.get(m) ?? c.folded.get(m.toLowerCase()) ?? m)
}

/** A lexicon applies to a script when its language matches the script's primary language ("en" fits "en-GB"). */
export function lexiconFits(lexicon: Lexicon, language: string): boolean {
  const l = lexicon.language
  return !l || l === '*' || primaryLanguage(l) === primaryLanguage(language)
}
