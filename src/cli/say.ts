/** `briefcast say "text" -o out.wav [--voice PROFILE]`: speak a line with a voice profile. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { AppError } from '../errors.ts'
import type { VoiceRole } from '../script/types.ts'
import { createSpeechService } from '../tts/index.ts'
import { writeFileAtomic } from '../util/files.ts'

const HELP = `usage: briefcast say "TEXT" -o OUT.wav [--voice PROFILE | --language LANG] [--role title|body|quote|host] [--ssml]

Synthesizes TEXT (or standard input when TEXT is "-") with a voice profile and
writes a mono 16-bit WAV file. Clips are cached, so saying the same text again
is instant.`

const ROLES = ['title', 'body', 'quote', 'host'] as const

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      voice: { type: 'string', short: 'v' },
      language: { type: 'string', short: 'l' },
      role: { type: 'string', short: 'r' },
      ssml: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const text = positionals.length === 1 && positionals[0] === '-' ? await readStdin() : positionals.join(' ')
  if (!text.trim()) throw new AppError('EMPTY_INPUT', 'Nothing to say: give the text as an argument (or "-" to read standard input).', { help: HELP })
  if (!values.output) throw new AppError('VALIDATION_FAILED', 'Name the output file with -o OUT.wav.', { help: HELP })
  if (!values.output.toLowerCase().endsWith('.wav')) throw new AppError('VALIDATION_FAILED', `The output must be a .wav file (got ${values.output}).`)
  const role = (values.role ?? 'body') as VoiceRole
  if (!ROLES.includes(role as (typeof ROLES)[number])) throw new AppError('VALIDATION_FAILED', `--role must be one of ${ROLES.join(', ')} (got ${values.role}).`)
  if (values.voice && values.language) throw new AppError('VALIDATION_FAILED', 'Give either --voice or --language, not both.')

  // One line needs one warm espeak-ng worker, not one per core.
  const config = loadConfig({ file: values.config, overrides: { 'tts.espeakWorkers': 1 } })
  const service = await createSpeechService(config, { warmUp: false })
  const controller = new AbortController()
  const onSigint = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSigint)
  try {
    const profile = values.language ? service.profileForLanguage(values.language) : service.getProfile(values.voice ?? config.defaultVoice)
    const clip = await service.synthesizeText(text, profile, { role, ssml: values.ssml ?? false, signal: controller.signal })
    const out = path.resolve(values.output)
    await writeFileAtomic(out, await fs.readFile(clip.wavPath))
    process.stderr.write(`wrote ${out} (${(clip.durationMs / 1000).toFixed(1)} s, voice profile ${profile.id}${clip.cached ? ', from cache' : ''})\n`)
    return 0
  } finally {
    process.off('SIGINT', onSigint)
    await service.close()
  }
}
