/**
 * The one module that knows ffmpeg: where the binaries are, whether they are
 * good enough, and every argument list the app passes to them. Commands are
 * built with fluent-ffmpeg's builder and run by an injectable runner (the
 * default one spawns the binary, keeps the tail of stderr for error messages
 * and kills the process when the caller aborts; the runners are in ffmpeg-launcher.ts).
 */
import { accessSync, constants as fsConstants, promises as fs } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type FluentFfmpeg from 'fluent-ffmpeg'
import type { Config } from '../config.ts'
import { AppError, throwIfAborted } from '../errors.ts'
import { writeFileAtomic } from '../util/files.ts'
import { spawnRunner, stderrTail, type FfmpegRunner } from './ffmpeg-launcher.ts'

export { ffmpegProcesses, spawnRunner, stderrTail, type FfmpegRunner, type RunOptions, type RunResult } from './ffmpeg-launcher.ts'

export interface FfmpegPaths {
  ffmpegPath: string
  ffprobePath: string
  /** Where the paths came from, for error messages and `briefcast render --verbose`. */
  source: 'env' | 'path' | 'npm'
}

export interface AudioStreamInfo {
  codec: string
  sampleRate: number
  channels: number
  bitRate?: number
}

export interface ProbeResult {
  formatName: string
  durationMs: number
  bytes?: number
  audio?: AudioStreamInfo
  hasVideo: boolean
  /** First video stream (cover art images probe as one-frame video). */
  video?: { codec: string; width: number; height: number }
  tags: Record<string, string>
  chapters: { title: string; startMs: number; endMs: number }[]
}

export interface Loudness {
  integratedLufs: number
  truePeakDb: number
}

export interface PieceEncodeOptions {
  input: string
  output: string
  /** Linear gain applied before the limiter, dB. */
  gainDb: number
  /**
   * Sample-peak ceiling of ffmpeg's limiter, dBFS (kept below the true-peak target to leave room for MP3
   * overshoot). Absent: no limiter (speech clips arrive already leveled by the loudness meter).
   */
  limitDb?: number
  /** Exact number of 44.1 kHz samples the encoder receives (clip + silence), so the piece ends on a frame boundary. */
  totalSamples: number
  /** Start this many 44.1 kHz samples into the input (one part of a clip encoded in parts). */
  startSample?: number
  bitrateKbps: number
  /** Fade out over the last fadeOutMs of the source (jingles), so a piece never ends on a click. */
  fadeOut?: { startSec: number; durationSec: number }
}

export interface JoinOptions {
  /** concat demuxer list file. */
  listPath: string
  /** ffmetadata file with tags and chapters. */
  metadataPath: string
  coverPath?: string
  output: string
  bitrateKbps: number
}

export interface Ffmpeg {
  readonly paths: FfmpegPaths
  /** e.g. "4.1" or "N-47683-g0e8eb07980" (with library versions checked). */
  readonly version: string
  readonly runner: FfmpegRunner
  probe(file: string, signal?: AbortSignal): Promise<ProbeResult>
  /** EBU R128 integrated loudness and true peak (ffmpeg's ebur128 filter, peak=true). */
  measureLoudness(file: string, signal?: AbortSignal): Promise<Loudness>
  /** Decode the first audio stream to raw mono 16-bit little-endian PCM at 44.1 kHz (for measuring in JS). */
  decodeToRaw(input: string, output: string, signal?: AbortSignal): Promise<void>
  /** Encode one piece: gain, resample to 44.1 kHz mono, limit, pad with silence, MP3 CBR without Xing/ID3 (pure frames). */
  encodePiece(options: PieceEncodeOptions, signal?: AbortSignal): Promise<void>
  /** A JPEG or PNG that ffmpeg can decode (cover art); INVALID_IMAGE with ffmpeg's stderr otherwise. */
  checkImage(file: string, signal?: AbortSignal): Promise<{ codec: string; width: number; height: number }>
  /**
   * Join pieces into an M4A (AAC) episode with the concat demuxer, writing tags, chapters and cover art.
   * (MP3 episodes need no ffmpeg: their pieces are joined as bytes, see mp3-join.ts.)
   */
  join(options: JoinOptions, signal?: AbortSignal): Promise<void>
}

