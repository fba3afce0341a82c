/**
 * Local neural models are the user's files: `briefcast voices install <name|URL|path>` puts a
 * sherpa-onnx TTS model archive (.tar.bz2, as sherpa-onnx publishes them under its tts-models
 * releases) into the models directory (BRIEFCAST_MODELS_DIR), and nothing is ever downloaded
 * behind the user's back. Install: download (SSRF-safe fetcher, resumable with Range, size limit),
 * checksum when one is known, unpack into a temp directory, recognise the layout (Piper/VITS or
 * Kokoro), load it once in a child process (sherpa-onnx ends the process on some malformed models,
 * so a bad model must not take the CLI or the service down with it), then rename into place.
 *
 * <modelsDir>/<name>/briefcast-model.json marks a complete install: what sherpa-onnx reported
 * (sample rate, speakers) and the layout; directories without it are not models.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, promises as fs } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import * as tar from 'tar'
import { AppError, isAppError } from '../errors.ts'
import { safeFetchStream } from '../ingest/fetch.ts'
import { fileError, writeFileAtomic } from '../util/files.ts'

const require = createRequire(import.meta.url)

/** Where sherpa-onnx publishes its TTS model archives; a bare name installs <name>.tar.bz2 from here. */
export const MODEL_RELEASES_URL = 'https://github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/'
export const MARKER = 'briefcast-model.json'

export type ModelLayout = 'piper' | 'vits' | 'kokoro'

export interface InstalledModel {
  /** Directory name under the models directory; what a voice profile's `name` says. */
  name: string
  dir: string
  layout: ModelLayout
  /** Paths relative to dir. */
  files: { model: string; tokens: string; dataDir?: string; voices?: string; lexicon?: string }
  sampleRate: number
  numSpeakers: number
  /** BCP 47 tags, from the model's name (sherpa-onnx names carry them: en_US, de_DE, kokoro-en). */
  languages: string[]
  /** sha256 of the archive it was installed from: changes when the model's files do. */
  fingerprint: string
  source: string
  installedAt: string
}

/** The command that installs a model, for error messages. */
export function installCommandFor(nameOrSource: string): string {
  return `briefcast voices install ${nameOrSource}`
}

/** Languages a model speaks, read from its name: "vits-piper-en_US-amy-low" -> en-US, "kokoro-en-v0_19" -> en. */
export function languagesFromName(name: string): string[] {
  const region = /(?:^|[-_])([a-z]{2,3})_([A-Z]{2})(?=[-_.]|$)/.exec(name)
  if (region) return [`${region[1]}-${region[2]}`]
  if (/kokoro-multi-lang/.test(name)) return ['en', 'zh']
  const bare = /(?:^|-)([a-z]{2})(?=-|$)/.exec(name.replace(/^(vits|piper|kokoro|matcha|coqui|mimic3)-/, ''))
  return bare ? [bare[1]!] : []
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  )
}

/** Recognises the files of a model directory (Piper/VITS or Kokoro), or says what is missing. */
export async function detectLayout(dir: string): Promise<{ layout: ModelLayout; files: InstalledModel['files'] }> {
  const entries = await fs.readdir(dir)
  const onnx = entries.filter((f) => f.endsWith('.onnx')).sort()
  const has = (f: string) => entries.includes(f)
  const describe = () => `found: ${entries.slice(0, 12).join(', ') || 'nothing'}${entries.length > 12 ? ', ...' : ''}`
  if (!has('tokens.txt')) throw new AppError('UNKNOWN_MODEL_LAYOUT', `${dir} has no tokens.txt, so it is not a sherpa-onnx TTS model (${describe()}).`, { details: { dir, files: entries } })
  if (onnx.length !== 1)
    throw new AppError('UNKNOWN_MODEL_LAYOUT', `${dir} should hold exactly one .onnx model file; ${onnx.length === 0 ? 'it has none' : `it has ${onnx.join(', ')} (Matcha and other two-model layouts are not supported yet)`} (${describe()}).`, {
      details: { dir, files: entries },
    })
  const dataDir = has('espeak-ng-data') && (await exists(path.join(dir, 'espeak-ng-data', 'phontab'))) ? 'espeak-ng-data' : undefined
  if (has('voices.bin')) {
    if (!dataDir) throw new AppError('UNKNOWN_MODEL_LAYOUT', `${dir} looks like a Kokoro model (voices.bin) but has no espeak-ng-data/ directory (${describe()}).`, { details: { dir } })
    return { layout: 'kokoro', files: { model: onnx[0]!, tokens: 'tokens.txt', voices: 'voices.bin', dataDir, ...(has('lexicon-us-en.txt') ? { lexicon: 'lexicon-us-en.txt' } : {}) } }
  }
  if (dataDir) return { layout: 'piper', files: { model: onnx[0]!, tokens: 'tokens.txt', dataDir } }
  if (has('lexicon.txt')) return { layout: 'vits', files: { model: onnx[0]!, tokens: 'tokens.txt', lexicon: 'lexicon.txt' } }
  throw new AppError('UNKNOWN_MODEL_LAYOUT', `${dir} has a model and tokens.txt but neither espeak-ng-data/ nor lexicon.txt, which sherpa-onnx needs to turn text into tokens (${describe()}).`, {
    details: { dir, files: entries },
  })
}

