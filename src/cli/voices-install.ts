/**
 * `briefcast voices install <name|URL|path>`: installs a sherpa-onnx model archive into the models
 * directory (the work is in tts/models.ts), and the text `briefcast voices` shows for installed
 * models. Kept apart from voices.ts so the command table can move it as a subcommand of its own.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { AppError } from '../errors.ts'
import { MODEL_RELEASES_URL, installCommandFor, installModel, type InstalledModel } from '../tts/models.ts'
import { createProgressBar } from '../util/progress.ts'

export const INSTALL_HELP = `usage: briefcast voices install <name|URL|path> [--sha256 HEX] [--config FILE]

Installs a local neural voice model (a sherpa-onnx TTS model archive, .tar.bz2)
into the models directory (BRIEFCAST_MODELS_DIR, default ./models):
  name   a sherpa-onnx archive name, e.g. vits-piper-en_US-amy-low or kokoro-en-v0_19,
         downloaded from ${MODEL_RELEASES_URL}<name>.tar.bz2
  URL    an http(s) URL of such an archive (private addresses need BRIEFCAST_FETCH_ALLOWLIST)
  path   a .tar.bz2 file on this machine

A download that stops is resumed by running the same command again. The archive
may be at most BRIEFCAST_MODELS_MAX_BYTES; --sha256 checks it before unpacking.
Then name the model in a voice profile (see voices/examples/) and restart the service.`

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`

export async function runInstall(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { sha256: { type: 'string' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    process.stdout.write(`${INSTALL_HELP}\n`)
    return 0
  }
  if (positionals.length !== 1) throw new AppError('VALIDATION_FAILED', 'Name one model to install: a sherpa-onnx archive name, a URL or a .tar.bz2 path.', { help: INSTALL_HELP })
  if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256)) throw new AppError('VALIDATION_FAILED', '--sha256 takes the 64 hex digits of the archive\'s SHA-256.')
  const config = loadConfig({ file: values.config })
  const bar = createProgressBar({ label: 'install' })
  const controller = new AbortController()
  const onSignal = () => controller.abort(new AppError('ABORTED', 'Interrupted; run the same command again to resume the download.'))
  process.once('SIGINT', onSignal)
  try {
    const model = await installModel(positionals[0]!, {
      modelsDir: config.models.dir,
      maxBytes: config.models.maxBytes,
      ...(values.sha256 ? { sha256: values.sha256 } : {}),
      allowlist: config.fetch.allowlist,
      // A model is large: the fetch timeout bounds each request's start, the download may take its time.
      timeoutMs: Math.max(config.fetch.timeoutMs, 30 * 60_000),
      signal: controller.signal,
      onProgress: (stage, done, total) => {
        if (stage === 'download') bar.update(total ? done / total : 0, total ? `download ${mb(done)} of ${mb(total)}` : `download ${mb(done)}`)
        else if (stage === 'unpack') bar.update(total ? done / total : 0, 'unpack')
        else bar.update(1, 'checking the model')
      },
    })
    bar.clear()
    process.stdout.write(`installed ${model.name} in ${model.dir}\n${describeModel(model)}\n`)
    process.stdout.write(`Use it in a voice profile: "engine": "sherpa-onnx", "voices": { "body": { "name": "${model.name}", "language": "${model.languages[0] ?? 'en'}"${model.numSpeakers > 1 ? ', "speaker": 0' : ''} } }\n`)
    return 0
  } finally {
    bar.clear()
    process.off('SIGINT', onSignal)
  }
}

/** One model as `briefcast voices` shows it. */
export function describeModel(m: InstalledModel): string {
  const speakers = m.numSpeakers > 1 ? `${m.numSpeakers} speakers (ids 0-${m.numSpeakers - 1})` : '1 speaker'
  return `  ${m.name.padEnd(36)} ${m.layout.padEnd(7)} ${(m.languages.join(', ') || '?').padEnd(8)} ${m.sampleRate} Hz  ${speakers}`
}

/** The "Local neural models" section of `briefcast voices`. */
export function describeInstalledModels(models: readonly InstalledModel[], modelsDir: string): string[] {
  const out = [`Local neural models (sherpa-onnx, ${modelsDir}):`]
  if (models.length === 0) out.push(`  none installed; install one with \`${installCommandFor('<name|URL|path>')}\`, e.g. ${installCommandFor('vits-piper-en_US-amy-low')}`)
  for (const m of models) out.push(describeModel(m))
  return out
}
