import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * Start a worker thread from a module URL. Source files are TypeScript run
 * through tsx; a worker only inherits the tsx loader when the parent was
 * started with `--import tsx`, which is not the case under vitest, so for .ts
 * entry points the loader is added explicitly.
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  const isTs = url.pathname.endsWith('.ts')
  const execArgv = [...(options.execArgv ?? process.execArgv)]
  if (isTs && !execArgv.some((a, i) => a.includes('tsx') && (execArgv[i - 1] === '--import' || a.startsWith('--import')))) {
    execArgv.push('--import', 'tsx')
  }
  return new Worker(url, { ...options, execArgv })
}
