// Worker thread: the loudness requests of a LoudnessMeter of its own (loudness-ops.mjs), for callers
// without MP3 encoder threads to share (a render process measures in its encoder threads instead).
// Plain JS with no TypeScript loader, so the worker costs ~10 MB of memory.
import { parentPort } from 'node:worker_threads'
import { loudnessReply, warmUpLoudness } from './loudness-ops.mjs'

parentPort.on('message', async (msg) => {
  parentPort.postMessage(await loudnessReply(msg))
})
warmUpLoudness()