/** What a render asks of ffmpeg: jingles, cover art and M4A episodes (MP3 speech pieces never reach it). */
export type FfmpegMedia = Pick<Ffmpeg, 'probe' | 'measureLoudness' | 'decodeToRaw' | 'encodePiece' | 'checkImage' | 'join'>

/**
 * ffmpeg located and checked when a render first needs it. An MP3 episode without jingles or cover
 * art needs none (its pieces are encoded in WebAssembly and joined in JS), so a one-shot render then
 * starts no ffmpeg or ffprobe at all, and its cost does not depend on how slowly that binary starts.
 * A missing or too old ffmpeg is reported by the first call that needs it.
 */
export function ffmpegOnDemand(open: () => Promise<Ffmpeg>): FfmpegMedia {
  let opened: Promise<Ffmpeg> | undefined
  const get = () => (opened ??= open())
  return {
    probe: async (file, signal) => (await get()).probe(file, signal),
    measureLoudness: async (file, signal) => (await get()).measureLoudness(file, signal),
    decodeToRaw: async (input, output, signal) => (await get()).decodeToRaw(input, output, signal),
    encodePiece: async (options, signal) => (await get()).encodePiece(options, signal),
    checkImage: async (file, signal) => (await get()).checkImage(file, signal),
    join: async (options, signal) => (await get()).join(options, signal),
  }
}

/** MP3 frame constants of what encodePiece produces (MPEG-1 Layer III, 44.1 kHz). */
export const SAMPLE_RATE = 44_100
export const SAMPLES_PER_FRAME = 1152
/** libmp3lame's encoder delay (576 + 529 decoder delay), in samples. */
export const ENCODER_DELAY = 1105

const MIN_VERSION: [number, number] = [4, 1]
/** libavutil of ffmpeg 4.1, for git builds ("N-12345-g...") that carry no release number. */
const MIN_LIBAVUTIL: [number, number] = [56, 22]

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const exts = process.platform === 'win32' ? ['.exe', ''] : ['']
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext)
      if (isExecutable(candidate)) return candidate
    }
  }
  return undefined
}

function fromNpm(pkg: string): string | undefined {
  try {
    const require = createRequire(import.meta.url)
    const mod = require(pkg) as { path?: string }
    return mod.path && isExecutable(mod.path) ? mod.path : undefined
  } catch {
    return undefined
  }
}

/**
 * FFMPEG_PATH / FFPROBE_PATH, else ffmpeg/ffprobe on PATH, else the binaries
 * the npm installers ship (so `npm ci` alone gives a working ffmpeg).
 */
export function locateFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegPaths {
  if (env.FFMPEG_PATH || env.FFPROBE_PATH) {
    const ffmpegPath = env.FFMPEG_PATH || onPath('ffmpeg', env) || fromNpm('@ffmpeg-installer/ffmpeg')
    const ffprobePath = env.FFPROBE_PATH || onPath('ffprobe', env) || fromNpm('@ffprobe-installer/ffprobe')
    if (!ffmpegPath || !ffprobePath) throw notFound(`FFMPEG_PATH is ${env.FFMPEG_PATH ?? 'unset'}, FFPROBE_PATH is ${env.FFPROBE_PATH ?? 'unset'}`)
    return { ffmpegPath, ffprobePath, source: 'env' }
  }
  const sysFfmpeg = onPath('ffmpeg', env)
  const sysFfprobe = onPath('ffprobe', env)
  if (sysFfmpeg && sysFfprobe) return { ffmpegPath: sysFfmpeg, ffprobePath: sysFfprobe, source: 'path' }
  const npmFfmpeg = fromNpm('@ffmpeg-installer/ffmpeg')
  const npmFfprobe = fromNpm('@ffprobe-installer/ffprobe')
  const ffmpegPath = sysFfmpeg ?? npmFfmpeg
  const ffprobePath = sysFfprobe ?? npmFfprobe
  if (!ffmpegPath || !ffprobePath)
    throw notFound(`${ffmpegPath ? '' : 'ffmpeg '}${ffprobePath ? '' : 'ffprobe '}not found on PATH nor in node_modules`)
  return { ffmpegPath, ffprobePath, source: sysFfmpeg || sysFfprobe ? 'path' : 'npm' }
}

