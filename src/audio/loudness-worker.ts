/** Worker thread: measures WAV clips (BS.1770) off the main thread. */
import { parentPort } from 'node:worker_threads'
import { measureWavFile } from './loudness.ts'

parentPort!.on('message', async (msg: { id: number; file: string; plan?: { targetLufs: number; ceilingDb: number; padMs?: number } }) => {
  try {
    const result = await measureWavFile(msg.file, msg.plan)
    parentPort!.postMessage({ id: msg.id, result })
  } catch (err) {
    const e = err as { code?: string; message?: string }
    parentPort!.postMessage({ id: msg.id, error: { code: e.code, message: e.message ?? String(err) } })
  }
})
