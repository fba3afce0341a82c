/**
 * `briefcast voices install <name|URL|path>`: installs a sherpa-onnx model archive into the models
 * directory (the work is in tts/models.ts), and the text `briefcast voices` shows for installed
 * models. Kept apart from voices.ts so the command table can move it as a subcommand of its own.
 */
import { loadConfig } from '../config.ts'
import { AppError } from '../errors.ts'
import { installCommandFor, installModel, type InstalledModel } from '../tts/models.ts'
import { createProgressBar } from '../util/progress.ts'
import { str, UsageError, type ParsedArgs } from './spec.ts'

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`

export async function run(args: ParsedArgs): Promise<number> {
  const values = { sha256: str(args, 'sha256'), config: str(args, 'config') }
  const positionals = args.positionals
  if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256)) throw new UsageError("--sha256 takes the 64 hex digits of the archive's SHA-256")
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
