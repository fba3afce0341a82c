/**
 * The service side of the render child process (render-process.ts): a
 * RenderFn for the RenderCoordinator that renders out of process, with the
 * same progress, pieces (in order), result and errors as renderEpisode.
 */
import { packageRoot } from '../util/package-root.ts'
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderEncodeThreads, type Config } from '../config.ts'
import { AppError, type ErrorCode } from '../errors.ts'
import type { Lexicon } from '../script/types.ts'
import type { TtsEngine } from '../tts/engine.ts'
import type { VoiceProfile } from '../tts/types.ts'
import { DEFAULT_ENGINE, ENGINES, type EngineEntry } from '../tts/registry.ts'
import type { EncodedPiece, EpisodeResult, RenderProgress } from './types.ts'
import type { RenderFn } from './render-coordinator.ts'
import { Channel, ipcEndpoint, stopChild } from '../util/channel.ts'
import { availableCores } from '../util/cores.ts'

type ErrorJson = { code: ErrorCode; message: string; status?: number; help?: string; details?: unknown }
type Reply =
  | { type: 'ready' }
  | { type: 'init-error'; error: ErrorJson }
  | { type: 'progress'; id: number; progress: RenderProgress }
  | { type: 'piece'; id: number; piece: EncodedPiece }
  | { type: 'done'; id: number; result: EpisodeResult; pid: number }
  | { type: 'error'; id: number; error: ErrorJson }
  | { type: 'usage'; engine: string; characters: number }

/** The project root (src/util/package-root.ts), the working directory of the render process. */
const ROOT = packageRoot()

/**
 * `chrt --idle 0`, when it works here: the render process then runs under
 * SCHED_IDLE from its first instruction, and every thread and ffmpeg child it
 * starts inherits it. A nice value only lowers the render's weight: a request
 * that wakes the service still waits for the running render thread's time
 * slice on each core, several times per request (bench/http.bench.ts: p99 of
 * 70-105 ms with renders, 30-60 ms without). A SCHED_IDLE thread is preempted
 * as soon as any normal thread wants its core, and still gets every idle cycle.
 * BRIEFCAST_RENDER_CPU=nice keeps the nice-only behaviour (a box saturated by
 * other work would otherwise never give renders a cycle).
 */
