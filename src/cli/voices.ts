/** `briefcast voices`: engines, voice profiles and engine voices (options in src/cli/commands.ts). */
import { loadConfig } from '../config.ts'
import { AppError, toAppError } from '../errors.ts'
import type { Voice } from '../tts/engine.ts'
import { createSpeechService, ENGINES } from '../tts/index.ts'
import { flag, str, type ParsedArgs } from './spec.ts'

function matchesLanguage(languages: string[], wanted: string): boolean {
  const w = wanted.toLowerCase()
  return languages.some((l) => {
    const x = l.toLowerCase()
    return x === w || x.startsWith(`${w}-`) || w.startsWith(`${x}-`)
  })
}

export async function run(args: ParsedArgs): Promise<number> {
  const values = { engine: str(args, 'engine'), language: str(args, 'language'), json: flag(args, 'json'), config: str(args, 'config'), voices: str(args, 'voices') }
  const config = loadConfig({ file: values.config, overrides: { 'tts.espeakWorkers': 1, ...(values.voices ? { voicesDir: values.voices } : {}) } })
  const service = await createSpeechService(config, { warmUp: false })
  try {
    const engineIds = service.listEngines()
    if (values.engine && !engineIds.includes(values.engine))
      throw new AppError('UNKNOWN_ENGINE', `Unknown engine "${values.engine}" (known: ${engineIds.join(', ')}).`, { details: { engine: values.engine } })
    const wanted = values.engine ? [values.engine] : engineIds
    const language = values.language
    const profiles = service.listProfiles().filter((p) => (!values.engine || p.engine === values.engine) && (!language || matchesLanguage([p.language], language)))
    const engines: { id: string; voices: Voice[]; error?: string; note?: string }[] = []
    for (const id of wanted) {
      const configured = (ENGINES as Record<string, { configured?: (c: typeof config) => true | string }>)[id]?.configured?.(config) ?? true
      if (configured !== true && !values.engine) {
        engines.push({ id, voices: [], note: configured })
        continue
      }
      try {
        const voices = (await service.listVoices(id)).filter((v) => !language || matchesLanguage(v.languages, language))
        engines.push({ id, voices })
      } catch (err) {
        const e = toAppError(err)
        engines.push({ id, voices: [], error: `${e.code}: ${e.message}` })
      }
    }
    const { listInstalledModels } = await import('../tts/models.ts')
    const models = await listInstalledModels(config.models.dir)
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ profiles, engines, models }, null, 2)}\n`)
      return engines.some((e) => e.error) && values.engine ? 1 : 0
    }
    const out: string[] = []
    out.push(`Voice profiles (${config.voicesDir}):`)
    if (profiles.length === 0) out.push('  (none match)')
    for (const p of profiles) {
      const mark = p.id === config.defaultVoice ? ' (default)' : ''
      out.push(`  ${p.id.padEnd(24)} ${p.engine.padEnd(10)} ${p.language.padEnd(8)} body: ${p.voices.body.name ?? p.voices.body.language}${mark}`)
    }
    for (const e of engines) {
      out.push('')
      if (e.note) {
        out.push(`Engine ${e.id}: ${e.note}`)
        continue
      }
      if (e.error) {
        out.push(`Engine ${e.id}: unavailable (${e.error})`)
        continue
      }
      out.push(`Engine ${e.id}: ${e.voices.length} voice${e.voices.length === 1 ? '' : 's'}${language ? ` for ${language}` : ''}`)
      for (const v of e.voices) out.push(`  ${v.name.padEnd(28)} ${v.languages.join(', ')}${v.gender ? `  ${v.gender}` : ''}${v.description ? `  (${v.description})` : ''}`)
      if (e.id === 'espeak-ng') out.push('  Variants: append +f1..+f5, +m1..+m7, +klatt, ... to a voice name, e.g. en-us+f3')
    }
    if (!values.engine || values.engine === 'sherpa-onnx') out.push('', ...(await import('./voices-install.ts')).describeInstalledModels(models, config.models.dir))
    process.stdout.write(`${out.join('\n')}\n`)
    return engines.some((e) => e.error) && values.engine ? 1 : 0
  } finally {
    await service.close()
  }
}
