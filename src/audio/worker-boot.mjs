// Worker bootstrap for TypeScript worker entries: on Node 20 a worker thread
// does not get tsx's hooks from `--import tsx` in execArgv (ERR_UNKNOWN_FILE_EXTENSION
// under both `node --import tsx` and vitest), so register tsx here, then load
// the real entry named in workerData.entry. (Same approach as src/tts/worker-boot.mjs.)
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