let idleLauncher: string | null | undefined
function schedIdleLauncher(): string | null {
  if (idleLauncher !== undefined) return idleLauncher
  idleLauncher = null
  if (process.platform !== 'linux' || process.env.BRIEFCAST_RENDER_CPU === 'nice') return idleLauncher
  for (const bin of ['/usr/bin/chrt', '/bin/chrt', '/usr/local/bin/chrt']) {
    if (!existsSync(bin)) continue
    // Containers may forbid sched_setscheduler: try it once (cheap: the service is still small here).
    if (spawnSync(bin, ['--idle', '0', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0) idleLauncher = bin
    break
  }
  return idleLauncher
}

/**
 * Synthesis threads for the render process: one core fewer than the machine
 * has (the service and its readers keep a core), and encoder threads: half the
 * cores (renderEncodeThreads), each unless set explicitly.
 */
function renderConfig(config: Config): Config {
  const builtIn = Math.max(1, Math.min(availableCores(), 8))
  const espeakWorkers = process.env.BRIEFCAST_ESPEAK_WORKERS || config.tts.espeakWorkers !== builtIn ? config.tts.espeakWorkers : Math.max(1, availableCores() - 1)
  const encodeConcurrency = renderEncodeThreads(config)
  if (espeakWorkers === config.tts.espeakWorkers && encodeConcurrency === config.audio.encodeConcurrency) return config
  return { ...config, tts: { ...config.tts, espeakWorkers }, audio: { ...config.audio, encodeConcurrency } }
}
const toError = (e: ErrorJson) => new AppError(e.code, e.message, { status: e.status, help: e.help, details: e.details })

export class RenderProcess {
  readonly #config: Config
  #child: ChildProcess | undefined
  #channel: Channel<object, Reply> | undefined
  #ready: Promise<void> | undefined
  /** Renders asked for and not yet finished. */
  #renders = 0
  #closed = false
  #state: 'idle' | 'starting' | 'ready' | 'failed' = 'idle'
  #lastError = ''
  #lastPid: number | undefined
  readonly #settled = { done: 0, failed: 0 }

  readonly #onUsage: ((usage: { engine: string; characters: number }) => void) | undefined

  /** onUsage: characters the render process's cloud engines were billed for (recorded by the service: one writer). */
  constructor(config: Config, options: { onUsage?: (usage: { engine: string; characters: number }) => void } = {}) {
    this.#config = config
    this.#onUsage = options.onUsage
  }

  /**
   * Where the lexicon a render speaks with comes from (the service's database);
   * sent with each render, so an edit applies from the next render on.
   */
  lexiconSource: ((profile: VoiceProfile) => { name: string; lexicon: Lexicon } | undefined) | undefined

  #ensure(): { channel: Channel<object, Reply>; ready: Promise<void> } {
    if (this.#child?.connected && this.#channel && this.#ready) return { channel: this.#channel, ready: this.#ready }
    // render-process.js beside this file in the compiled build (bin/build.js), .ts when run through tsx.
    const entry = fileURLToPath(new URL('./render-process.ts', import.meta.url))
    // tsx only for the TypeScript sources (`--import tsx` resolves from the project root).
    const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : []
    const launcher = schedIdleLauncher()
    // Two glibc malloc arenas, as bin/briefcast.js gives one-shot renders (read when the process starts):
    // the encoder, loudness and espeak-ng threads' buffers otherwise stay resident in arenas of their own.
    const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' }
    // The IPC channel survives the exec of node by chrt (NODE_CHANNEL_FD is inherited).
    const child = launcher
      ? spawn(launcher, ['--idle', '0', process.execPath, ...loader, entry], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : fork(entry, [], { cwd: ROOT, env, execArgv: loader, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child = child
    let readyResolve!: () => void
    let readyReject!: (e: unknown) => void
    const ready = new Promise<void>((res, rej) => {
      readyResolve = res
      readyReject = rej
    })
    ready.catch(() => {})
    this.#ready = ready
    this.#state = 'starting'
    const channel = new Channel<object, Reply>(ipcEndpoint(child), {
      idOf: (m) => ('id' in m ? m.id : undefined),
      isFinal: (m) => m.type === 'done' || m.type === 'error',
      onMessage: (msg) => {
        if (msg.type === 'ready') {
          this.#state = 'ready'
          return readyResolve()
        }
        if (msg.type === 'init-error') {
          this.#state = 'failed'
          this.#lastError = msg.error.message
          return readyReject(toError(msg.error))
        }
        if (msg.type === 'usage') this.#onUsage?.({ engine: msg.engine, characters: msg.characters })
      },
      onReply: (msg) => {
        if (msg.type === 'done') {
          this.#settled.done++
          this.#lastPid = msg.pid
        } else this.#settled.failed++
      },
      cancel: (id) => ({ type: 'abort', id }),
      // The render ends with the child's answer (its ABORTED error, or a result that was already on its way).
      abort: 'answer',
      closedError: (cause) => {
        const why = cause.description
        if (this.#child === child) {
          this.#child = undefined
          this.#ready = undefined
          if (!this.#closed) {
            this.#state = 'failed'
            this.#lastError = `stopped (${why}); restarted on the next render`
          }
        }
        readyReject(new AppError('ENGINE_UNAVAILABLE', `The render process stopped (${why}).`))
        // A 5xx: the job queue retries it with backoff.
        return new AppError('ENGINE_UNAVAILABLE', `The render process stopped (${why}); the render will be retried.`)
      },
    })
    this.#channel = channel
    channel.post({ type: 'init', config: renderConfig(this.#config) })
    return { channel, ready }
  }

  /** The running render process's pid (undefined before the first start and after a crash, until the next render). */
  get pid(): number | undefined {
    return this.#child?.connected ? this.#child.pid : undefined
  }

  /** The pid of the process that finished the last render (from the child itself: chrt execs node in place). */
  get lastRenderPid(): number | undefined {
    return this.#lastPid
  }

  /** Renders the child finished ('done') or ended with an error (including aborts), since the service started. */
  get settled(): { done: number; failed: number } {
    return { ...this.#settled }
  }

  /** Renders sent and not yet finished. */
  get pending(): number {
    return this.#renders
  }

  /** For /readyz. */
  health(): { ok: boolean; detail: string } {
    if (this.#state === 'failed') return { ok: false, detail: this.#lastError }
    // Starting (engines warming up) still counts as ready: published audio is served meanwhile, renders wait for it.
    return { ok: true, detail: this.#state }
  }

  /** Start the process and its engines now (in the background), so the first render does not pay for it. */
  start(): void {
    if (!this.#closed) this.#ensure()
  }

  /**
   * Start the process if needed; resolves once its engines are up (rejects with the start-up error).
   * A worker takes jobs only then: a job claimed during the start-up would wait for it while a ready worker idles.
   */
  async whenReady(): Promise<void> {
    if (this.#closed) throw new AppError('ABORTED', 'The render process is closed.')
    await this.#ensure().ready
  }

  readonly render: RenderFn = async (script, profile, _tools, options) => {
    if (this.#closed) throw new AppError('ABORTED', 'The service is shutting down.')
    options.signal?.throwIfAborted()
    const { channel, ready } = this.#ensure()
    const { format, metadata } = options
    this.#renders++
    try {
      const lexicon = this.lexiconSource?.(profile)
      const reply = await channel.request(
        // Sent once the process is ready (pending meanwhile: the process is kept alive for it).
        // The whole profile, not just its id: callers may adjust it (a briefing's intro and outro jingles).
        // Pieces cross the IPC channel only for callers that stream them (articles; briefings do not).
        async (id) => {
          await ready
          return { type: 'render', id, script, profileId: profile.id, profile, lexicon, pieces: Boolean(options.onPiece), options: { format, metadata } }
        },
        {
          signal: options.signal,
          onEvent: (msg) => {
            if (msg.type === 'progress') options.onProgress?.(msg.progress)
            else if (msg.type === 'piece') options.onPiece?.(msg.piece)
          },
        },
      )
      if (reply.type === 'done') return reply.result
      throw toError((reply as { error: ErrorJson }).error)
    } finally {
      this.#renders--
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const c = this.#child
    this.#child = undefined
    // It stops by itself on disconnect.
    if (c?.connected) await stopChild(c, (child) => child.disconnect())
  }
}

/**
 * Speech engines for the service process, now that every render runs in the
 * render process. The service never synthesizes, but it still needs espeak-ng's
 * voice list: start-up checks every espeak-ng profile's voice names and
 * variants against it, and `auto-<lang>` profiles (a language with no profile
 * of its own) are derived from what espeak-ng speaks. So espeak-ng is started
 * once at start-up with one worker, asked for its voices, and closed: the
 * service keeps the list (speaks, variants, listVoices) without an idle worker
 * thread (~60-80 MB, and idle warm-up at the service's normal priority).
 * Should anything in the service synthesize after all, a real engine starts
 * on that first call.
 */
export function serviceEngines(): Record<string, EngineEntry> {
  const real: EngineEntry = ENGINES[DEFAULT_ENGINE]
  return {
    [DEFAULT_ENGINE]: {
      limits: real.limits,
      ...(real.languages ? { languages: real.languages } : {}),
      async create(ctx) {
        const { createEspeakEngine } = await import('../tts/espeak.ts')
        const probe = await createEspeakEngine({ workers: 1, warmUp: false })
        const voices = await probe.listVoices().finally(() => probe.close())
        let live: Promise<TtsEngine> | undefined
        const catalogue: TtsEngine & Pick<typeof probe, 'speaks' | 'voiceForLanguage' | 'variants'> = {
          id: probe.id,
          version: probe.version,
          capabilities: probe.capabilities,
          variants: probe.variants,
          // Pure lookups in the voice list the engine read at start (no worker involved).
          speaks: (language) => probe.speaks(language),
          voiceForLanguage: (language) => probe.voiceForLanguage(language),
          listVoices: async (signal) => {
            signal?.throwIfAborted()
            return voices.map((v) => ({ ...v, languages: [...v.languages] }))
          },
          synthesize: async (req, signal) => {
            const started = (live ??= real.create({ ...ctx, warmUp: false }))
            // A failed start is not remembered: the next call tries again.
            started.catch(() => live === started && (live = undefined))
            return (await started).synthesize(req, signal)
          },
          close: async () => {
            const l = live
            live = undefined
            if (l) await (await l).close()
          },
        }
        return catalogue
      },
    },
  }
}
