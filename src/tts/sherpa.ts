/**
 * The local neural engine: sherpa-onnx (k2-fsa/sherpa-onnx, ONNX Runtime on the CPU) running the
 * Piper/VITS and Kokoro models the user installed with `briefcast voices install` (models.ts).
 * A pool of worker threads (sherpa-worker.mjs) each keeps the models it used loaded, so nothing
 * blocks the event loop and a model loads once per worker.
 *
 * A voice is `{ name: <installed model>, speaker: <speaker id> }`; the engine speaks a request
 * sentence by sentence (the transcript's own splitter) and reports where each sentence starts.
 */
import { promises as fs } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Worker } from 'node:worker_threads'
import { Worker as WorkerThread } from 'node:worker_threads'
import { splitSentences } from '../audio/transcript.ts'
import { AppError, throwIfAborted } from '../errors.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice, WordTiming } from './engine.ts'
import { SHERPA_LIMITS } from './sherpa-limits.ts'
import { MARKER, installCommandFor, listInstalledModels, sherpaConfigFor, type InstalledModel } from './models.ts'
import { pcmDurationMs } from './wav.ts'

export interface SherpaEngineOptions {
  /** Where installed models live (BRIEFCAST_MODELS_DIR). */
  modelsDir: string
  /** Most worker threads; default 1. More start only while jobs wait. */
  workers?: number
  /** ONNX Runtime threads per model (default 1: parallelism comes from the workers). */
  threadsPerModel?: number
  /** Starts a worker thread (tests); default the sherpa-worker.mjs thread. */
  startWorker?: (cancel: Int32Array) => Worker
}

/** Messages to and from sherpa-worker.mjs. */
export interface ModelSpec {
  key: string
  config: object
}
export type SherpaJob =
  | { type: 'synth'; id: number; model: ModelSpec; sentences: string[]; sid: number; speed: number }
  | { type: 'describe'; id: number; model: ModelSpec }
export type SherpaReply =
  /** sentences: [start sample, sample count] per sentence, as an Int32Array buffer. */
  | { id: number; ok: true; pcm: ArrayBuffer; sampleRate: number; sentences: ArrayBuffer }
  | { id: number; ok: true; sampleRate: number; numSpeakers: number }
  | { id: number; ok: false; cancelled?: boolean; samples?: number; code: 'UNKNOWN_VOICE' | 'ENGINE_FAILED'; message: string }

const CANCEL_ID = 0

async function stillInstalled(model: InstalledModel): Promise<boolean> {
  try {
    await fs.access(path.join(model.dir, MARKER))
    return true
  } catch {
    return false
  }
}

export function startSherpaWorker(cancel: Int32Array): Worker {
  return new WorkerThread(new URL('./sherpa-worker.mjs', import.meta.url), { execArgv: [], workerData: { cancel: cancel.buffer as SharedArrayBuffer } })
}

type Pending = { id: number; message: SherpaJob; resolve: (r: SherpaReply) => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }
interface Slot {
  worker: Worker
  cancel: Int32Array
  ready: boolean
  job: Pending | null
}

/** Elastic pool of sherpa-onnx worker threads; jobs queue FIFO (one job per worker at a time). */
class SherpaPool {
  private readonly slots: Slot[] = []
  private readonly queue: Pending[] = []
  private nextId = 1
  private closed = false
  readonly cancelled = { jobs: 0, lastSamples: 0 }

  constructor(
    private readonly max: number,
    private readonly start: (cancel: Int32Array) => Worker,
  ) {}

  private spawn(): Slot {
    const cancel = new Int32Array(new SharedArrayBuffer(4))
    const worker = this.start(cancel)
    const slot: Slot = { worker, cancel, ready: false, job: null }
    worker.on('message', (msg: SherpaReply | { ready: true }) => {
      if ('ready' in msg) {
        slot.ready = true
      } else {
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
      }
      if (!slot.job) worker.unref()
      this.pump()
    })
    worker.on('error', (err) => {
      const job = slot.job
      slot.job = null
      job?.reject(new AppError('ENGINE_FAILED', `sherpa-onnx worker failed: ${err.message}`, { cause: err }))
    })
    worker.on('exit', () => {
      const job = slot.job
      slot.job = null
      job?.reject(new AppError(this.closed ? 'ENGINE_UNAVAILABLE' : 'ENGINE_FAILED', this.closed ? 'The sherpa-onnx engine was closed.' : 'A sherpa-onnx worker exited during synthesis.'))
      const i = this.slots.indexOf(slot)
      if (i >= 0) this.slots.splice(i, 1)
      // A worker that never became ready would only fail again: fail what waits instead of looping.
      if (!slot.ready && !this.closed) for (const waiting of this.queue.splice(0)) waiting.reject(new AppError('ENGINE_FAILED', 'sherpa-onnx could not start.'))
      else this.grow()
    })
    return slot
  }