/** sherpa-onnx's OfflineTts config for a model directory. */
export function sherpaConfigFor(model: Pick<InstalledModel, 'dir' | 'layout' | 'files'>, numThreads = 1): object {
  const f = (rel: string | undefined) => (rel ? path.resolve(model.dir, rel) : '')
  const common = { numThreads, provider: 'cpu', debug: 0 }
  if (model.layout === 'kokoro')
    return { model: { kokoro: { model: f(model.files.model), voices: f(model.files.voices), tokens: f(model.files.tokens), dataDir: f(model.files.dataDir), lexicon: f(model.files.lexicon) }, ...common }, maxNumSentences: 1 }
  return { model: { vits: { model: f(model.files.model), tokens: f(model.files.tokens), dataDir: f(model.files.dataDir), lexicon: f(model.files.lexicon) }, ...common }, maxNumSentences: 1 }
}

/** The installed models (directories with a complete install marker), by name. */
export async function listInstalledModels(modelsDir: string): Promise<InstalledModel[]> {
  let names: string[]
  try {
    names = (await fs.readdir(modelsDir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name)
  } catch {
    return []
  }
  const out: InstalledModel[] = []
  for (const name of names.sort()) {
    try {
      const info = JSON.parse(await fs.readFile(path.join(modelsDir, name, MARKER), 'utf8')) as Omit<InstalledModel, 'dir' | 'name'>
      out.push({ ...info, name, dir: path.resolve(modelsDir, name) })
    } catch {}
  }
  return out
}

/**
 * Loads a model once in a child process (sherpa-onnx-node, as the engine's workers do) and returns
 * what sherpa-onnx reports. A model sherpa-onnx cannot load, or that makes it exit, is an error here.
 */
export async function probeModel(model: Pick<InstalledModel, 'dir' | 'layout' | 'files'>): Promise<{ sampleRate: number; numSpeakers: number }> {
  const script = fileURLToPath(new URL('./sherpa-probe.mjs', import.meta.url))
  const config = JSON.stringify(sherpaConfigFor(model))
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [script, config], { timeout: 120_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const tail = String(stderr).trim().split('\n').slice(-4).join('\n')
      if (err) return reject(new AppError('UNKNOWN_MODEL_LAYOUT', `sherpa-onnx could not load the model in ${model.dir}: ${tail || err.message}`, { details: { dir: model.dir, stderr: tail } }))
      try {
        const info = JSON.parse(String(stdout).trim().split('\n').pop()!) as { sampleRate: number; numSpeakers: number }
        if (!(info.sampleRate > 0) || !(info.numSpeakers > 0)) throw new Error(`reported ${JSON.stringify(info)}`)
        resolve(info)
      } catch (e) {
        reject(new AppError('UNKNOWN_MODEL_LAYOUT', `sherpa-onnx loaded the model in ${model.dir} but it ${(e as Error).message}.`, { details: { dir: model.dir } }))
      }
    })
  })
}

export interface InstallProgress {
  (stage: 'download' | 'unpack' | 'check', done: number, total: number | undefined): void
}

export interface InstallOptions {
  modelsDir: string
  /** Largest archive accepted, bytes. */
  maxBytes: number
  /** Expected sha256 of the archive (hex), when known. */
  sha256?: string
  /** Fetcher settings: hosts let through the private-address check, and the time one request may take. */
  allowlist: readonly string[]
  timeoutMs: number
  onProgress?: InstallProgress
  signal?: AbortSignal
}

