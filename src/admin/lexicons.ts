/**
 * Pronunciation lexicons, editable in the dashboard: the database is the
 * source (migration 'admin-002-lexicons'), seeded once per lexicon from the
 * shipped voices/lexicon/<name>.json. A lexicon's name is what voice profiles
 * use (src/tts/lexicon.ts: the profile's own, else its language's primary subtag).
 */
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import type Database from 'better-sqlite3'
import { perDatabase } from '../store/per-database.ts'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import { applyLexicon, createLexicon, loadLexicon } from '../script/lexicon.ts'
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
  seed(voicesDir: string): string[]
  names(): string[]
  get(name: string): Lexicon
  /** Replace all entries; returns the lexicon before and after. */
  replace(name: string, language: string, entries: LexiconEntry[]): { before: Lexicon; after: Lexicon }
}

export const lexiconStore = perDatabase(createLexiconStore)

function createLexiconStore(db: Database.Database): LexiconStore {
  const select = db.prepare('SELECT match, say, case_sensitive FROM lexicon_entries WHERE name = ? ORDER BY match COLLATE NOCASE, match')
  const insert = db.prepare('INSERT OR REPLACE INTO lexicon_entries (name, match, say, case_sensitive, updated_at) VALUES (?, ?, ?, ?, ?)')
  const markSeeded = db.prepare('INSERT OR IGNORE INTO lexicon_sources (name, seeded_at) VALUES (?, ?)')
  const languages = new Map<string, string>()
  const get = (name: string): Lexicon => {
    const rows = select.all(name) as { match: string; say: string; case_sensitive: number }[]
    return createLexicon(languages.get(name) ?? name, rows.map((r) => ({ match: r.match, say: r.say, ...(r.case_sensitive ? { caseSensitive: true } : {}) })))
  }
  return {
    seed(voicesDir) {
      const dir = path.join(voicesDir, 'lexicon')
      if (!existsSync(dir)) return []
      const seeded = new Set((db.prepare('SELECT name FROM lexicon_sources').all() as { name: string }[]).map((r) => r.name))
      const done: string[] = []
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
        const name = file.slice(0, -5)
        if (!LEXICON_NAME_RE.test(name)) continue
        const lexicon = loadLexicon(voicesDir, name)
        languages.set(name, lexicon.language)
        if (seeded.has(name)) continue
        const at = new Date().toISOString()
        db.transaction(() => {
          for (const e of lexicon.entries) insert.run(name, e.match, e.say, e.caseSensitive ? 1 : 0, at)
          markSeeded.run(name, at)
        })()
        done.push(name)
      }
      return done
    },
    names: () => (db.prepare('SELECT name FROM lexicon_sources UNION SELECT DISTINCT name FROM lexicon_entries ORDER BY 1').all() as { name: string }[]).map((r) => r.name),
    get,
    replace(name, language, entries) {
      const seen = new Set<string>()
      for (const e of entries) {
        if (seen.has(e.match)) throw new AppError('VALIDATION_FAILED', `"${e.match}" is listed twice; keep one entry per word.`, { details: { field: 'entries', match: e.match } })
        seen.add(e.match)
      }
      const before = get(name)
      const at = new Date().toISOString()
      db.transaction(() => {
        db.prepare('DELETE FROM lexicon_entries WHERE name = ?').run(name)
        for (const e of entries) insert.run(name, e.match.trim(), e.say.trim(), e.caseSensitive ? 1 : 0, at)
        markSeeded.run(name, at)
      })()
      if (!languages.has(name)) languages.set(name, language)
      return { before, after: get(name) }
    },
  }
}
