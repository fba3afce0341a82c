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
import { CANCEL_ID, JOB_WAITING, newCancelArray, startEspeakWorker, takePrestartedWorker, type WarmUp } from './espeak-prestart.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice, VoiceSettings, WordTiming } from './engine.ts'
import { checkSsml, escapeXmlWithMap } from './ssml.ts'
import { pcmDurationMs } from './wav.ts'

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

type Pending = {
  id: number
  message: EspeakJob | EspeakVoicesJob
  resolve: (reply: EspeakReply) => void
  reject: (err: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

interface Slot {
  worker: Worker
  cancel: Int32Array
  ready: boolean
  job: Pending | null
}

/**
 * Pool of worker threads, each with a warm espeak-ng instance; jobs queue FIFO.
 * Elastic: one worker starts with the pool, more start only while jobs wait and
 * fewer workers are starting than jobs are waiting, up to `max`. A re-render with
 * one changed segment therefore runs on one worker (each costs ~25 MB with the
 * voice data read as files, ~50 MB from the sources with it in memory, and
 * ~0.1 s to start).
 */
class EspeakPool {
  private readonly slots: Slot[] = []
  private readonly queue: Pending[] = []
  private nextId = 1
  private closed = false
  /** Jobs a worker abandoned mid-text after an abort, and how much audio the last one had made. */
  readonly cancelled = { jobs: 0, lastSamples: 0 }
  private readonly firstReady: Promise<void>
  private resolveFirstReady!: () => void
  private rejectFirstReady!: (err: unknown) => void
  /** Set when no worker could start: new workers are not tried again for every job. */
  private failedStart = false

  constructor(
    private readonly max: number,
    private readonly warmUp: WarmUp = true,
    private readonly startWorker: (cancel: Int32Array, warmUp: WarmUp) => Worker = startEspeakWorker,
  ) {
    this.firstReady = new Promise((resolve, reject) => {
      this.resolveFirstReady = resolve
      this.rejectFirstReady = reject
    })
    this.slots.push(this.spawn())
  }

  ready(): Promise<void> {
    return this.firstReady
  }

  /** Start another worker when jobs wait that the idle and starting workers cannot take. */
  private grow(): void {
    if (this.closed || this.failedStart || this.slots.length >= this.max) return
    const free = this.slots.filter((s) => !s.job).length
    if (this.queue.length > free) this.slots.push(this.spawn())
  }

  private spawn(): Slot {
    // The first worker may have been started before the engine (espeak-prestart.ts), with the same warm-up setting.
    const early = this.slots.length === 0 && this.startWorker === startEspeakWorker ? takePrestartedWorker() : undefined
    if (early && early.warmUp !== this.warmUp) void early.worker.terminate()
    const adopted = early && early.warmUp === this.warmUp ? early : undefined
    const cancel = adopted?.cancel ?? newCancelArray()
    const worker = adopted?.worker ?? this.startWorker(cancel, this.warmUp)
    const slot: Slot = { worker, cancel, ready: false, job: null }
    worker.on('message', (msg: EspeakReply | { ready: true }) => {
      if ('ready' in msg) {
        slot.ready = true
        this.resolveFirstReady()
        this.idle(slot)
        this.pump()
        return
      }
      const job = slot.job
      slot.job = null
      if (!msg.ok && msg.cancelled) {
        this.cancelled.jobs++
        this.cancelled.lastSamples = msg.samples ?? 0
      }
      if (job && job.id === msg.id) {
        job.signal?.removeEventListener('abort', job.onAbort!)
        job.resolve(msg)
      }
      this.idle(slot)
      this.pump()
    })
    worker.on('error', (err) => {
      // The worker dies after 'error'; fail its job and replace it (see 'exit').
      const job = slot.job
      slot.job = null
      if (job) job.reject(new AppError('ENGINE_FAILED', `espeak-ng worker failed: ${err.message}`, { cause: err }))
      if (!slot.ready) {
        this.failedStart = true
        this.rejectFirstReady(new AppError('ENGINE_FAILED', `espeak-ng could not start: ${err.message}`, { cause: err }))
      }
    })
    worker.on('exit', () => {
      const job = slot.job
      slot.job = null
      if (job)
        job.reject(
          this.closed
            ? new AppError('ENGINE_UNAVAILABLE', 'The espeak-ng engine was closed during synthesis.')
            : new AppError('ENGINE_FAILED', 'espeak-ng worker exited during synthesis.'),
        )
      const index = this.slots.indexOf(slot)
      if (index < 0) return
      // Replace a worker that died after it had worked (if there is still work for it);
      // one that never started would only die again.
      this.slots.splice(index, 1)
      if (!slot.ready && this.slots.every((s) => !s.ready)) {
        this.failedStart = true
        this.rejectFirstReady(new AppError('ENGINE_FAILED', 'espeak-ng worker exited before it was ready.'))
        // Nothing can run these jobs now.
        for (const job of this.queue.splice(0)) job.reject(new AppError('ENGINE_FAILED', 'espeak-ng could not start.'))
        return
      }
      if (!this.closed && slot.ready && this.slots.length === 0) this.slots.push(this.spawn())
      this.grow()
      this.pump()
    })
    // Replay what the prestarted worker said before it was adopted ('ready', or an early failure).
    for (const { event, value } of adopted?.backlog ?? []) worker.emit(event, value)
    return slot
  }

  /** Idle workers must not keep the process alive (a CLI exits when its work is done). */
  private idle(slot: Slot): void {
    if (!slot.job) slot.worker.unref()
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return
      if (!slot.ready || slot.job) continue
      const job = this.queue.shift()!
      slot.job = job
      slot.worker.ref()
      // A warm-up sentence in progress stops at its next audio chunk (the worker clears the flag).
      Atomics.store(slot.cancel, JOB_WAITING, 1)
      slot.worker.postMessage(job.message)
    }
  }

  run(message: Omit<EspeakJob, 'id'> | Omit<EspeakVoicesJob, 'id'>, signal?: AbortSignal): Promise<EspeakReply> {
    if (this.closed) return Promise.reject(new AppError('ENGINE_UNAVAILABLE', 'The espeak-ng engine is closed.'))
    // No worker could start (and none is tried again): nothing would ever take the job.
    if (this.failedStart && this.slots.length === 0) return Promise.reject(new AppError('ENGINE_FAILED', 'espeak-ng could not start.'))
    throwIfAborted(signal)
    const id = this.nextId++
    return new Promise<EspeakReply>((resolve, reject) => {
      const job: Pending = { id, message: { ...message, id } as EspeakJob | EspeakVoicesJob, resolve, reject, signal }
      if (signal) {
        job.onAbort = () => {
          const queued = this.queue.indexOf(job)
          if (queued >= 0) this.queue.splice(queued, 1)
          const slot = this.slots.find((s) => s.job === job)
          // Running: tell the worker to stop at its next audio chunk. The slot stays busy
          // until the worker acknowledges, so nothing else is posted to it meanwhile.
          if (slot) {
            Atomics.store(slot.cancel, CANCEL_ID, id)
            job.resolve = () => {}
            job.reject = () => {}
          }
          reject(new AppError('ABORTED', 'Speech synthesis was cancelled.', { cause: signal.reason }))
        }
        signal.addEventListener('abort', job.onAbort, { once: true })
      }
      this.queue.push(job)
      this.pump()
      this.grow()
    })
  }

  /** Jobs waiting or running, and workers started; for tests and stats. */
  get load(): { queued: number; running: number; workers: number; maxWorkers: number } {
    return { queued: this.queue.length, running: this.slots.filter((s) => s.job).length, workers: this.slots.length, maxWorkers: this.max }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const job of this.queue.splice(0)) job.reject(new AppError('ENGINE_UNAVAILABLE', 'The espeak-ng engine was closed.'))
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
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
      ssml: true,
      // A whole article fits in one call; segments are kept far smaller for parallelism and caching.
      maxInputBytes: 100_000,
      targetChars: 400,
      languages: [...new Set(voices.flatMap((v) => v.languages))].sort(),
      sampleRate: SAMPLE_RATE,
    }
  }

  static async create(options: EspeakEngineOptions = {}): Promise<EspeakEngine> {
    const pool = new EspeakPool(Math.max(1, options.workers ?? 1), options.warmUp ?? true, options.startWorker)
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
    return this.knownNames.has(tag) || this.knownNames.has(tag.split('-')[0]!)
  }

  /** The voice name espeak-ng uses for a language tag: exact match first, else the primary subtag. */
  voiceForLanguage(language: string): string | undefined {
    const tag = language.toLowerCase()
    if (this.knownNames.has(tag)) return tag
    const primary = tag.split('-')[0]!
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
