/**
 * Worker thread running articleToScript: HTML extraction (linkedom +
 * Readability) of a multi-megabyte page takes long enough to stall every
 * other request if it ran on the main thread.
 */
import os from 'node:os'
import { parentPort } from 'node:worker_threads'
import { toAppError } from '../errors.ts'
import { articleToScript } from '../script/index.ts'
import type { ArticleInput, SegmentOptions } from '../script/types.ts'

// Converting is batch work: on Linux, setpriority on pid 0 from a thread lowers only this thread, so the
// main thread (serving audio) wins the CPU when both want it. Best effort elsewhere.
try {
  os.setPriority(10)
} catch {}

interface Request {
  id: number
  input: ArticleInput
  options?: SegmentOptions
}

parentPort!.on('message', (msg: Request) => {
  try {
    const script = articleToScript(msg.input, msg.options)
    parentPort!.postMessage({ id: msg.id, script })
  } catch (err) {
    const e = toAppError(err)
    parentPort!.postMessage({ id: msg.id, error: { code: e.code, message: e.message, status: e.status, details: e.details, help: e.help } })
  }
})
