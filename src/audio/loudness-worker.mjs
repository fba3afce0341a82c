// Worker thread: measures WAV clips and plans their gain (BS.1770) off the main thread; with
// plan.output, also writes the clip with that gain and limiter applied (what the encoder gets).
// Plain JS with no TypeScript loader, so the worker costs ~10 MB of memory.
import { readFile, writeFile } from 'node:fs/promises'
import { parentPort } from 'node:worker_threads'
import { measureRawBuffer, measureWavBuffer } from './loudness-dsp.mjs'

parentPort.on('message', async (msg) => {
  try {
    let buf
    try {
      buf = await readFile(msg.file)
    } catch (err) {
      throw Object.assign(new Error(`Cannot read clip ${msg.file}: ${err.message}`), { code: 'INVALID_AUDIO' })
    }
    if (msg.raw) {
      // An encoded piece decoded to raw PCM: its loudness and true peak.
      parentPort.postMessage({ id: msg.id, result: measureRawBuffer(buf, msg.sampleRate) })
      return
    }
    const output = msg.plan && msg.plan.output
    const { rendered, ...result } = measureWavBuffer(buf, msg.file, output ? { ...msg.plan, render: true } : msg.plan)
    if (output) {
      try {
        await writeFile(output, rendered)
      } catch (err) {
        // Mapped to an AppError by the meter (fileError), like every other write.
        parentPort.postMessage({ id: msg.id, error: { code: 'FILE_ERROR', errno: err.code, target: output, message: err.message } })
        return
      }
    }
    parentPort.postMessage({ id: msg.id, result })
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: { code: err && err.code, message: (err && err.message) || String(err) } })
  }
})