function notFound(why: string): AppError {
  return new AppError('FFMPEG_NOT_FOUND', `ffmpeg/ffprobe not found (${why}).`, {
    help: 'Install ffmpeg 4.1+ with libmp3lame (e.g. `apt-get install ffmpeg`), run `npm ci` to get the bundled binaries, or set FFMPEG_PATH and FFPROBE_PATH.',
  })
}

function atLeast(v: [number, number], min: [number, number]): boolean {
  return v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1])
}

/** Parses `ffmpeg -version`; returns the version label and whether it is >= 4.1. */
export function parseFfmpegVersion(output: string): { label: string; ok: boolean } {
  const label = /version\s+(\S+)/.exec(output)?.[1] ?? 'unknown'
  const release = /^n?(\d+)\.(\d+)/.exec(label)
  if (release) return { label, ok: atLeast([Number(release[1]), Number(release[2])], MIN_VERSION) }
  const avutil = /libavutil\s+(\d+)\.\s*(\d+)\./.exec(output)
  if (avutil) return { label, ok: atLeast([Number(avutil[1]), Number(avutil[2])], MIN_LIBAVUTIL) }
  return { label, ok: false }
}

async function checkBinaries(paths: FfmpegPaths, runner: FfmpegRunner): Promise<string> {
  let versionOut: string
  try {
    versionOut = (await runner(paths.ffmpegPath, ['-hide_banner', '-version'])).stdout
    await runner(paths.ffprobePath, ['-hide_banner', '-version'])
  } catch (err) {
    throw notFound(`${paths.ffmpegPath} / ${paths.ffprobePath} cannot be run: ${(err as Error).message}`)
  }
  const { label, ok } = parseFfmpegVersion(versionOut)
  if (!ok)
    throw new AppError('FFMPEG_TOO_OLD', `ffmpeg ${label} at ${paths.ffmpegPath} is older than 4.1.`, {
      help: 'Install ffmpeg 4.1 or newer with libmp3lame, or point FFMPEG_PATH at one (the npm package @ffmpeg-installer/ffmpeg ships one).',
    })
  const encoders = (await runner(paths.ffmpegPath, ['-hide_banner', '-encoders'])).stdout
  if (!/\blibmp3lame\b/.test(encoders))
    throw new AppError('FFMPEG_TOO_OLD', `ffmpeg at ${paths.ffmpegPath} was built without libmp3lame (no MP3 encoder).`, {
      help: 'Install an ffmpeg build with libmp3lame (most distribution packages have it), or set FFMPEG_PATH.',
    })
  return label
}

const checked = new Map<string, Promise<string>>()

/**
 * Locates and checks ffmpeg once per binary pair (version >= 4.1, libmp3lame),
 * then returns the app's ffmpeg facade. `config` is accepted for symmetry with
 * other adapters (no ffmpeg setting lives there yet; env vars select binaries).
 */
export async function createFfmpeg(config?: Config, runner: FfmpegRunner = spawnRunner, paths: FfmpegPaths = locateFfmpeg()): Promise<Ffmpeg> {
  const key = `${paths.ffmpegPath}\0${paths.ffprobePath}\0${runner === spawnRunner ? 'default' : Math.random()}`
  let check = checked.get(key)
  if (!check) {
    check = config ? checkBinariesRemembered(paths, runner, config.cacheDir) : checkBinaries(paths, runner)
    checked.set(key, check)
    check.catch(() => checked.delete(key))
  }
  const version = await check
  return makeFfmpeg(paths, version, runner)
}

/**
 * checkBinaries, remembered across processes in <cacheDir>/ffmpeg-check.json for the same two
 * binaries (path, size, mtime, inode): a one-shot `briefcast render` then starts no ffmpeg
 * before its first encode (three runs, ~60-100 ms of a re-render's start-up otherwise).
 * Replacing or upgrading either binary changes its stat, so it is checked again.
 */
