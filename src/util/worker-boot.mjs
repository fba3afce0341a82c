// Worker bootstrap for TypeScript worker entries, used by startWorker (worker.ts).
// On Node 20 a worker thread does not get tsx's module hooks from `--import tsx` in
// execArgv (a .ts entry fails with ERR_UNKNOWN_FILE_EXTENSION, both under
// `node --import tsx` and under vitest), so this plain-JS entry registers tsx inside
// the worker itself and then imports the real entry. tsx and esbuild cost ~100 MB
// per thread: hot or long-lived workers are better written as plain .mjs.
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

const { entry, data } = workerData.__briefcastBoot
// Give the entry the workerData its caller passed, through both require and import.
createRequire(import.meta.url)('node:worker_threads').workerData = data
syncBuiltinESMExports()
register()
await import(entry)
