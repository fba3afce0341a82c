/**
 * Worker thread for the local neural engine (sherpa.ts): keeps the sherpa-onnx models it has
 * used loaded (a Piper model takes ~0.2-1 s to load, so each is loaded once per worker) and
 * speaks one job at a time. Message types: SherpaJob and SherpaReply in sherpa.ts.
 *
 * Plain JavaScript for the same reason as espeak-worker.mjs: a TypeScript entry needs tsx inside
 * the thread, which costs ~100 MB per worker.
 *
 * A job is a list of sentences, spoken one by one so the reply can say where each sentence starts
 * (the transcript's sentence timings). Cancellation: the parent writes the job id into a shared
 * Int32Array; it is checked before each sentence and in sherpa-onnx's progress callback, whose
 * return value 0 tells sherpa-onnx to stop generating.
 */
import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'

const require = createRequire(import.meta.url)
const sherpa = require('sherpa-onnx-node')

const cancel = new Int32Array(workerData.cancel)
const CANCEL_ID = 0
const port = parentPort

/** model key -> Promise<OfflineTts> */
const models = new Map()

function loadModel(spec) {
  let p = models.get(spec.key)
  if (!p) {
    // createAsync loads on sherpa-onnx's own thread: this worker still answers cancellations meanwhile.
    p = sherpa.OfflineTts.createAsync(spec.config)
    models.set(spec.key, p)
    p.catch(() => models.get(spec.key) === p && models.delete(spec.key))
  }
  return p
}

function toInt16(chunks, total) {
  const pcm = new Int16Array(total)
  let at = 0
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      const s = Math.max(-1, Math.min(1, c[i]))
      pcm[at++] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767)
    }
  }
  return pcm
}

async function synthesize(job) {
  const tts = await loadModel(job.model)
  if (job.sid >= tts.numSpeakers)
    return port.postMessage({ id: job.id, ok: false, code: 'UNKNOWN_VOICE', message: `model "${job.model.key}" has ${tts.numSpeakers} speaker(s) (ids 0-${tts.numSpeakers - 1}); there is no speaker ${job.sid}` })
  const chunks = []
  let total = 0
  // Per sentence: [start sample, sample count]
  const starts = new Int32Array(job.sentences.length * 2)
  for (let i = 0; i < job.sentences.length; i++) {
    starts[i * 2] = total
    const text = job.sentences[i]
    if (Atomics.load(cancel, CANCEL_ID) === job.id) return port.postMessage({ id: job.id, ok: false, cancelled: true, samples: total, code: 'ENGINE_FAILED', message: 'cancelled' })
    if (!text.trim()) continue
    let stopped = false
    const audio = await tts.generateAsync({
      text,
      sid: job.sid,
      speed: job.speed,
      onProgress: () => {
        if (Atomics.load(cancel, CANCEL_ID) === job.id) stopped = true
        return !stopped
      },
    })
    if (stopped || Atomics.load(cancel, CANCEL_ID) === job.id)
      return port.postMessage({ id: job.id, ok: false, cancelled: true, samples: total + audio.samples.length, code: 'ENGINE_FAILED', message: 'cancelled' })
    chunks.push(audio.samples)
    total += audio.samples.length
    starts[i * 2 + 1] = audio.samples.length
  }
  const pcm = toInt16(chunks, total)
  port.postMessage({ id: job.id, ok: true, pcm: pcm.buffer, sampleRate: tts.sampleRate, sentences: starts.buffer }, [pcm.buffer, starts.buffer])
}

async function describe(job) {
  const tts = await loadModel(job.model)
  port.postMessage({ id: job.id, ok: true, sampleRate: tts.sampleRate, numSpeakers: tts.numSpeakers })
}

// Jobs run one at a time (the pool posts the next only after a reply), so a job's awaits never interleave with another's.
port.on('message', async (job) => {
  try {
    if (job.type === 'describe') await describe(job)
    else await synthesize(job)
  } catch (err) {
    port.postMessage({ id: job.id, ok: false, code: 'ENGINE_FAILED', message: err instanceof Error ? err.message : String(err) })
  }
})
port.postMessage({ ready: true })
