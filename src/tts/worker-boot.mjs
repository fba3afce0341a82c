// Worker bootstrap for TypeScript worker entries. On Node 20 a worker thread
// does not get tsx's module hooks from `--import tsx` in execArgv (the .ts
// entry fails with ERR_UNKNOWN_FILE_EXTENSION, both under `node --import tsx`
// and under vitest), so this plain-JS entry registers tsx inside the worker
// itself and then imports the real entry named in workerData.entry.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
