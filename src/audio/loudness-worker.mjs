// Worker thread: measures WAV clips and plans their gain (BS.1770) off the main thread.
// Plain JS with no TypeScript loader, so the worker costs ~10 MB of memory.
import { readFile } from 'node:fs/promises'
import { parentPort } from 'node:worker_threads'
import { measureWavBuffer } from './loudness-dsp.mjs'

parentPort.on('message', async (msg) => {
  try {
    let buf
    try {
      buf = await readFile(msg.file)
    } catch (err) {
      throw Object.assign(new Error(`Cannot read clip ${msg.file}: ${err.message}`), { code: 'INVALID_AUDIO' })
    }
    parentPort.postMessage({ id: msg.id, result: measureWavBuffer(buf, msg.file, msg.plan) })
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: { code: err && err.code, message: (err && err.message) || String(err) } })
  }
})
