/**
 * `briefcast render <file|url|-> -o out.mp3 [--voice PROFILE] [--format mp3|m4a]`
 *
 * One article to one episode, offline with the default engine. Writes
 * out.mp3 (or .m4a), out.vtt and out.chapters.json; every file goes to a temp
 * name first and is renamed into place, so an interrupted run leaves nothing
 * at the output path. Temp files of a run killed with SIGKILL are removed by
 * a detached watchdog (src/audio/janitor.ts) and, as a second line, swept by
 * the next run (per-run temp dirs under <cacheDir>/tmp/<pid>-*).
 */
import { constants as fsConstants, promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { AppError } from '../errors.ts'
import { createFfmpeg } from '../audio/ffmpeg.ts'
import { createLoudnessMeter } from '../audio/loudness-meter.ts'
import { ShellRunner } from '../audio/sh-runner.ts'
import { createRunDir } from '../audio/tempdir.ts'
import { renderEpisode } from '../episodes/render.ts'
import type { ArticleInput, InputFormat } from '../script/types.ts'
import { fileError } from '../util/files.ts'
import { createProgressBar } from '../util/progress.ts'
import { publishOutputs } from './outputs.ts'
import { startCliRun } from './run.ts'

const HELP = `usage: briefcast render <file|url|-> -o out.mp3 [--voice PROFILE] [--format mp3|m4a] [--title TITLE] [--config FILE]

  Render one article (HTML, Markdown, text or JSON; a file, a URL or - for stdin)
  to an episode. Also writes <out>.vtt (transcript) and <out>.chapters.json.
`

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`
}

async function readStdin(maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw new AppError('INPUT_TOO_LARGE', `stdin is larger than ${formatBytes(maxBytes)}.`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function formatFromName(name: string): InputFormat | undefined {
  const ext = path.extname(name).toLowerCase()
  if (ext === '.html' || ext === '.htm') return 'html'
  if (ext === '.md' || ext === '.markdown') return 'markdown'
  if (ext === '.txt') return 'text'
  if (ext === '.json') return 'json'
  return undefined
}

async function fetchArticle(url: string, timeoutMs: number, maxBytes: number, signal: AbortSignal): Promise<ArticleInput> {
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), headers: { accept: 'text/html, text/markdown, text/plain, application/json;q=0.9, */*;q=0.1' } })
  } catch (err) {
    if (signal.aborted) throw new AppError('ABORTED', 'The operation was cancelled.')
    throw new AppError('FETCH_FAILED', `Fetching ${url} failed: ${(err as Error).message}`, { cause: err })
  }
  if (!res.ok) throw new AppError('FETCH_FAILED', `Fetching ${url} failed: HTTP ${res.status}.`)
  const declared = Number(res.headers.get('content-length') ?? 0)
  if (declared > maxBytes) throw new AppError('INPUT_TOO_LARGE', `${url} is larger than ${formatBytes(maxBytes)}.`)
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body ?? []) {
    size += chunk.length
    if (size > maxBytes) throw new AppError('INPUT_TOO_LARGE', `${url} is larger than ${formatBytes(maxBytes)}.`)
    chunks.push(chunk)
  }
  const type = res.headers.get('content-type') ?? ''
  const format: InputFormat | undefined = type.includes('html') ? 'html' : type.includes('markdown') ? 'markdown' : type.includes('json') ? 'json' : type.includes('text/plain') ? 'text' : undefined
  return { content: Buffer.concat(chunks), format, url }
}

/**
 * The render's own default for espeak-ng workers: one core fewer than the
 * machine has (at least one), because this one process also runs the encoders.
 * Measured on 2 cores: 1 worker renders the corpus page in 8.9 s at 400 MB,
 * 2 workers in 10.3-11.7 s at 555 MB (the second worker only competes with
 * ffmpeg for the same cores). An explicit setting (env or config file) wins.
 */
function loadRenderConfig(file: string | undefined) {
  const config = loadConfig({ file })
  const builtIn = Math.max(1, Math.min(os.availableParallelism(), 8))
  if (process.env.BRIEFCAST_ESPEAK_WORKERS || config.tts.espeakWorkers !== builtIn) return config
  return loadConfig({ file, overrides: { 'tts.espeakWorkers': Math.max(1, os.availableParallelism() - 1) } })
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      voice: { type: 'string', short: 'v' },
      format: { type: 'string', short: 'f' },
      title: { type: 'string' },
      config: { type: 'string', short: 'c' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  const source = positionals[0]
  if (!source || !values.output) {
    process.stderr.write(HELP)
    return 2
  }
  if (values.format && values.format !== 'mp3' && values.format !== 'm4a')
    throw new AppError('VALIDATION_FAILED', `--format must be mp3 or m4a, not "${values.format}".`)
  const started = Date.now()
  // --verbose: where the time goes (engine start-up, conversion, render, copy), on stderr.
  const trace = (what: string) => values.verbose && process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(2)} s] ${what}\n`)
  const config = loadRenderConfig(values.config)
  const output = path.resolve(values.output)
  const format = (values.format as 'mp3' | 'm4a' | undefined) ?? (path.extname(output).toLowerCase() === '.m4a' ? 'm4a' : config.audio.format)
  const base = output.replace(/\.(mp3|m4a)$/i, '')
  const outputs = { audio: output, vtt: `${base}.vtt`, chapters: `${base}.chapters.json` }

  // Fail before the work, not after it: the output directory must be writable.
  try {
    await fs.access(path.dirname(output), fsConstants.W_OK)
    const st = await fs.stat(output).catch(() => undefined)
    if (st?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
  } catch (err) {
    throw fileError(err, output)
  }

  const { controller, janitor, temps, removeTemps, release } = startCliRun(config.cacheDir)

  const bar = createProgressBar({ label: 'render', enabled: values.quiet ? false : undefined })
  // The speech engine (its worker thread starts as soon as its module is loaded), the
  // script module and the ffmpeg check start together; the input is read meanwhile.
  const speechReady = import('../tts/index.ts').then(({ createSpeechService }) => createSpeechService(config, { warmUp: false }))
  const scriptModule = import('../script/index.ts')
  // The loudness worker too: it warms its DSP code while the article is read and spoken, so a
  // re-render's one new clip is leveled by warm code (~50 ms) rather than by a thread still starting.
  const meter = createLoudnessMeter()
  // ffmpeg starts from a small shell, not from this process: each fork of this ~250 MB process
  // counts its memory once more until the child execs, and a long input means hundreds of them.
  const launcherDir = createRunDir(config.cacheDir)
  const launcher = launcherDir.then((d) => new ShellRunner(d.path).start())
  const ffmpegReady = launcher.then((l) => createFfmpeg(config, l.runner))
  launcherDir.catch(() => {})
  speechReady.catch(() => {})
  ffmpegReady.catch(() => {})
  scriptModule.catch(() => {})
  let speech: Awaited<typeof speechReady> | undefined
  try {
    let input: ArticleInput
    if (source === '-') input = { content: await readStdin(config.uploads.maxArticleBytes) }
    else if (/^https?:\/\//i.test(source)) input = await fetchArticle(source, config.fetch.timeoutMs, config.fetch.maxBytes, controller.signal)
    else {
      try {
        input = { content: await fs.readFile(source), format: formatFromName(source) }
      } catch (err) {
        throw new AppError('NOT_FOUND', `Cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { help: 'Give the path of an article file, a URL, or - for stdin.' })
      }
    }
    if (values.title) input.title = values.title
    trace('input read')
    const ffmpeg = await ffmpegReady
    trace(`ffmpeg ${ffmpeg.version} checked`)
    const { articleToScript } = await scriptModule
    speech = await speechReady
    trace('speech service ready')
    const svc = speech
    let profile = values.voice ? svc.getProfile(values.voice) : undefined
    const scriptFor = (p: typeof profile) => {
      const limits = p ? svc.limitsFor(p) : undefined
      return articleToScript(input, p ? { targetChars: limits!.targetChars, maxBytes: limits!.maxBytes, pauses: p.pauses } : {})
    }
    // The language is known only after conversion. Convert with the default profile's limits and pauses
    // first: that is the voice most articles get, and only another language's voice converts again.
    const first = profile ?? svc.getProfile(config.defaultVoice)
    let script = scriptFor(first)
    if (!profile) {
      profile = svc.profileForLanguage(script.language)
      if (profile.id !== first.id) script = scriptFor(profile)
    }
    trace(`script: ${script.segments.length} segments, language ${script.language}, voice ${profile.id}`)

    const result = await renderEpisode(
      script,
      profile,
      { speech, ffmpeg, config, meter },
      {
        format,
        signal: controller.signal,
        metadata: { title: values.title ?? script.title },
        onProgress: (p) => {
          const label =
            p.phase === 'join' ? `joining ${p.total} pieces` : p.phase === 'done' ? 'done' : `synthesized ${p.synthesized ?? p.done}/${p.total}, encoded ${p.encoded ?? p.done}/${p.total}`
          bar.update(p.fraction, label)
        },
      },
    )

    trace(`rendered: ${result.stats.synthesized} synthesized, ${result.stats.cached} cached, ${result.stats.encoded} pieces encoded (${result.stats.encodedParts} parts), ${result.stats.elapsedMs} ms`)
    // Copy the cached episode out: temp names beside the targets (same filesystem), then rename.
    await publishOutputs(
      [
        [result.vttPath, outputs.vtt],
        [result.chaptersPath, outputs.chapters],
        [result.audioPath, outputs.audio],
      ],
      { janitor, temps, signal: controller.signal },
    )
    bar.clear()
    if (!values.quiet) {
      const l = result.loudness
      process.stdout.write(
        `${path.relative(process.cwd(), output) || output}: ${formatDuration(result.durationMs)}, ${formatBytes(result.bytes)}, ` +
          `${l.integratedLufs.toFixed(1)} LUFS / ${l.truePeakDb.toFixed(1)} dBTP, ${result.chapters.length} chapters, ` +
          `${result.stats.segments} segments (${result.stats.synthesized} synthesized, ${result.stats.cached} cached), ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      )
    }
    return 0
  } catch (err) {
    bar.clear()
    if (controller.signal.aborted && !(err instanceof AppError && err.code !== 'ABORTED')) throw new AppError('ABORTED', 'Render interrupted; no output written.')
    throw err
  } finally {
    await removeTemps()
    await meter.close()
    await (speech ?? (await speechReady.catch(() => undefined)))?.close().catch(() => {})
    await (await launcher.catch(() => undefined))?.close().catch(() => {})
    await (await launcherDir.catch(() => undefined))?.remove()
    release()
  }
}
