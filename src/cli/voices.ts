/** `briefcast voices [--engine E] [--language L] [--json]`: engines, voice profiles and engine voices. */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { AppError, toAppError } from '../errors.ts'
import type { Voice } from '../tts/engine.ts'
import { createSpeechService, ENGINES } from '../tts/index.ts'

const HELP = `usage: briefcast voices [--engine ENGINE] [--language LANG] [--json] [--config FILE]

Lists the speech engines, the voice profiles in the voices directory and the
voices each engine offers. Cloud engines (google, openai, polly, elevenlabs) are
only asked when they are configured (credentials or an endpoint) or named
with --engine.`

function matchesLanguage(languages: string[], wanted: string): boolean {
  const w = wanted.toLowerCase()
  return languages.some((l) => {
    const x = l.toLowerCase()
    return x === w || x.startsWith(`${w}-`) || w.startsWith(`${x}-`)
  })
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      engine: { type: 'string', short: 'e' },
      language: { type: 'string', short: 'l' },
      json: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const config = loadConfig({ file: values.config, overrides: { 'tts.espeakWorkers': 1 } })
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
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ profiles, engines }, null, 2)}\n`)
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
    process.stdout.write(`${out.join('\n')}\n`)
    return engines.some((e) => e.error) && values.engine ? 1 : 0
  } finally {
    await service.close()
  }
}