type Source = { kind: 'url'; url: string; archiveName: string } | { kind: 'file'; file: string; archiveName: string }

function resolveSource(source: string): Source | Promise<Source> {
  if (/^https?:\/\//i.test(source)) {
    const base = decodeURIComponent(new URL(source).pathname.split('/').pop() || 'model.tar.bz2')
    return { kind: 'url', url: source, archiveName: base }
  }
  return (async () => {
    const file = path.resolve(source)
    if (await exists(file)) return { kind: 'file' as const, file, archiveName: path.basename(file) }
    if (/[/\\]/.test(source) || source.endsWith('.tar.bz2'))
      throw new AppError('VALIDATION_FAILED', `${file} does not exist.`, { details: { source }, help: 'Give an existing .tar.bz2 file, a URL, or the name of a sherpa-onnx model archive.' })
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(source)) throw new AppError('VALIDATION_FAILED', `"${source}" is not a model name, URL or path.`, { details: { source } })
    return { kind: 'url' as const, url: `${MODEL_RELEASES_URL}${source}.tar.bz2`, archiveName: `${source}.tar.bz2` }
  })()
}

/** Downloads url to file, resuming a partial file with a Range request; returns the final size. */
async function download(url: string, file: string, options: InstallOptions): Promise<void> {
  let have = (await fs.stat(file).catch(() => undefined))?.size ?? 0
  const res = await safeFetchStream(url, {
    allowlist: options.allowlist,
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
    signal: options.signal,
    headers: { accept: 'application/x-bzip2, application/octet-stream, */*', ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
  })
  // 206 continues the partial file; 200 (a server without ranges, or a changed file) starts again.
  if (res.status !== 206) have = 0
  const rest = Number(res.headers['content-length'])
  const total = Number.isFinite(rest) ? have + rest : undefined
  if (total !== undefined && total > options.maxBytes) {
    res.stream.destroy()
    throw new AppError('INPUT_TOO_LARGE', `${url} is ${total} bytes; the limit is ${options.maxBytes} (BRIEFCAST_MODELS_MAX_BYTES).`, {
      details: { bytes: total, limit: options.maxBytes },
      help: 'Raise BRIEFCAST_MODELS_MAX_BYTES if you trust this model archive.',
    })
  }
  let done = have
  // Each chunk is on disk before the next is read: when the connection breaks, every byte received is kept,
  // and the next run resumes from there (a write stream destroyed by a failing pipeline drops what it buffered).
  const out = await fs.open(file, have > 0 ? 'a' : 'w').catch((err: unknown) => {
    throw fileError(err, file)
  })
  try {
    for await (const chunk of res.stream as AsyncIterable<Buffer>) {
      done += chunk.length
      if (done > options.maxBytes) {
        res.stream.destroy()
        throw new AppError('INPUT_TOO_LARGE', `${url} is larger than the limit of ${options.maxBytes} bytes (BRIEFCAST_MODELS_MAX_BYTES).`, { details: { limit: options.maxBytes } })
      }
      await out.write(chunk)
      options.onProgress?.('download', done, total)
    }
  } catch (err) {
    if (isAppError(err)) {
      if (err.code === 'INPUT_TOO_LARGE') await fs.rm(file, { force: true })
      throw err
    }
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOSPC' || code === 'EDQUOT') throw fileError(err, file)
    throw new AppError('FETCH_FAILED', `Downloading ${url} stopped after ${done} bytes: ${(err as Error).message}. Run the same command again to resume.`, { cause: err })
  } finally {
    await out.close()
  }
  if (total !== undefined && done !== total) throw new AppError('FETCH_FAILED', `Downloading ${url} stopped after ${done} of ${total} bytes. Run the same command again to resume.`)
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  await pipeline(createReadStream(file), h)
  return h.digest('hex')
}

/** Free bytes on the file system of dir (undefined when the platform cannot tell). */
async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await fs.statfs(dir)
    return s.bavail * s.bsize
  } catch {
    return undefined
  }
}

