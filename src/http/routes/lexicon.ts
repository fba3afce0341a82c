/**
 * Pronunciation under /api/lexicon/:language (the lexicon's name: "en", or a
 * profile's own lexicon name). Reading needs viewer, changing editor. Saving
 * answers with the articles whose spoken text the change touches; re-rendering
 * them synthesizes only those segments again (the clip cache is keyed by the
 * spoken text).
 */
import { promises as fs } from 'node:fs'
import express from 'express'
import { changedEntries, checkLexiconName, entriesSchema, scriptUses } from '../../admin/lexicons.ts'
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
export async function articlesUsing(deps: AppDeps, name: string, entries: LexiconEntry[]): Promise<AffectedArticle[]> {
  if (entries.length === 0) return []
  const rows = (await deps.store.articles.list({ limit: Number.MAX_SAFE_INTEGER, offset: 0 })).items
  const out: AffectedArticle[] = []
  const nameOf = new Map<string, string | undefined>()
  for (const r of rows) {
    if (!nameOf.has(r.profileId)) {
      let n: string | undefined
      try {
        n = lexiconNameFor(deps.speech.getProfile(r.profileId))
      } catch {
        n = undefined // a profile removed since: its articles cannot be re-rendered with it anyway
      }
      nameOf.set(r.profileId, n)
    }
    if (nameOf.get(r.profileId) !== name) continue
    const s = await deps.store.articles.getScript(r.id)
    if (s && scriptUses(s.script, entries)) out.push({ id: r.id, title: r.title, status: r.status })
  }
  return out
}

export function lexiconRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const lexicons = deps.store.lexicons
  const json = express.json({ limit: '4mb' })
  router.use(requireApiAuth(deps), (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })

  /** The profile a lexicon is heard with: the one asked for, else the lexicon's language's. */
  const profileFor = async (name: string, voice: unknown): Promise<VoiceProfile> => {
    if (typeof voice === 'string' && voice !== '') return deps.speech.getProfile(voice)
    const byName = deps.speech.listProfiles().find((p) => lexiconNameFor(p) === name)
    return byName ?? deps.speech.profileForLanguage((await lexicons.get(name)).language)
  }

  router.get('/', async (_req, res) => {
    const names = [...new Set([...(await lexicons.names()), ...deps.speech.listProfiles().map((p) => lexiconNameFor(p))])].sort()
    const items = []
    for (const name of names) items.push({ language: name, entries: (await lexicons.get(name)).entries.length })
    res.json({ items })
  })

  router.get('/:language', async (req, res) => {
    const name = checkLexiconName(req.params.language)
    const l = await lexicons.get(name)
    res.json({ language: name, version: l.version, entries: l.entries })
  })

  router.put('/:language', json, async (req, res) => {
    const name = checkLexiconName(req.params.language)
    const parsed = entriesSchema.safeParse((req.body as { entries?: unknown } | undefined)?.entries)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new AppError('VALIDATION_FAILED', `entries.${issue.path.join('.')}: ${issue.message}.`, { details: { field: `entries.${issue.path.join('.')}` } })
    }
    const language = (await lexicons.get(name)).language
    const { before, after } = await lexicons.replace(name, language, parsed.data)
    deps.speech.useLexicon(name, after)
    const changed = changedEntries(before.entries, after.entries)
    const affected = await articlesUsing(deps, name, changed)
    deps.logger.info({ lexicon: name, entries: after.entries.length, changed: changed.map((e) => e.match), affected: affected.length, by: principalOf(req).name }, 'lexicon saved')
    res.json({ language: name, version: after.version, entries: after.entries, changed: [...new Set(changed.map((e) => e.match))], affected })
  })

  /** Render the articles again (by default every article the given words touch); only changed segments synthesize. */
  router.post('/:language/rerender', json, async (req, res) => {
    const name = checkLexiconName(req.params.language)
    const body = (req.body ?? {}) as { articleIds?: unknown; words?: unknown }
    let ids: string[]
    if (Array.isArray(body.articleIds)) ids = body.articleIds.filter((x): x is string => typeof x === 'string').slice(0, 10_000)
    else if (Array.isArray(body.words)) {
      const words = new Set(body.words.filter((x): x is string => typeof x === 'string'))
      const entries = [...words].map((w) => ({ match: w, say: w }))
      ids = (await articlesUsing(deps, name, entries)).map((a) => a.id)
    } else throw new AppError('VALIDATION_FAILED', 'Send articleIds (from the save answer\'s "affected") or words.', { details: { field: 'articleIds' } })
    const queued: string[] = []
    for (const id of ids) {
      const a = await deps.store.articles.get(id)
      if (!a) continue
      await deps.store.transaction(async (tx) => {
        await tx.articles.setStatus(a.id, 'queued', { progress: 0, error: null })
        await deps.renders.enqueue(a, tx)
      })
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
    const profile = await profileFor(name, body.voice)
    const controller = new AbortController()
    res.once('close', () => controller.abort())
    const clip = await deps.speech.synthesizeText(text, profile, { signal: controller.signal })
    const wav = await fs.readFile(clip.wavPath)
    res.setHeader('X-Briefcast-Voice', profile.id)
    res.type('audio/wav').send(wav)
  })
  return router
}
