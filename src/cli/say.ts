/** `briefcast say "text" -o out.wav [--voice PROFILE]`: speak a line with a voice profile. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { loadConfig } from '../config.ts'
import { AppError } from '../errors.ts'
import type { VoiceRole } from '../script/types.ts'
import { createSpeechService } from '../tts/index.ts'
import { writeFileAtomic } from '../util/files.ts'
import { flag, str, UsageError, type ParsedArgs } from './spec.ts'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function run(args: ParsedArgs): Promise<number> {
  const values = {
    output: str(args, 'output')!,
    voice: str(args, 'voice'),
    language: str(args, 'language'),
    role: str(args, 'role'),
    ssml: flag(args, 'ssml'),
    config: str(args, 'config'),
    voices: str(args, 'voices'),
    json: flag(args, 'json'),
  }
  const positionals = args.positionals
  const text = positionals.length === 1 && positionals[0] === '-' ? await readStdin() : positionals.join(' ')
  if (!text.trim()) throw new AppError('EMPTY_INPUT', 'Nothing to say: give the text as an argument (or "-" to read standard input).')
  if (!values.output.toLowerCase().endsWith('.wav')) throw new UsageError(`the output must be a .wav file (got ${values.output})`)
  const role = (values.role ?? 'body') as VoiceRole
  if (values.voice && values.language) throw new UsageError('give either --voice or --language, not both')

  // One line needs one warm espeak-ng worker, not one per core.
  const config = loadConfig({ file: values.config, overrides: { 'tts.espeakWorkers': 1, ...(values.voices ? { voicesDir: values.voices } : {}) } })
  const service = await createSpeechService(config, { warmUp: false })
  const controller = new AbortController()
  const onSigint = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSigint)
  try {
    const profile = values.language ? service.profileForLanguage(values.language) : service.getProfile(values.voice ?? config.defaultVoice)
    const clip = await service.synthesizeText(text, profile, { role, ssml: values.ssml ?? false, signal: controller.signal })
    const out = path.resolve(values.output)
    await writeFileAtomic(out, await fs.readFile(clip.wavPath))
    if (values.json) process.stdout.write(`${JSON.stringify({ output: out, durationMs: clip.durationMs, profile: profile.id, cached: clip.cached })}\n`)
    else process.stderr.write(`wrote ${out} (${(clip.durationMs / 1000).toFixed(1)} s, voice profile ${profile.id}${clip.cached ? ', from cache' : ''})\n`)
    return 0
  } finally {
    process.off('SIGINT', onSigint)
    await service.close()
  }
}
