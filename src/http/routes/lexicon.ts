/**
 * Pronunciation under /api/lexicon/:language (the lexicon's name: "en", or a
 * profile's own lexicon name). Reading needs viewer, changing editor. Saving
 * answers with the articles whose spoken text the change touches; re-rendering
 * them synthesizes only those segments again (the clip cache is keyed by the
 * spoken text).
 */
import { promises as fs } from 'node:fs'
import express from 'express'
import { changedEntries, checkLexiconName, entriesSchema, lexiconStore, scriptUses } from '../../admin/lexicons.ts'
import { AppError } from '../../errors.ts'
import type { LexiconEntry } from '../../script/types.ts'
import { lexiconNameFor } from '../../tts/lexicon.ts'
import type { VoiceProfile } from '../../tts/types.ts'
import { principalOf, requireApiAuth } from '../auth.ts'
import type { AppDeps } from '../deps.ts'

export interface AffectedArticle {
  id: string
  title: string
  status: string
}

/** Articles spoken with lexicon `name` whose script contains one of `entries`' words (newest first). */
export function articlesUsing(deps: AppDeps, name: string, entries: LexiconEntry[]): AffectedArticle[] {
  if (entries.length === 0) return []
  const rows = deps.store.db.prepare('SELECT id, title, status, profile_id FROM articles ORDER BY created_at DESC').all() as { id: string; title: string; status: string; profile_id: string }[]
  const out: AffectedArticle[] = []
  const nameOf = new Map<string, string | undefined>()
  for (const r of rows) {
    if (!nameOf.has(r.profile_id)) {
      let n: string | undefined
      try {
        n = lexiconNameFor(deps.speech.getProfile(r.profile_id))
      } catch {
        n = undefined // a profile removed since: its articles cannot be re-rendered with it anyway
      }
      nameOf.set(r.profile_id, n)
    }
    if (nameOf.get(r.profile_id) !== name) continue
    const s = deps.store.articles.getScript(r.id)
    if (s && scriptUses(s.script, entries)) out.push({ id: r.id, title: r.title, status: r.status })
  }
  return out
}

export function lexiconRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const lexicons = lexiconStore(deps.store.db)
  const json = express.json({ limit: '4mb' })
  router.use(requireApiAuth(deps), (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })

  /** The profile a lexicon is heard with: the one asked for, else the lexicon's language's. */
  const profileFor = (name: string, voice: unknown): VoiceProfile => {
    if (typeof voice === 'string' && voice !== '') return deps.speech.getProfile(voice)
    const byName = deps.speech.listProfiles().find((p) => lexiconNameFor(p) === name)
    return byName ?? deps.speech.profileForLanguage(lexicons.get(name).language)
  }

  router.get('/', (_req, res) => {
    const names = new Set([...lexicons.names(), ...deps.speech.listProfiles().map((p) => lexiconNameFor(p))])
    res.json({ items: [...names].sort().map((name) => ({ language: name, entries: lexicons.get(name).entries.length })) })
  })

  router.get('/:language', (req, res) => {
    const name = checkLexiconName(req.params.language)
    const l = lexicons.get(name)
    res.json({ language: name, version: l.version, entries: l.entries })
  })

  router.put('/:language', json, (req, res) => {
    const name = checkLexiconName(req.params.language)
    const parsed = entriesSchema.safeParse((req.body as { entries?: unknown } | undefined)?.entries)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new AppError('VALIDATION_FAILED', `entries.${issue.path.join('.')}: ${issue.message}.`, { details: { field: `entries.${issue.path.join('.')}` } })
    }
    const language = lexicons.get(name).language
    const { before, after } = lexicons.replace(name, language, parsed.data)
    deps.speech.useLexicon(name, after)
    const changed = changedEntries(before.entries, after.entries)
    const affected = articlesUsing(deps, name, changed)
    deps.logger.info({ lexicon: name, entries: after.entries.length, changed: changed.map((e) => e.match), affected: affected.length, by: principalOf(req).name }, 'lexicon saved')
    res.json({ language: name, version: after.version, entries: after.entries, changed: [...new Set(changed.map((e) => e.match))], affected })
  })

  /** Render the articles again (by default every article the given words touch); only changed segments synthesize. */
  router.post('/:language/rerender', json, (req, res) => {
    const name = checkLexiconName(req.params.language)
    const body = (req.body ?? {}) as { articleIds?: unknown; words?: unknown }
    let ids: string[]
    if (Array.isArray(body.articleIds)) ids = body.articleIds.filter((x): x is string => typeof x === 'string').slice(0, 10_000)
    else if (Array.isArray(body.words)) {
      const words = new Set(body.words.filter((x): x is string => typeof x === 'string'))
      const entries = [...words].map((w) => ({ match: w, say: w }))
      ids = articlesUsing(deps, name, entries).map((a) => a.id)
    } else throw new AppError('VALIDATION_FAILED', 'Send articleIds (from the save answer\'s "affected") or words.', { details: { field: 'articleIds' } })
    const queued: string[] = []
    for (const id of ids) {
      const a = deps.store.articles.get(id)
      if (!a) continue
      deps.store.db.transaction(() => {
        deps.store.articles.setStatus(a.id, 'queued', { progress: 0, error: null })
        deps.renders.enqueue(a)
      })()
      queued.push(a.id)
    }
    res.status(202).json({ queued })
  })

  /** "Hear it": the given text (an entry's "say as", or a sentence) spoken with the voice, as WAV. */
  router.post('/:language/hear', json, async (req, res) => {
    const name = checkLexiconName(req.params.language)
    const body = (req.body ?? {}) as { text?: unknown; voice?: unknown }
    const text = typeof body.text === 'string' ? body.text.trim() : ''
    if (!text || text.length > 500) throw new AppError('VALIDATION_FAILED', 'text must be 1-500 characters (the "say as" of an entry, or a sentence with the word).', { details: { field: 'text' } })
    const profile = profileFor(name, body.voice)
    const controller = new AbortController()
    res.once('close', () => controller.abort())
    const clip = await deps.speech.synthesizeText(text, profile, { signal: controller.signal })
    const wav = await fs.readFile(clip.wavPath)
    res.setHeader('X-Briefcast-Voice', profile.id)
    res.type('audio/wav').send(wav)
  })
  return router
}
