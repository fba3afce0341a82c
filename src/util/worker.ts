import { Worker, type WorkerOptions } from 'node:worker_threads'

const BOOT = new URL('./worker-boot.mjs', import.meta.url)

/**
 * Start a worker thread from a module URL. A .ts entry runs through
 * worker-boot.mjs, which registers tsx inside the thread and then imports the
 * entry (on Node 20 a worker gets no module hooks from `--import tsx` in
 * execArgv: ERR_UNKNOWN_FILE_EXTENSION under `node --import tsx` and vitest
 * alike); the entry sees the workerData given here, unchanged. A .js/.mjs
 * entry starts as is, with no loader in the thread (tsx costs ~100 MB there).
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options)
  return new Worker(BOOT, { ...options, workerData: { __briefcastBoot: { entry: url.href, data: options.workerData } } })
}

/**
 * Terminate a worker thread and resolve once it has exited, holding the process open until then: an answer or
 * a 'ready' the thread sent just before could otherwise settle the channel's last request (or meet
 * keepAlive(false)) and unref the worker that terminate() had ref'd, and a one-shot command awaiting this would
 * end with exit code 13 (unsettled top-level await). See Channel.stopping.
 */
export function stopWorker(worker: Worker, channel: { stopping(): void } | undefined): Promise<number> {
  channel?.stopping()
  return worker.terminate()
}
