/**
 * What `briefcast render` and `briefcast briefing` share around renderEpisode: the output paths
 * (checked before any work), the engines started side by side, the progress bar, publishing the
 * files, and the clean-up (temp files, worker threads, the ffmpeg launcher, the watchdog).
 */
import { constants as fsConstants, promises as fs } from 'node:fs'
import path from 'node:path'
import { createFfmpeg, ffmpegOnDemand } from '../audio/ffmpeg.ts'
import { createMp3Encoder } from '../audio/mp3-encoder.ts'
import { ShellRunner } from '../audio/ffmpeg-launcher.ts'
import { createRunDir } from '../audio/tempdir.ts'
import { loadConfig, renderEncodeThreads, type Config } from '../config.ts'
import { renderEpisode } from '../episodes/render.ts'
import type { EpisodeResult, RenderOptions } from '../episodes/types.ts'
import { AppError } from '../errors.ts'
import type { InputFormat, Script } from '../script/types.ts'
import type { BriefcastSpeechService } from '../tts/index.ts'
import type { VoiceProfile } from '../tts/types.ts'
import { fileError } from '../util/files.ts'
import { createProgressBar } from '../util/progress.ts'
import { publishOutputs } from './outputs.ts'
import { startCliRun } from './run.ts'
import { availableCores } from '../util/cores.ts'
import { tierUpFor, wasmTier } from './wasm-tier.ts'

/** The WebAssembly tier a render ran on, and the characters of speech it had to synthesize (not in the clip cache) when they were counted. */
export interface WasmTierChoice {
  tier: 'liftoff' | 'optimizing'
  newChars?: number
}

/**
 * The characters of speech of `script` whose clips the cache lacks (looked up by key and file, ~1 ms for a
 * page's 30 segments), and the tier that work gets. In a process already on the optimizing tier (the
 * service, a test) nothing is looked up.
 */
export async function chooseWasmTier(speech: BriefcastSpeechService, script: Script, profile: VoiceProfile): Promise<WasmTierChoice> {
  if (wasmTier() === 'optimizing') return { tier: 'optimizing' }
  const cached = await Promise.all(script.segments.map((s) => speech.hasClip(s, profile).catch(() => false)))
  const newChars = script.segments.reduce((n, s, i) => (cached[i] ? n : n + s.text.length), 0)
  return { tier: tierUpFor(newChars), newChars }
}

/**
 * The config of a one-shot render. Its own default for espeak-ng workers: one core fewer than the
 * machine has (at least one), because this one process also runs the encoders. Measured on 2 cores:
 * 1 worker renders the corpus page in 8.9 s at 400 MB, 2 workers in 10.3-11.7 s at 555 MB (the second
 * worker only competes with ffmpeg for the same cores). And for encoder threads: half the cores (see
 * renderEncodeThreads). An explicit setting (env or config file) wins, for each on its own.
 */
export function loadRenderConfig(file: string | undefined, voicesDir?: string): Config {
  return loadRenderSetup(file, voicesDir).config
}

/**
 * loadRenderConfig's config, and the encoder threads the same settings give a short or a long script
 * (one per core for a short one), decided when the script is known (startEpisodeSession's encodeThreads).
 */
export function loadRenderSetup(file: string | undefined, voicesDir?: string): { config: Config; encodeThreads(short: boolean): number } {
  const overrides: Record<string, unknown> = voicesDir ? { voicesDir } : {}
  const loaded = loadConfig({ file, overrides })
  const encodeThreads = (s: boolean) => renderEncodeThreads(loaded, s)
  const builtIn = Math.max(1, Math.min(availableCores(), 8))
  const threads: Record<string, number> = {}
  if (!process.env.BRIEFCAST_ESPEAK_WORKERS && loaded.tts.espeakWorkers === builtIn) threads['tts.espeakWorkers'] = Math.max(1, availableCores() - 1)
  const encoders = encodeThreads(false)
  if (encoders !== loaded.audio.encodeConcurrency) threads['audio.encodeConcurrency'] = encoders
  if (Object.keys(threads).length === 0) return { config: loaded, encodeThreads }
  return { config: loadConfig({ file, overrides: { ...overrides, ...threads } }), encodeThreads }
}

/** What `render --json` and `briefing --json` print: the files written and the episode's figures. */
export function episodeSummary(outputs: EpisodeOutputs, result: EpisodeResult, elapsedMs: number) {
  return {
    audio: outputs.audio,
    vtt: outputs.vtt,
    chapters: outputs.chapters,
    format: outputs.format,
    durationMs: result.durationMs,
    bytes: result.bytes,
    loudness: result.loudness,
    chapterTitles: result.chapters.map((c) => c.title),
    stats: result.stats,
    elapsedMs,
  }
}

export interface EpisodeOutputs {
  audio: string
  vtt: string
  chapters: string
  format: 'mp3' | 'm4a'
}

/**
 * The files an episode goes to: the audio (its extension, else --format, else the config, picks the
 * format) and <base>.vtt and <base>.chapters.json beside it. Fails before the work, not after it,
 * when the directory cannot be written or the path is a directory.
 */
