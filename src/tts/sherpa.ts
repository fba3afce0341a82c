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
import { sentenceSpans } from '../audio/transcript.ts'
import { AppError, throwIfAborted } from '../errors.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice, WordTiming } from './engine.ts'
import { SHERPA_LIMITS } from './sherpa-limits.ts'
import { MARKER, installCommandFor, listInstalledModels, sherpaConfigFor, type InstalledModel } from './models.ts'
import { pcmDurationMs } from './wav.ts'
import { WorkerPool } from './worker-pool.ts'
import { ENGINES } from './registry.ts'
import { primaryLanguage } from '../script/language.ts'

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
  private readonly pool: WorkerPool<SherpaJob, SherpaReply>

  private constructor(
    private readonly options: SherpaEngineOptions,
    private readonly models: Map<string, InstalledModel>,
  ) {
    // No idle-time warm-up: a model is warm once loaded, which its first job does.
    this.pool = new WorkerPool({ name: 'sherpa-onnx', max: Math.max(1, options.workers ?? 1), warmUp: false, startWorker: options.startWorker ?? startSherpaWorker })
    // A worker that cannot start fails the first job instead.
    this.pool.ready().catch(() => {})
    const all = [...models.values()]
    // A model's files can be replaced by a new install of the same name: their checksum is part of the clip cache key.
    this.version = `sherpa-onnx-node@${packageVersion()};${all.map((m) => `${m.name}:${m.fingerprint}`).sort().join(',')}`
    this.capabilities = {
      // Stated once, in the registry (src/tts/registry.ts, from sherpa-limits.ts).
      ...ENGINES['sherpa-onnx'].limits,
      languages: [...new Set(all.flatMap((m) => m.languages.flatMap((l) => [l, primaryLanguage(l)])))].sort(),
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
    const sentences = sentenceSpans(req.text)
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