/** Unpacks a .tar.bz2 into dir: regular files and directories only, no path may leave dir. */
async function unpack(archive: string, dir: string, onProgress?: InstallProgress): Promise<void> {
  const head = Buffer.alloc(3)
  const fh = await fs.open(archive, 'r')
  try {
    await fh.read(head, 0, 3, 0)
  } finally {
    await fh.close()
  }
  if (head.toString('latin1') !== 'BZh')
    throw new AppError('INVALID_MODEL_ARCHIVE', `${path.basename(archive)} is not a bzip2 file (sherpa-onnx model archives are .tar.bz2).`, { details: { archive } })
  const size = (await fs.stat(archive)).size
  const bunzip = require('unbzip2-stream') as () => NodeJS.ReadWriteStream
  let read = 0
  const input = createReadStream(archive).on('data', (chunk) => {
    read += chunk.length
    onProgress?.('unpack', read, size)
  })
  let unsafe = ''
  const extract = tar.x({
    cwd: dir,
    strict: true,
    // Hard and symbolic links, devices, FIFOs: none belong in a model, and links could point outside.
    filter: (p, entry) => {
      const type = (entry as { type?: string }).type
      if (type === 'File' || type === 'OldFile' || type === 'Directory' || type === 'ContiguousFile') return true
      if (type !== 'GNUDumpDir' && type !== 'ExtendedHeader' && type !== 'GlobalExtendedHeader') unsafe ||= `${p} (${type})`
      return false
    },
  })
  try {
    await pipeline(input, bunzip(), extract)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOSPC' || code === 'EDQUOT') throw fileError(err, dir)
    throw new AppError('INVALID_MODEL_ARCHIVE', `${path.basename(archive)} could not be unpacked: ${(err as Error).message}. The file may be truncated; delete it and install again.`, {
      cause: err,
      details: { archive },
    })
  }
  if (unsafe) throw new AppError('INVALID_MODEL_ARCHIVE', `${path.basename(archive)} contains ${unsafe}, which is not a plain file or directory; it was not installed.`, { details: { archive } })
}

/**
 * Installs a model archive (a sherpa-onnx name, an http(s) URL or a local .tar.bz2 path) into
 * options.modelsDir and returns the installed model. An existing install of the same name is
 * replaced only once the new one is complete.
 */
export async function installModel(source: string, options: InstallOptions): Promise<InstalledModel> {
  const src = await resolveSource(source)
  const modelsDir = path.resolve(options.modelsDir)
  const work = path.join(modelsDir, '.install')
  try {
    await fs.mkdir(work, { recursive: true })
  } catch (err) {
    throw fileError(err, work)
  }
  try {
    return await installFrom(src, modelsDir, work, options)
  } finally {
    // Left only while it holds a partial download to resume.
    await fs.rmdir(work).catch(() => {})
  }
}

