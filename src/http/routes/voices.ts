/**
 * Choosing a voice, and what the cloud engines cost:
 * - GET /voices/:profile/sample.wav (public): a fixed sentence in the
 *   profile's language, spoken once with the profile's body voice and then
 *   served from the clip cache. New samples are limited per minute (a cloud
 *   voice costs characters), so the page cannot be used to run up a bill.
 * - GET /api/voices (viewer and up): the profiles with their engine and sample URL;
 *   GET /api/voices/:profile/sample: the same sample for the dashboard.
 * - GET /api/usage[?month=YYYY-MM|all] (API key): characters sent to cloud
 *   engines per engine and month.
 */
import { existsSync } from 'node:fs'
import express from 'express'
import { AppError } from '../../errors.ts'
import { ENGINES } from '../../tts/registry.ts'
import type { CachedClip, VoiceProfile } from '../../tts/types.ts'
import type { BriefcastSpeechService } from '../../tts/index.ts'
import { engineUsageRepository, usageMonth } from '../../tts/usage.ts'
import type { AppDeps } from '../deps.ts'
import { requireApiAuth } from '../auth.ts'
import { primaryLanguage } from '../../script/language.ts'

/** The sentence each sample speaks, by primary language subtag (English otherwise). */
const SAMPLE_TEXT: Record<string, string> = {
  en: 'Good morning. Here are the top stories from our newsroom today.',
  de: 'Guten Morgen. Hier sind die wichtigsten Nachrichten des Tages aus unserer Redaktion.',
  fr: 'Bonjour. Voici les principales informations de notre rédaction aujourd’hui.',
  es: 'Buenos días. Estas son las noticias más importantes de nuestra redacción hoy.',
  it: 'Buongiorno. Ecco le notizie principali della nostra redazione di oggi.',
  nl: 'Goedemorgen. Dit zijn de belangrijkste verhalen van onze redactie vandaag.',
  pl: 'Dzień dobry. Oto najważniejsze wiadomości naszej redakcji na dziś.',
  pt: 'Bom dia. Estas são as principais notícias da nossa redação hoje.',
  ru: 'Доброе утро. Вот главные новости нашей редакции на сегодня.',
}

export function sampleText(language: string): string {
  return SAMPLE_TEXT[primaryLanguage(language)] ?? SAMPLE_TEXT.en!
}

/** New (not yet cached) samples per minute, for the whole process. */
const NEW_SAMPLES_PER_MINUTE = 6

export const sampleUrl = (profileId: string) => `/voices/${encodeURIComponent(profileId)}/sample.wav`

export function voicesRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const made = new Map<string, Promise<CachedClip>>()
  const stamps: number[] = []

  const profileOf = (id: string): VoiceProfile => {
    const profile = deps.speech.listProfiles().find((p) => p.id === id)
    if (!profile) throw new AppError('UNKNOWN_PROFILE', `There is no voice profile "${id}".`, { details: { profile: id } })
    return profile
  }

  const sample = (profile: VoiceProfile): Promise<CachedClip> => {
    const known = made.get(profile.id)
    if (known) return known
    const now = Date.now()
    while (stamps.length > 0 && now - stamps[0]! >= 60_000) stamps.shift()
    if (stamps.length >= NEW_SAMPLES_PER_MINUTE) {
      const retryAfter = Math.ceil((60_000 - (now - stamps[0]!)) / 1000)
      throw new AppError('RATE_LIMITED', `Too many new voice samples this minute; retry in ${retryAfter} s.`, { details: { retryAfter } })
    }
    stamps.push(now)
    const speech = deps.speech as Partial<BriefcastSpeechService>
    if (!speech.synthesizeText) throw new AppError('ENGINE_UNAVAILABLE', 'This service cannot speak samples.')
    const p = speech.synthesizeText(sampleText(profile.language), profile)
    made.set(profile.id, p)
    // A failure (no credentials yet) is not remembered: fixing the setting must not need a restart.
    p.catch(() => made.get(profile.id) === p && made.delete(profile.id))
    return p
  }

  const sendSample = async (req: express.Request, res: express.Response, cacheControl: string) => {
    const profile = profileOf(String(req.params.profile))
    let clip: CachedClip
    try {
      clip = await sample(profile)
      if (!existsSync(clip.wavPath)) {
        // Evicted from the clip cache since: speak it again.
        made.delete(profile.id)
        clip = await sample(profile)
      }
    } catch (err) {
      if (err instanceof AppError && err.code === 'RATE_LIMITED') res.setHeader('Retry-After', String((err.details as { retryAfter: number }).retryAfter))
      throw err
    }
    res.setHeader('Cache-Control', cacheControl)
    res.type('audio/wav')
    await new Promise<void>((resolve, reject) => res.sendFile(clip.wavPath, { dotfiles: 'allow' }, (err) => (err && !res.headersSent ? reject(err) : resolve())))
  }
  router.get('/voices/:profile/sample.wav', (req, res) => sendSample(req, res, 'public, max-age=86400'))

  const api = express.Router()
  api.use(requireApiAuth(deps, 'viewer'))
  api.get('/voices', (_req, res) => {
    res.json({
      defaultProfile: deps.config.defaultVoice,
      profiles: deps.speech.listProfiles().map((p) => ({
        id: p.id,
        engine: p.engine,
        language: p.language,
        description: p.description ?? null,
        cloud: !!(ENGINES as Record<string, { cloud?: boolean }>)[p.engine]?.cloud,
        voice: p.voices.body.name ?? p.voices.body.language,
        sampleUrl: `${deps.config.publicUrl}${sampleUrl(p.id)}`,
      })),
    })
  })
  api.get('/voices/:profile/sample', (req, res) => sendSample(req, res, 'private, max-age=3600'))
  api.get('/usage', (req, res) => {
    const month = typeof req.query.month === 'string' ? req.query.month : usageMonth()
    if (month !== 'all' && !/^\d{4}-(0[1-9]|1[0-2])$/.test(month))
      throw new AppError('VALIDATION_FAILED', `month must be YYYY-MM or "all", not "${month}".`, { details: { field: 'month' } })
    const rows = engineUsageRepository(deps.store.db).list(month)
    res.json({ month, unit: 'characters', usage: rows })
  })
  router.use('/api', api)
  return router
}
