/**
 * Starts the first espeak-ng worker thread before the rest of a command has
 * loaded. A one-shot CLI render spends its first ~0.3 s loading modules and
 * reading config on the main thread; the worker's own start (loading the
 * engine, its 24 MB of voice data and the English dictionary, ~0.25 s) runs on
 * the other core meanwhile, instead of after it. The engine's pool adopts the
 * worker (takePrestartedWorker) as its first one.
 *
 * Kept tiny on purpose (no imports beyond node:worker_threads): it is loaded
 * and run before anything else of the command.
 */
import { Worker } from 'node:worker_threads'

/**
 * Idle-time warm-up of an espeak-ng worker: `true` whenever idle (a service: V8 compiles the engine's
 * hot code with its optimizing tier before the first requests), `false` never (one-shot commands: the
 * WebAssembly engine is fast from its first sentence, and warm-up sentences at start-up would only take
 * a core from the command while it loads). A warm-up sentence stops within one audio chunk when a job
 * is posted (JOB_WAITING), so it never delays a job.
 */
export type WarmUp = boolean

/** Indexes into the worker's shared Int32Array: the id of a job to cancel, and "a job was posted". */
export const CANCEL_ID = 0
export const JOB_WAITING = 1

export function newCancelArray(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8))
}

export interface PrestartedWorker {
  worker: Worker
  cancel: Int32Array
  warmUp: WarmUp
  /** Events that arrived before the pool took the worker, replayed in order on adoption. */
  backlog: { event: 'message' | 'error' | 'exit'; value: unknown }[]
  detach(): void
}

let early: PrestartedWorker | undefined

/**
 * Start an espeak-worker.mjs thread: plain JS with no loader (see there why), given the shared flags
 * and the warm-up mode. The one place the worker is created, for the pool and the early start alike.
 */
export function startEspeakWorker(cancel: Int32Array, warmUp: WarmUp): Worker {
  return new Worker(new URL('./espeak-worker.mjs', import.meta.url), { execArgv: [], workerData: { cancel: cancel.buffer as SharedArrayBuffer, warmUp } })
}

/**
 * Start one worker now (once per process), with the warm-up setting its engine will ask for.
 */
export function prestartEspeakWorker(options: { warmUp?: WarmUp } = {}): void {
  if (early) return
  const warmUp = options.warmUp ?? true
  const cancel = newCancelArray()
  const worker = startEspeakWorker(cancel, warmUp)
  const backlog: PrestartedWorker['backlog'] = []
  const listeners = (['message', 'error', 'exit'] as const).map((event) => {
    const fn = (value: unknown) => backlog.push({ event, value })
    worker.on(event, fn)
    return [event, fn] as const
  })
  // Never keeps the process alive on its own (a command may fail before it uses the engine). After
  // the listeners: adding a 'message' listener refs the worker's port again.
  worker.unref()
  early = { worker, cancel, warmUp, backlog, detach: () => listeners.forEach(([event, fn]) => worker.off(event, fn)) }
}

/** The prestarted worker, once: its buffered listeners are removed; the caller replays `backlog`. */
export function takePrestartedWorker(): PrestartedWorker | undefined {
  const e = early
  early = undefined
  e?.detach()
  return e
}