async function installFrom(src: Source, modelsDir: string, work: string, options: InstallOptions): Promise<InstalledModel> {
  let archive: string
  if (src.kind === 'url') {
    // Kept between attempts under a name of its URL, so running the command again resumes it.
    archive = path.join(work, `${createHash('sha256').update(src.url).digest('hex').slice(0, 16)}-${src.archiveName.replace(/[^A-Za-z0-9._-]/g, '_')}.part`)
    await download(src.url, archive, options)
  } else {
    archive = src.file
    const size = (await fs.stat(archive)).size
    if (size > options.maxBytes)
      throw new AppError('INPUT_TOO_LARGE', `${archive} is ${size} bytes; the limit is ${options.maxBytes} (BRIEFCAST_MODELS_MAX_BYTES).`, { details: { bytes: size, limit: options.maxBytes } })
  }
  options.onProgress?.('check', 0, undefined)
  const digest = await sha256File(archive)
  if (options.sha256 && digest !== options.sha256.toLowerCase()) {
    if (src.kind === 'url') await fs.rm(archive, { force: true })
    throw new AppError('CHECKSUM_MISMATCH', `${src.archiveName} has sha256 ${digest}, not the expected ${options.sha256}.`, { details: { expected: options.sha256, actual: digest } })
  }
  // bzip2 archives of models unpack to ~1-3x their size; ask for 3x free before starting.
  const archiveSize = (await fs.stat(archive)).size
  const free = await freeBytes(modelsDir)
  if (free !== undefined && free < archiveSize * 3)
    throw new AppError('DISK_FULL', `Unpacking ${src.archiveName} needs about ${Math.ceil((archiveSize * 3) / 1e6)} MB free in ${modelsDir}; there are ${Math.floor(free / 1e6)} MB.`, {
      details: { needBytes: archiveSize * 3, freeBytes: free },
      help: 'Free disk space or point BRIEFCAST_MODELS_DIR at a larger disk, then run the command again.',
    })
  const tmp = await fs.mkdtemp(path.join(work, 'unpack-'))
  try {
    await unpack(archive, tmp, options.onProgress)
    const top = (await fs.readdir(tmp)).filter((f) => !f.startsWith('.'))
    // sherpa-onnx archives hold one directory named like the archive; a flat archive is named after its file.
    const single = top.length === 1 && (await fs.stat(path.join(tmp, top[0]!))).isDirectory()
    const name = single ? top[0]! : src.archiveName.replace(/\.tar\.bz2(\.part)?$|\.tbz2?$/, '')
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) throw new AppError('INVALID_MODEL_ARCHIVE', `The archive's model name "${name}" is not a plain directory name.`, { details: { name } })
    let staged = single ? path.join(tmp, name) : tmp
    if (!single) {
      staged = path.join(work, `staged-${path.basename(tmp)}`)
      await fs.rename(tmp, staged)
    }
    const { layout, files } = await detectLayout(staged)
    const { sampleRate, numSpeakers } = await probeModel({ dir: staged, layout, files })
    const info: Omit<InstalledModel, 'name' | 'dir'> = {
      layout,
      files,
      sampleRate,
      numSpeakers,
      languages: languagesFromName(name),
      fingerprint: digest,
      source: src.kind === 'url' ? src.url : src.file,
      installedAt: new Date().toISOString(),
    }
    await writeFileAtomic(path.join(staged, MARKER), `${JSON.stringify(info, null, 2)}\n`)
    const target = path.join(modelsDir, name)
    const old = path.join(work, `old-${name}-${process.pid}-${Date.now()}`)
    const replacing = await exists(target)
    if (replacing) await fs.rename(target, old)
    try {
      await fs.rename(staged, target)
    } catch (err) {
      if (replacing) await fs.rename(old, target).catch(() => {})
      throw fileError(err, target)
    }
    if (replacing) await fs.rm(old, { recursive: true, force: true })
    if (src.kind === 'url') await fs.rm(archive, { force: true })
    return { ...info, name, dir: target }
  } catch (err) {
    // A download that is not a usable model would only be "resumed" next time: start afresh.
    if (src.kind === 'url' && !(isAppError(err) && err.code === 'DISK_FULL')) await fs.rm(archive, { force: true })
    throw err
  } finally {
    await fs.rm(tmp, { recursive: true, force: true })
  }
}

/**
 * Start-up problems of a voice profile on the local neural engine: each voice must name an
 * installed model (else the problem names the install command), a speaker the model has, and no
 * pitch (the models have no pitch control). Never a silent fallback to another voice.
 */
export function sherpaProfileProblems(
  profile: { id: string; install?: string; voices: Record<string, { name?: string; speaker?: number; pitch?: number } | undefined> },
  file: string,
  installed: readonly InstalledModel[],
  modelsDir: string,
): string[] {
  const problems: string[] = []
  for (const [role, voice] of Object.entries(profile.voices)) {
    if (!voice) continue
    if (!voice.name) {
      problems.push(`${file}: voices.${role}.name: name the installed model to speak with (see \`briefcast voices\`)`)
      continue
    }
    const [name, hashSid] = voice.name.split('#') as [string, string | undefined]
    const model = installed.find((m) => m.name === name)
    if (!model) {
      problems.push(`${file}: voices.${role}.name: the model "${name}" is not installed in ${modelsDir}; install it with \`${installCommandFor(profile.install ?? name)}\``)
      continue
    }
    const sid = voice.speaker ?? (hashSid === undefined ? 0 : Number(hashSid))
    if (!Number.isInteger(sid) || sid < 0 || sid >= model.numSpeakers)
      problems.push(`${file}: voices.${role}.speaker: the model "${name}" has ${model.numSpeakers} speaker(s) (0-${model.numSpeakers - 1}), not ${voice.speaker ?? hashSid}`)
    if (voice.pitch !== undefined && voice.pitch !== 0) problems.push(`${file}: voices.${role}.pitch: sherpa-onnx voices have no pitch control; remove it`)
  }
  return problems
}
