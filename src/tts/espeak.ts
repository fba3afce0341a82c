/**
 * espeak-ng, the offline default engine: WebAssembly that ships with the project
 * (espeak-wasm.mjs, built by native/espeak-ng) with its voice data from npm, no
 * system install; run in a pool of worker threads that each keep an instance, so
 * synthesis never blocks the event loop and segments of one article are
 * synthesized in parallel.
 */
import { promises as fsp, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Worker } from 'node:worker_threads'
import { AppError, throwIfAborted } from '../errors.ts'
import { sha256, writeFileAtomic } from '../util/files.ts'
import { startEspeakWorker, takePrestartedWorker, type WarmUp } from './espeak-prestart.ts'
import { WorkerPool } from './worker-pool.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice, VoiceSettings, WordTiming } from './engine.ts'
import { checkSsml, escapeXmlWithMap } from './ssml.ts'
import { pcmDurationMs } from './wav.ts'
import { ENGINES } from './registry.ts'
import { primaryLanguage } from '../script/language.ts'

export interface EspeakEngineOptions {
  /**
   * Most worker threads, each with a warm instance; default 1. The first starts with
   * the engine (it lists the voices and warms up); the others start only when jobs
   * wait for a worker, so a small job never pays for a pool it does not use.
   */
  workers?: number
  /**
   * Warm V8 up on sample sentences whenever a worker is idle (default true): a service is then
   * fast on its first requests. One-shot commands pass false (see WarmUp).
   */
  warmUp?: WarmUp
  /**
   * Where to keep the engine's voice list (espeak-voices.json), valid as long as the engine build and
   * its voice data are the same files. With a valid list the engine is usable at once: jobs wait for
   * the first worker, but nothing else does (a one-shot command converts its article meanwhile).
   */
  cacheDir?: string
  /** Starts a worker thread (tests: a worker that fails); default startEspeakWorker. */
  startWorker?: (cancel: Int32Array, warmUp: WarmUp) => Worker
}

type VoiceListing = { voices: { name: string; identifier: string; languages: string[] }[]; variants: string[] }

/**
 * What the voice list depends on: this engine build (its bytes: the build copies it, with a new mtime,
 * whenever any source changes) and the voice data package (size and mtime of its files).
 */
function engineBuildKey(): string {
  const require = createRequire(import.meta.url)
  const dataDir = path.dirname(require.resolve('@echogarden/espeak-ng-emscripten/package.json'))
  const engine = sha256(readFileSync(new URL('./espeak-ng-wasm.wasm', import.meta.url))).slice(0, 16)
  const data = [path.join(dataDir, 'espeak-ng.data'), path.join(dataDir, 'espeak-ng.js')].map((f) => {
    const st = statSync(f)
    return `${st.size}:${st.mtimeMs}`
  })
  return [engine, ...data].join('|')
}

async function readVoiceListing(file: string, key: string): Promise<VoiceListing | undefined> {
  try {
    const cached = JSON.parse(await fsp.readFile(file, 'utf8')) as { key?: string } & Partial<VoiceListing>
    if (cached.key === key && Array.isArray(cached.voices) && cached.voices.length > 0 && Array.isArray(cached.variants)) return { voices: cached.voices, variants: cached.variants }
  } catch {}
  return undefined
}


/** Messages to and from espeak-worker.mjs (plain JS, so the types live here). */
export interface EspeakJob {
  type: 'synth'
  id: number
  /** SSML (plain text arrives already XML-escaped, see synthesize). */
  ssml: string
  voice: string
  /** Words per minute. */
  wpm: number
  /** 0..100, 50 = the voice's normal pitch. */
  pitch: number
}

export interface EspeakVoicesJob {
  type: 'voices'
  id: number
}

export type EspeakReply =
  /** events: word/sentence events flattened as [type (1 word, 2 sentence), pos, len, ms] x n, as an Int32Array buffer. */
  | { id: number; ok: true; pcm: ArrayBuffer; sampleRate: number; events: ArrayBuffer }
  | { id: number; ok: true; voices: { name: string; identifier: string; languages: string[] }[]; variants: string[] }
  | { id: number; ok: false; cancelled?: boolean; samples?: number; code: 'UNKNOWN_VOICE' | 'ENGINE_FAILED'; message: string }

type EspeakPool = WorkerPool<EspeakJob | EspeakVoicesJob, EspeakReply>

const PACKAGE = '@echogarden/espeak-ng-emscripten'
const SAMPLE_RATE = 22050
const NORMAL_WPM = 175

