// The loudness requests of a worker thread (the loudness worker, loudness-worker.mjs, and the MP3
// encoder threads, mp3-encoder-worker.mjs): measures WAV clips and plans their gain (BS.1770); with
// plan.output, also writes the clip with that gain and limiter applied (what the encoder gets); and
// measures encoded MP3 pieces (mp3-measure.mjs). Plain JS, no TypeScript loader in those threads. Files
// are read and written synchronously (see mp3-encoder-worker.mjs): the thread has nothing else to do.
import { readFileSync, writeFileSync } from 'node:fs'
import { measureWavBuffer, wavBytes } from './loudness-dsp.mjs'
import { measureMp3File } from './mp3-measure.mjs'

/** The reply to a loudness request `msg` ({ id, file, plan?, mp3? }): { id, result } or { id, error }. */
export async function loudnessReply(msg) {
  try {
    if (msg.mp3) return { id: msg.id, result: await measureMp3File(msg.file) }
    let buf
    try {
      buf = readFileSync(msg.file)
    } catch (err) {
      throw Object.assign(new Error(`Cannot read clip ${msg.file}: ${err.message}`), { code: 'INVALID_AUDIO' })
    }
    const output = msg.plan && msg.plan.output
    const { rendered, ...result } = measureWavBuffer(buf, msg.file, output ? { ...msg.plan, render: true } : msg.plan)
    if (output) {
      try {
        writeFileSync(output, rendered)
      } catch (err) {
        // Mapped to an AppError by the meter (fileError), like every other write.
        return { id: msg.id, error: { code: 'FILE_ERROR', errno: err.code, target: output, message: err.message } }
      }
    }
    return { id: msg.id, result }
  } catch (err) {
    return { id: msg.id, error: { code: err && err.code, message: (err && err.message) || String(err) } }
  }
}

// Warm-up: the DSP is plain JS, so V8 interprets it at first: a render's first clip measured ~4x
// slower than later ones (~120 ms against ~30 ms for 17 s of speech), and in a re-render with one
// changed paragraph that first clip is the whole job. The meter starts with the render and then
// waits for synthesis, so it runs the same code on a synthetic speech-like clip meanwhile, in small
// steps (a real request is served between two steps, never behind the whole warm-up).
function syntheticClip(seconds, rate) {
  const n = Math.round(seconds * rate)
  const pcm = new Int16Array(n)
  let seed = 7
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const t = i / rate
    // Syllable-rate envelope over a few harmonics and noise, peaky like TTS speech.
    const env = Math.max(0, Math.sin(2 * Math.PI * 3.3 * t)) ** 2
    const v = env * (0.5 * Math.sin(2 * Math.PI * 140 * t) + 0.3 * Math.sin(2 * Math.PI * 280 * t) + 0.15 * (seed / 0x3fffffff - 1))
    pcm[i] = Math.round(v * 12000)
  }
  return pcm
}
const steps = [
  () => measureWavBuffer(wavBytes(syntheticClip(1.5, 22050), 22050), 'warm-up', { targetLufs: -15.5, ceilingDb: -2, padMs: 500, render: true }),
]
/** Starts the warm-up, in steps between requests (the thread's first clip is then measured at full speed). */
export function warmUpLoudness() {
  let step = 0
  const warm = () => {
    if (step >= steps.length) return
    steps[step++]()
    setImmediate(warm)
  }
  setImmediate(warm)
}