async function checkBinariesRemembered(paths: FfmpegPaths, runner: FfmpegRunner, cacheDir: string): Promise<string> {
  const record = path.join(cacheDir, 'ffmpeg-check.json')
  const identity = async () => {
    const [a, b] = await Promise.all([fs.stat(paths.ffmpegPath), fs.stat(paths.ffprobePath)])
    return [paths.ffmpegPath, a.size, a.mtimeMs, a.ino, paths.ffprobePath, b.size, b.mtimeMs, b.ino].join('|')
  }
  const id = await identity().catch(() => undefined)
  if (id) {
    const known = await fs
      .readFile(record, 'utf8')
      .then((t) => JSON.parse(t) as { id?: string; version?: string })
      .catch(() => undefined)
    if (known?.id === id && typeof known.version === 'string') return known.version
  }
  const version = await checkBinaries(paths, runner)
  // Best effort (a read-only cache only means checking again next time); temp file, then rename.
  if (id) await writeFileAtomic(record, JSON.stringify({ id, version })).catch(() => {})
  return version
}

/** Map ffmpeg's stderr to the error a user can act on. */
function classify(err: unknown, context: { output?: string; input?: string; inputIsUserAudio?: boolean }): unknown {
  if (!(err instanceof AppError) || err.code !== 'FFMPEG_FAILED') return err
  const tail = (err.details as { stderrTail?: string } | undefined)?.stderrTail ?? ''
  if (/No space left on device|Disk quota exceeded/i.test(tail))
    return new AppError('DISK_FULL', `No space left on the device writing ${context.output ?? 'audio'}: ${stderrTail(tail, 3)}`, { details: err.details, cause: err })
  if (context.output && /Permission denied|Read-only file system|No such file or directory/i.test(tail) && tail.includes(context.output))
    return new AppError('OUTPUT_NOT_WRITABLE', `Cannot write ${context.output}: ${stderrTail(tail, 3)}`, { details: err.details, cause: err })
  if (context.input && context.inputIsUserAudio && /Invalid data found|could not find codec|does not contain any stream|Invalid argument|not supported|Error while decoding|Output file #0 does not contain any stream|matches no streams/i.test(tail))
    return new AppError('INVALID_AUDIO', `ffmpeg cannot read ${context.input} as audio: ${stderrTail(tail, 3)}`, { details: err.details, cause: err })
  return err
}

// -xerror: ffmpeg 4.x exits 0 when writing the output fails (e.g. "Error writing trailer: No space left on device").
const QUIET = ['-hide_banner', '-nostdin', '-xerror', '-loglevel', 'error']

/** fluent-ffmpeg (16 CommonJS files), loaded by the first command built: a render that needs no ffmpeg never loads it. */
let builderModule: Promise<typeof FluentFfmpeg> | undefined
const ffmpegBuilder = async (): Promise<FluentFfmpeg.FfmpegCommand> => (await (builderModule ??= import('fluent-ffmpeg').then((m) => m.default)))()

/** Builds argv with fluent-ffmpeg (its public builder; _getArguments is typed and stable since 2.x). */
function argsOf(command: FluentFfmpeg.FfmpegCommand): string[] {
  return command._getArguments()
}

export function parseEbur128Summary(stderr: string): Loudness | undefined {
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'))
  const i = /I:\s+(-?[\d.]+|-inf|nan)\s+LUFS/.exec(summary)
  const peak = /True peak:\s+Peak:\s+(-?[\d.]+|-inf|nan)\s+dBFS/.exec(summary)
  if (!i) return undefined
  const num = (s: string | undefined) => (s === undefined || s === '-inf' || s === 'nan' ? -Infinity : Number(s))
  return { integratedLufs: num(i[1]), truePeakDb: num(peak?.[1]) }
}

function makeFfmpeg(paths: FfmpegPaths, version: string, runner: FfmpegRunner): Ffmpeg {
  const ff = (args: string[], signal?: AbortSignal) => runner(paths.ffmpegPath, args, { signal })

  return {
    paths,
    version,
    runner,

    async probe(file, signal) {
      throwIfAborted(signal)
      let stdout: string
      try {
        ;({ stdout } = await runner(
          paths.ffprobePath,
          ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-show_chapters', file],
          { signal },
        ))
      } catch (err) {
        if (err instanceof AppError && err.code === 'FFMPEG_FAILED') {
          const tail = (err.details as { stderrTail?: string }).stderrTail ?? ''
          throw new AppError('INVALID_AUDIO', `ffprobe cannot read ${file}: ${stderrTail(tail, 3) || 'unknown format'}`, { details: err.details, cause: err })
        }
        throw err
      }
      const data = JSON.parse(stdout) as {
        format?: { format_name?: string; duration?: string; size?: string; tags?: Record<string, string> }
        streams?: { codec_type?: string; codec_name?: string; sample_rate?: string; channels?: number; bit_rate?: string; width?: number; height?: number; disposition?: { attached_pic?: number } }[]
        chapters?: { start_time?: string; end_time?: string; tags?: { title?: string } }[]
      }
      const a = data.streams?.find((s) => s.codec_type === 'audio')
      const v = data.streams?.find((s) => s.codec_type === 'video')
      return {
        formatName: data.format?.format_name ?? 'unknown',
        durationMs: Math.round(Number(data.format?.duration ?? 0) * 1000),
        bytes: data.format?.size ? Number(data.format.size) : undefined,
        audio: a
          ? { codec: a.codec_name ?? 'unknown', sampleRate: Number(a.sample_rate ?? 0), channels: a.channels ?? 0, bitRate: a.bit_rate ? Number(a.bit_rate) : undefined }
          : undefined,
        hasVideo: Boolean(v),
        video: v ? { codec: v.codec_name ?? 'unknown', width: v.width ?? 0, height: v.height ?? 0 } : undefined,
        tags: data.format?.tags ?? {},
        chapters: (data.chapters ?? []).map((c) => ({
          title: c.tags?.title ?? '',
          startMs: Math.round(Number(c.start_time ?? 0) * 1000),
          endMs: Math.round(Number(c.end_time ?? 0) * 1000),
        })),
      }
    },

    async decodeToRaw(input, output, signal) {
      throwIfAborted(signal)
      const command = (await ffmpegBuilder()).input(input).addOptions(QUIET).output(output).outputOptions(['-map', '0:a:0']).audioChannels(1).audioFrequency(SAMPLE_RATE).audioCodec('pcm_s16le').format('s16le')
      try {
        await ff(argsOf(command), signal)
      } catch (err) {
        throw classify(err, { input, output })
      }
    },

    async measureLoudness(file, signal) {
      throwIfAborted(signal)
      // framelog=verbose keeps the per-100ms lines out of stderr at loglevel info; the summary stays.
      const command = (await ffmpegBuilder())
        .input(file)
        .addOptions(['-hide_banner', '-nostdin', '-nostats'])
        .output('-')
        .outputOptions(['-map', '0:a:0'])
        .audioFilters('ebur128=peak=true:framelog=verbose')
        .format('null')
      let stderr: string
      try {
        ;({ stderr } = await ff(argsOf(command), signal))
      } catch (err) {
        throw classify(err, { input: file, inputIsUserAudio: true })
      }
      const loudness = parseEbur128Summary(stderr)
      if (!loudness) throw new AppError('FFMPEG_FAILED', `ebur128 printed no summary for ${file}: ${stderrTail(stderr)}`, { details: { stderrTail: stderrTail(stderr) } })
      return loudness
    },

    async encodePiece(o, signal) {
      throwIfAborted(signal)
      const filters = [
        ...(o.fadeOut ? [`afade=t=out:st=${o.fadeOut.startSec.toFixed(3)}:d=${o.fadeOut.durationSec.toFixed(3)}`] : []),
        ...(o.gainDb !== 0 ? [`volume=${o.gainDb.toFixed(2)}dB`] : []),
        `aresample=${SAMPLE_RATE}`,
        // A lookahead limiter (no auto-level, which would re-normalize the output to the ceiling).
        ...(o.limitDb !== undefined ? [`alimiter=limit=${Math.pow(10, o.limitDb / 20).toFixed(4)}:attack=5:release=50:level=0`] : []),
        // A later part of a clip: its samples from startSample on, with timestamps from 0 for the trim below.
        ...(o.startSample ? [`atrim=start_sample=${o.startSample}`, 'asetpts=PTS-STARTPTS'] : []),
        // Pad then cut to an exact length so the piece ends on an MP3 frame boundary.
        `apad=whole_len=${o.totalSamples}`,
        `atrim=end_sample=${o.totalSamples}`,
      ]
      const command = (await ffmpegBuilder())
        .input(o.input)
        .addOptions(QUIET)
        .output(o.output)
        .audioFilters(filters)
        .audioChannels(1)
        .audioFrequency(SAMPLE_RATE)
        .audioCodec('libmp3lame')
        .audioBitrate(o.bitrateKbps)
        // compression_level 7: ~2.5x faster than the default at 64 kbps mono, inaudible for speech.
        // No Xing frame and no ID3 tag: a piece is bare MP3 frames, so pieces concatenate byte for byte
        // (progressive stream) and with the concat demuxer (episode file) into the same audio.
        .outputOptions(['-map', '0:a:0', '-compression_level', '7', '-write_xing', '0', '-id3v2_version', '0'])
        .format('mp3')
      try {
        await ff(argsOf(command), signal)
      } catch (err) {
        throw classify(err, { input: o.input, output: o.output, inputIsUserAudio: true })
      }
    },

    async checkImage(file, signal) {
      const info = await this.probe(file, signal).catch((err: unknown) => {
        throw new AppError('INVALID_IMAGE', `The image ${file} cannot be read: ${(err as Error).message}`, { cause: err })
      })
      if (!info.video || !['mjpeg', 'png'].includes(info.video.codec))
        throw new AppError('INVALID_IMAGE', `The image ${file} is not a JPEG or PNG${info.video ? ` (${info.video.codec})` : ''}.`)
      // Probing reads headers only (a file named .png probes as PNG whatever it holds): decode it once.
      const command = (await ffmpegBuilder()).input(file).addOptions(QUIET).output('-').outputOptions(['-map', '0:v:0', '-frames:v', '1']).format('null')
      try {
        await ff(argsOf(command), signal)
      } catch (err) {
        if (err instanceof AppError && err.code === 'FFMPEG_FAILED')
          throw new AppError('INVALID_IMAGE', `The image ${file} cannot be decoded: ${(err.details as { stderrTail?: string }).stderrTail ?? ''}`, { details: err.details, cause: err })
        throw err
      }
      return info.video
    },

    async join(o, signal) {
      throwIfAborted(signal)
      const command = (await ffmpegBuilder())
        .addOptions(QUIET)
        .input(o.listPath)
        .inputOptions(['-f', 'concat', '-safe', '0'])
        .input(o.metadataPath)
        .inputOptions(['-f', 'ffmetadata'])
      if (o.coverPath) command.input(o.coverPath)
      const out = command.output(o.output).outputOptions(['-map', '0:a', '-map_metadata', '1', '-map_chapters', '1'])
      // AAC needs a re-encode; the pieces are already normalized, so it is a plain transcode.
      out.audioCodec('aac').audioBitrate(Math.max(o.bitrateKbps, 48)).audioChannels(1).audioFrequency(SAMPLE_RATE)
      if (o.coverPath) out.outputOptions(['-map', '2:v', '-c:v', 'copy', '-disposition:v', 'attached_pic'])
      out.outputOptions(['-movflags', '+faststart']).format('ipod')
      try {
        await ff(argsOf(command), signal)
      } catch (err) {
        const e = classify(err, { output: o.output })
        if (e instanceof AppError && e.code === 'FFMPEG_FAILED' && o.coverPath && /Invalid data|could not find codec/i.test(String((e.details as { stderrTail?: string }).stderrTail)))
          throw new AppError('INVALID_IMAGE', `The cover art ${o.coverPath} is not a readable image.`, { details: e.details, cause: e })
        throw e
      }
    },
  }
}