function packageVersion(): string {
  try {
    const require = createRequire(import.meta.url)
    return (JSON.parse(readFileSync(require.resolve(`${PACKAGE}/package.json`), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** espeak-ng voice name for settings: an explicit name ('en-us+f3'), else language (+ a gender variant). */
export function espeakVoiceName(voice: VoiceSettings): string {
  if (voice.name) return voice.name.toLowerCase()
  const base = voice.language.toLowerCase()
  if (voice.gender === 'female') return `${base}+f3`
  return base
}

export class EspeakEngine implements TtsEngine {
  readonly id = 'espeak-ng'
  readonly version: string
  readonly capabilities: EngineCapabilities
  private readonly pool: EspeakPool
  private readonly voices: Voice[]
  private readonly knownNames: Set<string>
  /**
   * Voice name or language tag -> the voice file espeak-ng loads ('en-gb' -> 'gmw/en'). espeak-ng's
   * SetVoiceByName finds a voice by its file name, so the language tags that are not also file
   * names ('en-gb', 'fr-fr', ...) must be sent as the file's identifier.
   */
  private readonly identifiers: Map<string, string>
  /** Voice variants ('f3', 'klatt', ...) usable as 'en-us+f3'. */
  readonly variants: string[]

  private constructor(pool: EspeakPool, voices: Voice[], variants: string[], identifiers: Map<string, string>) {
    this.pool = pool
    this.voices = voices
    this.variants = variants
    this.identifiers = identifiers
    this.version = `${PACKAGE}@${packageVersion()}`
    this.knownNames = new Set(voices.flatMap((v) => [v.name, ...v.languages]))
    this.capabilities = {
      // Stated once, in the registry (src/tts/registry.ts).
      ...ENGINES['espeak-ng'].limits,
      languages: [...new Set(voices.flatMap((v) => v.languages))].sort(),
      sampleRate: SAMPLE_RATE,
    }
  }

  static async create(options: EspeakEngineOptions = {}): Promise<EspeakEngine> {
    const startWorker = options.startWorker ?? startEspeakWorker
    const pool: EspeakPool = new WorkerPool({
      name: 'espeak-ng',
      max: Math.max(1, options.workers ?? 1),
      warmUp: options.warmUp ?? true,
      startWorker,
      // A worker started before the engine (espeak-prestart.ts) runs the real engine: adopt it unless a test replaced the worker.
      ...(startWorker === startEspeakWorker ? { takePrestarted: takePrestartedWorker } : {}),
    })
    try {
      const cacheFile = options.cacheDir ? path.join(options.cacheDir, 'espeak-voices.json') : undefined
      let key: string | undefined
      try {
        key = cacheFile ? engineBuildKey() : undefined
      } catch {}
      let listing = cacheFile && key ? await readVoiceListing(cacheFile, key) : undefined
      if (listing) {
        // The list is known: don't wait for the worker (a failed start reaches the first job instead).
        pool.ready().catch(() => {})
      } else {
        await pool.ready()
        const reply = await pool.run({ type: 'voices' })
        if (!reply.ok || !('voices' in reply)) throw new AppError('ENGINE_FAILED', 'espeak-ng did not list its voices.')
        listing = { voices: reply.voices, variants: reply.variants }
        // Atomic (temp name, then rename): a concurrent reader sees the old list or the new one. A failed write only costs the next start the wait.
        if (cacheFile && key) await writeFileAtomic(cacheFile, JSON.stringify({ key, ...listing })).catch(() => {})
      }
      const voices: Voice[] = listing.voices.map((v) => ({
        engine: 'espeak-ng',
        name: (v.languages[0] ?? v.identifier.split('/').pop()!).toLowerCase(),
        languages: v.languages.map((l) => l.toLowerCase()),
        sampleRate: SAMPLE_RATE,
      }))
      // A voice's own name first (its primary language), then the other languages it lists, first voice wins.
      const identifiers = new Map<string, string>()
      listing.voices.forEach((v, i) => identifiers.set(voices[i]!.name, v.identifier))
      listing.voices.forEach((v, i) => voices[i]!.languages.forEach((l) => identifiers.has(l) || identifiers.set(l, v.identifier)))
      return new EspeakEngine(pool, voices, listing.variants, identifiers)
    } catch (err) {
      await pool.close()
      throw err
    }
  }

  /** Resolves once the first worker thread has its engine loaded (create() does not wait for it when the voice list is cached). */
  ready(): Promise<void> {
    return this.pool.ready()
  }

  get load(): { queued: number; running: number; workers: number; maxWorkers: number } {
    return this.pool.load
  }

  /** Aborted jobs that a worker stopped mid-text (for tests: proof that work was really abandoned). */
  get cancelled(): { jobs: number; lastSamples: number } {
    return { ...this.pool.cancelled }
  }

  /** True when espeak-ng has a voice for the language tag (exact, else its primary subtag). */
  speaks(language: string): boolean {
    const tag = language.toLowerCase()
    return this.knownNames.has(tag) || this.knownNames.has(primaryLanguage(tag))
  }

  /** The voice name espeak-ng uses for a language tag: exact match first, else the primary subtag. */
  voiceForLanguage(language: string): string | undefined {
    const tag = language.toLowerCase()
    if (this.knownNames.has(tag)) return tag
    const primary = primaryLanguage(tag)
    return this.knownNames.has(primary) ? primary : undefined
  }

  async listVoices(signal?: AbortSignal): Promise<Voice[]> {
    throwIfAborted(signal)
    return this.voices.map((v) => ({ ...v, languages: [...v.languages] }))
  }

  async synthesize(req: SynthesisRequest, signal?: AbortSignal): Promise<Clip> {
    throwIfAborted(signal)
    const bytes = Buffer.byteLength(req.text, 'utf8')
    if (bytes > this.capabilities.maxInputBytes)
      throw new AppError('TEXT_TOO_LONG', `The text is ${bytes} bytes; espeak-ng takes at most ${this.capabilities.maxInputBytes} per request.`)
    const name = req.voice.name ? req.voice.name.toLowerCase() : this.voiceForLanguage(req.voice.language)
    if (!name) throw new AppError('UNSUPPORTED_LANGUAGE', `espeak-ng does not speak "${req.voice.language}".`, { details: { language: req.voice.language } })
    const [base, variant] = name.split('+') as [string, string | undefined]
    if (!this.knownNames.has(base)) throw new AppError('UNKNOWN_VOICE', `espeak-ng has no voice "${name}".`, { details: { voice: name } })
    // espeak-ng silently ignores an unknown variant; refuse it so a typo in a profile is noticed.
    if (variant !== undefined && this.variants.length > 0 && !this.variants.includes(variant))
      throw new AppError('UNKNOWN_VOICE', `espeak-ng has no voice variant "${variant}" (in "${name}"); variants include f1-f5, m1-m7, klatt.`, {
        details: { voice: name },
      })
    const voice = req.voice.name ? name : req.voice.gender === 'female' ? `${name}+f3` : name
    // What the worker loads: the voice file's identifier in place of the name, variant kept (errors keep the name).
    const load = voice.replace(/^[^+]+/, (b) => this.identifiers.get(b) ?? b)

    // The WASM build always parses SSML, so plain text is escaped (and offsets mapped back for word timings).
    let ssml: string
    let map: Int32Array | null = null
    if (req.ssml) {
      ssml = checkSsml(req.text, `espeak-ng voice ${voice}`)
    } else {
      const escaped = escapeXmlWithMap(req.text)
      ssml = escaped.escaped
      map = escaped.map
    }
    const wpm = Math.round(Math.min(450, Math.max(80, NORMAL_WPM * (req.voice.rate ?? 1))))
    // espeak pitch is 0..100 with 50 normal; roughly 2.5 units per semitone across its range.
    const pitch = Math.round(Math.min(100, Math.max(0, 50 + (req.voice.pitch ?? 0) * 2.5)))

    const reply = await this.pool.run({ type: 'synth', ssml, voice: load, wpm, pitch }, signal)
    if (!reply.ok) {
      if (reply.code === 'UNKNOWN_VOICE') throw new AppError('UNKNOWN_VOICE', reply.message, { details: { voice } })
      throw new AppError('ENGINE_FAILED', `espeak-ng failed: ${reply.message}`)
    }
    if (!('pcm' in reply)) throw new AppError('ENGINE_FAILED', 'espeak-ng returned no audio.')
    const pcm = Buffer.from(reply.pcm)
    const events = new Int32Array(reply.events)
    const words: WordTiming[] = []
    for (let i = 0; i + 3 < events.length; i += 4) {
      const [type, pos, len, ms] = [events[i]!, events[i + 1]!, events[i + 2]!, events[i + 3]!]
      if (type !== 1 || len <= 0) continue
      // espeak reports 1-based character positions in the text it was given.
      const start = pos - 1
      const end = start + len
      if (!map) {
        words.push({ offset: start, length: len, startMs: ms })
        continue
      }
      const o = map[Math.min(Math.max(start, 0), map.length - 1)]!
      const oe = map[Math.min(Math.max(end, 0), map.length - 1)]!
      words.push({ offset: o, length: Math.max(1, oe - o), startMs: ms })
    }
    return { pcm, sampleRate: reply.sampleRate, durationMs: pcmDurationMs(pcm.length, reply.sampleRate), words }
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}

export function createEspeakEngine(options: EspeakEngineOptions = {}): Promise<EspeakEngine> {
  return EspeakEngine.create(options)
}