  private grow(): void {
    if (this.closed || this.slots.length >= this.max) return
    const free = this.slots.filter((s) => !s.job).length
    if (this.queue.length > free) this.slots.push(this.spawn())
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return
      if (!slot.ready || slot.job) continue
      const job = this.queue.shift()!
      slot.job = job
      slot.worker.ref()
      slot.worker.postMessage(job.message)
    }
  }

  run(message: Omit<Extract<SherpaJob, { type: 'synth' }>, 'id'> | Omit<Extract<SherpaJob, { type: 'describe' }>, 'id'>, signal?: AbortSignal): Promise<SherpaReply> {
    if (this.closed) return Promise.reject(new AppError('ENGINE_UNAVAILABLE', 'The sherpa-onnx engine is closed.'))
    throwIfAborted(signal)
    const id = this.nextId++
    return new Promise<SherpaReply>((resolve, reject) => {
      const job: Pending = { id, message: { ...message, id } as SherpaJob, resolve, reject, signal }
      if (signal) {
        job.onAbort = () => {
          const queued = this.queue.indexOf(job)
          if (queued >= 0) this.queue.splice(queued, 1)
          const slot = this.slots.find((s) => s.job === job)
          if (slot) {
            // Running: the worker stops at its next chunk or sentence and replies; the slot stays busy until then.
            Atomics.store(slot.cancel, CANCEL_ID, id)
            job.resolve = () => {}
            job.reject = () => {}
          }
          reject(new AppError('ABORTED', 'Speech synthesis was cancelled.', { cause: signal.reason }))
        }
        signal.addEventListener('abort', job.onAbort, { once: true })
      }
      this.queue.push(job)
      this.grow()
      this.pump()
    })
  }

  get load(): { queued: number; running: number; workers: number; maxWorkers: number } {
    return { queued: this.queue.length, running: this.slots.filter((s) => s.job).length, workers: this.slots.length, maxWorkers: this.max }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const job of this.queue.splice(0)) job.reject(new AppError('ENGINE_UNAVAILABLE', 'The sherpa-onnx engine was closed.'))
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }
}

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('sherpa-onnx-node/package.json') as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export class SherpaEngine implements TtsEngine {
  readonly id = 'sherpa-onnx'
  readonly version: string
  readonly capabilities: EngineCapabilities
  private readonly pool: SherpaPool

  private constructor(
    private readonly options: SherpaEngineOptions,
    private readonly models: Map<string, InstalledModel>,
  ) {
    this.pool = new SherpaPool(Math.max(1, options.workers ?? 1), options.startWorker ?? startSherpaWorker)
    const all = [...models.values()]
    // A model's files can be replaced by a new install of the same name: their checksum is part of the clip cache key.
    this.version = `sherpa-onnx-node@${packageVersion()};${all.map((m) => `${m.name}:${m.fingerprint}`).sort().join(',')}`
    this.capabilities = {
      ssml: SHERPA_LIMITS.ssml,
      maxInputBytes: SHERPA_LIMITS.maxInputBytes,
      targetChars: SHERPA_LIMITS.targetChars,
      languages: [...new Set(all.flatMap((m) => m.languages.flatMap((l) => [l, l.split('-')[0]!])))].sort(),
      // Each clip carries its model's own rate; this is the first model's (most installs have one).
      sampleRate: all[0]?.sampleRate ?? 22050,
    }
  }

  static async create(options: SherpaEngineOptions): Promise<SherpaEngine> {
    const models = new Map((await listInstalledModels(options.modelsDir)).map((m) => [m.name, m]))
    return new SherpaEngine(options, models)
  }

  get load(): { queued: number; running: number; workers: number; maxWorkers: number } {
    return this.pool.load
  }

  get cancelled(): { jobs: number; lastSamples: number } {
    return { ...this.pool.cancelled }
  }

  async listVoices(signal?: AbortSignal): Promise<Voice[]> {
    throwIfAborted(signal)
    return [...this.models.values()].flatMap((m) =>
      Array.from({ length: m.numSpeakers }, (_, sid) => ({
        engine: this.id,
        name: m.numSpeakers > 1 ? `${m.name}#${sid}` : m.name,
        languages: [...m.languages],
        sampleRate: m.sampleRate,
      })),
    )
  }

  /** The installed model a voice names ("model" or "model#speaker"), and the speaker id. */
  resolveVoice(voice: { name?: string; speaker?: number }): { model: InstalledModel; sid: number } {
    if (!voice.name) throw new AppError('UNKNOWN_VOICE', 'A sherpa-onnx voice needs "name": the installed model (see `briefcast voices`).', { details: { voice } })
    const [name, hashSid] = voice.name.split('#') as [string, string | undefined]
    const model = this.models.get(name)
    if (!model)
      throw new AppError('MODEL_NOT_INSTALLED', `The sherpa-onnx model "${name}" is not installed in ${this.options.modelsDir}; install it with \`${installCommandFor(name)}\` and restart.`, {
        details: { model: name, modelsDir: this.options.modelsDir },
        help: `Install it: ${installCommandFor(name)} (and restart the service).`,
      })
    const sid = voice.speaker ?? (hashSid !== undefined ? Number(hashSid) : 0)
    if (!Number.isInteger(sid) || sid < 0 || sid >= model.numSpeakers)
      throw new AppError('UNKNOWN_VOICE', `The model "${name}" has ${model.numSpeakers} speaker(s) (ids 0-${model.numSpeakers - 1}); there is no speaker ${voice.speaker ?? hashSid}.`, {
        details: { voice: voice.name, speaker: voice.speaker ?? hashSid },
      })
    return { model, sid }
  }

  async synthesize(req: SynthesisRequest, signal?: AbortSignal): Promise<Clip> {
    throwIfAborted(signal)
    const bytes = Buffer.byteLength(req.text, 'utf8')
    if (bytes > this.capabilities.maxInputBytes)
      throw new AppError('TEXT_TOO_LONG', `The text is ${bytes} bytes; sherpa-onnx takes at most ${this.capabilities.maxInputBytes} per request.`)
    if (req.ssml) throw new AppError('SSML_REJECTED', 'The sherpa-onnx engine reads plain text, not SSML.', { help: 'Send plain text; pauses come from the voice profile.' })
    const { model, sid } = this.resolveVoice(req.voice)
    // Removed since the engine started: say so, with the fix, rather than let the runtime fail on missing files.
    if (!(await stillInstalled(model)))
      throw new AppError('MODEL_NOT_INSTALLED', `The sherpa-onnx model "${model.name}" is no longer in ${model.dir}; install it again with \`${installCommandFor(model.source)}\`.`, {
        details: { model: model.name },
        help: `Install it again: ${installCommandFor(model.source)}`,
      })
    const sentences = splitSentences(req.text)
    const speed = Math.min(SHERPA_LIMITS.maxRate, Math.max(SHERPA_LIMITS.minRate, req.voice.rate ?? 1))
    const reply = await this.pool.run({ type: 'synth', model: { key: model.name, config: sherpaConfigFor(model, this.options.threadsPerModel ?? 1) }, sentences, sid, speed }, signal)
    if (!reply.ok) {
      if (reply.code === 'UNKNOWN_VOICE') throw new AppError('UNKNOWN_VOICE', reply.message, { details: { voice: req.voice.name } })
      throw new AppError('ENGINE_FAILED', `sherpa-onnx failed: ${reply.message}`)
    }
    if (!('pcm' in reply)) throw new AppError('ENGINE_FAILED', 'sherpa-onnx returned no audio.')
    const pcm = Buffer.from(reply.pcm)
    const starts = new Int32Array(reply.sentences)
    const timings: WordTiming[] = []
    let offset = 0
    sentences.forEach((s, i) => {
      if (s.trim() && starts[i * 2 + 1]! > 0) timings.push({ offset, length: s.length, startMs: Math.round((starts[i * 2]! / reply.sampleRate) * 1000) })
      offset += s.length
    })
    return { pcm, sampleRate: reply.sampleRate, durationMs: pcmDurationMs(pcm.length, reply.sampleRate), sentences: timings }
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}

export function createSherpaEngine(options: SherpaEngineOptions): Promise<SherpaEngine> {
  return SherpaEngine.create(options)
}
