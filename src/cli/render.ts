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
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { AppError } from '../errors.ts'
import type { ArticleInput, InputFormat } from '../script/types.ts'
import { flag, str, type ParsedArgs } from './spec.ts'
import { episodeOutputs, episodeSummary, formatDuration, formatFromName, loadRenderSetup, startEpisodeSession } from './episode-session.ts'
import { isShortScript } from './wasm-tier.ts'

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

export async function run(args: ParsedArgs): Promise<number> {
  const values = {
    output: str(args, 'output')!,
    voice: str(args, 'voice'),
    format: str(args, 'format') as 'mp3' | 'm4a' | undefined,
    title: str(args, 'title'),
    config: str(args, 'config'),
    voices: str(args, 'voices'),
    json: flag(args, 'json'),
    quiet: flag(args, 'quiet') || flag(args, 'json'),
    verbose: flag(args, 'verbose'),
  }
  const source = args.positionals[0]!
  const started = Date.now()
  // --verbose: where the time goes (engine start-up, conversion, render, copy), on stderr.
  const trace = (what: string) => values.verbose && process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(2)} s] ${what}\n`)
  // A short article (by its script, whatever the input: a file, a URL or stdin) gets an encoder thread per core.
  const { config, encodeThreads } = loadRenderSetup(values.config, values.voices)
  const outputs = await episodeOutputs(values.output, values.format, config.audio.format)

  // The engines start now, and the script module loads, while the input is read.
  const session = startEpisodeSession(config, { label: 'render', quiet: values.quiet, encodeThreads: (script) => encodeThreads(isShortScript(script)) })
  const scriptModule = import('../script/index.ts')
  scriptModule.catch(() => {})
  try {
    let input: ArticleInput
    if (source === '-') input = { content: await readStdin(config.uploads.maxArticleBytes) }
    else if (/^https?:\/\//i.test(source)) input = await fetchArticle(source, config.fetch.timeoutMs, config.fetch.maxBytes, session.signal)
    else {
      try {
        input = { content: await fs.readFile(source), format: formatFromName(source) }
      } catch (err) {
        throw new AppError('NOT_FOUND', `Cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { help: 'Give the path of an article file, a URL, or - for stdin.' })
      }
    }
    if (values.title) input.title = values.title
    trace('input read')
    const { articleToScript } = await scriptModule
    const svc = await session.speech
    trace('speech service ready')
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

    const result = await session.render(script, profile, outputs, { title: values.title ?? script.title })
    trace(`rendered and copied out: ${result.stats.synthesized} synthesized, ${result.stats.cached} cached, ${result.stats.encoded} pieces encoded (${result.stats.encodedParts} parts, ${result.stats.relevels} leveled again) on up to ${result.stats.encodeThreads} encoder threads, WebAssembly ${result.wasm.tier === 'liftoff' ? 'on Liftoff alone' : 'tiered up'}${result.wasm.newChars === undefined ? '' : ` (${result.wasm.newChars} new characters of speech)`}, ${result.stats.elapsedMs} ms`)
    if (values.json) process.stdout.write(`${JSON.stringify(episodeSummary(outputs, result, Date.now() - started), null, 2)}\n`)
    else if (!values.quiet) {
      const l = result.loudness
      process.stdout.write(
        `${path.relative(process.cwd(), outputs.audio) || outputs.audio}: ${formatDuration(result.durationMs)}, ${formatBytes(result.bytes)}, ` +
          `${l.integratedLufs.toFixed(1)} LUFS / ${l.truePeakDb.toFixed(1)} dBTP, ${result.chapters.length} chapters, ` +
          `${result.stats.segments} segments (${result.stats.synthesized} synthesized, ${result.stats.cached} cached), ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      )
    }
    return 0
  } catch (err) {
    throw session.failure(err, 'Render')
  } finally {
    await session.close()
  }
}