export async function episodeOutputs(outputArg: string, format: 'mp3' | 'm4a' | undefined, defaultFormat: 'mp3' | 'm4a'): Promise<EpisodeOutputs> {
  const audio = path.resolve(outputArg)
  const ext = path.extname(audio).toLowerCase()
  try {
    await fs.access(path.dirname(audio), fsConstants.W_OK)
    const st = await fs.stat(audio).catch(() => undefined)
    if (st?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
  } catch (err) {
    throw fileError(err, audio)
  }
  const base = audio.replace(/\.(mp3|m4a)$/i, '')
  return { audio, vtt: `${base}.vtt`, chapters: `${base}.chapters.json`, format: format ?? (ext === '.m4a' ? 'm4a' : ext === '.mp3' ? 'mp3' : defaultFormat) }
}

/** An article file's format from its extension (undefined: detected from the content). */
export function formatFromName(name: string): InputFormat | undefined {
  const ext = path.extname(name).toLowerCase()
  if (ext === '.html' || ext === '.htm') return 'html'
  if (ext === '.md' || ext === '.markdown') return 'markdown'
  if (ext === '.txt') return 'text'
  if (ext === '.json') return 'json'
  return undefined
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

export interface EpisodeSession {
  /** Aborted by Ctrl-C / SIGTERM. */
  signal: AbortSignal
  /** Started at once; awaited by the command when it needs them. */
  speech: Promise<BriefcastSpeechService>
  /**
   * renderEpisode with the session's engines, meter, signal and progress bar; then the files are published.
   * Before the first clip is spoken, the WebAssembly tier is chosen by the speech the cache lacks (wasm-tier.ts).
   */
  render(script: Script, profile: VoiceProfile, outputs: EpisodeOutputs, metadata: RenderOptions['metadata']): Promise<EpisodeResult & { wasm: WasmTierChoice }>
  /** The error to report for err: an interrupted run says so ("no output written"). */
  failure(err: unknown, what: string): unknown
  /** Removes temp files and stops every thread and process the session started. */
  close(): Promise<void>
}

/**
 * Starts what a one-shot render needs, side by side: the speech service (its first espeak-ng worker
 * already runs, see cli.ts), the MP3 encoder threads (which also measure loudness, and warm that DSP
 * code while the input is read and spoken), and ffmpeg behind a small shell for what still needs it (jingles,
 * M4A, cover art; each fork of this ~250 MB process would count its memory once more until the child execs).
 * ffmpeg itself is located and checked only when the episode first needs it (ffmpegOnDemand).
 */
export function startEpisodeSession(
  config: Config,
  options: {
    label: string
    quiet?: boolean
    /** Encoder threads for a script, decided once it is known (a URL's or stdin's article); config's otherwise. */
    encodeThreads?: (script: Script) => number
  },
): EpisodeSession {
  const { controller, janitor, temps, removeTemps, release } = startCliRun(config.cacheDir)
  const bar = createProgressBar({ label: options.label, enabled: options.quiet ? false : undefined })
  const speech = import('../tts/index.ts').then(({ createSpeechService }) => createSpeechService(config, { warmUp: false }))
  // The encoder threads start now (their WebAssembly compiles and their loudness code warms while the
  // input is read and spoken); they measure and level the clips too (encoder.meter): no loudness thread.
  const encoder = createMp3Encoder({ threads: config.audio.encodeConcurrency })
  const meter = encoder.meter
  const launcherDir = createRunDir(config.cacheDir)
  const launcher = launcherDir.then((d) => new ShellRunner(d.path).start())
  // Checked only if the episode needs ffmpeg (jingles, cover art, M4A): an MP3 render starts none.
  const ffmpeg = ffmpegOnDemand(async () => createFfmpeg(config, (await launcher).runner))
  for (const p of [speech, launcherDir]) p.catch(() => {})

  return {
    signal: controller.signal,
    speech,
    async render(script, profile, outputs, metadata) {
      const threads = options.encodeThreads?.(script) ?? config.audio.encodeConcurrency
      encoder.setThreads(threads)
      const svc = await speech
      const wasm = await chooseWasmTier(svc, script, profile)
      const renderConfig = threads === config.audio.encodeConcurrency ? config : { ...config, audio: { ...config.audio, encodeConcurrency: threads } }
      const result = await renderEpisode(
        script,
        profile,
        { speech: svc, ffmpeg, config: renderConfig, meter, encoder },
        {
          format: outputs.format,
          signal: controller.signal,
          ...(metadata ? { metadata } : {}),
          onProgress: (p) => {
            const label = p.phase === 'join' ? `joining ${p.total} pieces` : p.phase === 'done' ? 'done' : `synthesized ${p.synthesized ?? p.done}/${p.total}, encoded ${p.encoded ?? p.done}/${p.total}`
            bar.update(p.fraction, label)
          },
        },
      )
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
      return { ...result, wasm }
    },
    failure(err, what) {
      bar.clear()
      if (controller.signal.aborted && !(err instanceof AppError && err.code !== 'ABORTED')) return new AppError('ABORTED', `${what} interrupted; no output written.`)
      return err
    },
    async close() {
      await removeTemps()
      await meter.close()
      await encoder.close()
      await (await speech.catch(() => undefined))?.close().catch(() => {})
      await (await launcher.catch(() => undefined))?.close().catch(() => {})
      await (await launcherDir.catch(() => undefined))?.remove()
      release()
    },
  }
}
