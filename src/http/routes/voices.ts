/** Voice profiles under /api/voices (viewer and up): the list, and a spoken sample of each (WAV, from the clip cache). */
import { promises as fs } from 'node:fs'
import express from 'express'
import { AppError } from '../../errors.ts'
import { primaryLanguage } from '../../script/language.ts'
import { requireApiAuth } from '../auth.ts'
import type { AppDeps } from '../deps.ts'

const SAMPLES: Record<string, (show: string) => string> = {
  en: (s) => `This is a sample of the voice that reads ${s}.`,
  de: (s) => `Dies ist eine Hörprobe der Stimme, die ${s} liest.`,
  fr: (s) => `Voici un extrait de la voix qui lit ${s}.`,
  es: (s) => `Esta es una muestra de la voz que lee ${s}.`,
  it: (s) => `Questo è un campione della voce che legge ${s}.`,
  nl: (s) => `Dit is een voorbeeld van de stem die ${s} voorleest.`,
  pl: (s) => `To jest próbka głosu, który czyta ${s}.`,
  pt: (s) => `Esta é uma amostra da voz que lê ${s}.`,
  ru: (s) => `Это образец голоса, который читает ${s}.`,
}

export function sampleText(language: string, show: string): string {
  return (SAMPLES[primaryLanguage(language)] ?? SAMPLES.en!)(show)
}

export function voicesRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  router.use(requireApiAuth(deps, 'viewer'))
  router.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json({
      items: deps.speech.listProfiles().map((p) => ({ id: p.id, engine: p.engine, language: p.language, description: p.description ?? null, voices: p.voices, default: p.id === deps.config.defaultVoice })),
    })
  })
  router.get('/:id/sample', async (req, res) => {
    const profile = deps.speech.listProfiles().find((p) => p.id === req.params.id)
    if (!profile) throw new AppError('UNKNOWN_PROFILE', `There is no voice profile "${req.params.id}".`, { details: { profile: req.params.id } })
    const controller = new AbortController()
    res.once('close', () => controller.abort())
    const clip = await deps.speech.synthesizeText(sampleText(profile.language, deps.config.show.title), profile, { signal: controller.signal })
    res.setHeader('Cache-Control', 'private, max-age=3600')
    res.type('audio/wav').send(await fs.readFile(clip.wavPath))
  })
  return router
}
