/**
 * Worker thread that keeps one warm espeak-ng WASM instance. Instantiating the
 * module and loading a voice's dictionary is the slow part (tens to hundreds of
 * ms); synthesis on a warm instance is fast, so each worker lives as long as
 * the engine. Cancellation: the synthesis call is synchronous inside this
 * thread, so the parent cannot post a message to stop it; instead it writes
 * the job id into a shared Int32Array, and the audio callback (called per
 * audio chunk) returns 1, which makes espeak-ng abandon the rest of the text.
 */
import { parentPort, workerData } from 'node:worker_threads'
import Module from '@echogarden/espeak-ng-emscripten'

export interface EspeakJob {
  type: 'synth'
  id: number
  /** SSML (plain text arrives already XML-escaped, see espeak.ts). */
  ssml: string
  voice: string
  /** Words per minute. */
  wpm: number
  /** 0..100, 50 = the voice's normal pitch. */
  pitch: number
}

export interface EspeakVoicesJob {
  type: 'voices'
  id: number
}

export type EspeakReply =
  | { id: number; ok: true; pcm: ArrayBuffer; sampleRate: number; events: { type: string; pos: number; len: number; ms: number }[] }
  | { id: number; ok: true; voices: { name: string; identifier: string; languages: string[] }[]; variants: string[] }
  | { id: number; ok: false; cancelled?: boolean; samples?: number; code: 'UNKNOWN_VOICE' | 'ENGINE_FAILED'; message: string }

interface EspeakInstance {
  set_voice(name: string): number
  set_rate(wpm: number): void
  set_pitch(p: number): void
  get_samplerate(): number
  synthesize(text: string, cb: (samples: Int16Array, events: { type: string; text_position: number; word_length: number; audio_position: number }[]) => number | boolean): void
  list_voices(): { name: string; identifier: string; languages: { name: string; priority: number }[] }[]
}

const cancel = new Int32Array((workerData as { cancel: SharedArrayBuffer }).cancel)
const port = parentPort!

const mod = (await Module()) as { eSpeakNGWorker: new () => EspeakInstance; FS: { readdir(path: string): string[] } }
const espeak = new mod.eSpeakNGWorker()
let currentVoice = ''

// Warm up: load the English dictionary and let V8 tier up the WASM code. The first
// pass over varied text runs about twice as slow as later ones, so after 'ready' the
// worker keeps warming itself with varied text, one sentence at a time, whenever it is
// idle (a real job waits at most one short sentence).
espeak.set_voice('en-us')
currentVoice = 'en-us'
espeak.synthesize('The quick brown fox jumps over the lazy dog, and 42 people watched it happen on Monday.', () => 0)
const WARM_UP = [
  'On 3 March 2025, the company reported revenue of $4.2 billion, up 17% from a year earlier.',
  'Dr. Smith, who leads the lab at MIT, said the results were "encouraging, but early".',
  'Officials in Washington, Brussels and Beijing met on Tuesday to discuss trade, energy and security.',
  'The new model runs on GPUs and CPUs alike; it needs 16 GB of memory and about 30 watts.',
  'Why does it matter? Because prices rose faster than wages for the third month in a row.',
  "She'd already left when they arrived at 9:30 p.m., so nobody knew what she'd found.",
  'Analysts expect the merger to close in the second half of the year, pending regulatory approval.',
  'Temperatures will climb to 31 degrees in the south, with thunderstorms likely over the mountains.',
]
let warmIndex = 0
function warmStep(): void {
  if (warmIndex >= WARM_UP.length) return
  // Jobs run synchronously in the message handler, so this only ever runs between jobs.
  if (currentVoice === 'en-us') espeak.synthesize(WARM_UP[warmIndex++]!, () => 0)
  else warmIndex = WARM_UP.length // in use for another language: its own jobs warm it
  setImmediate(warmStep)
}

port.on('message', (job: EspeakJob | EspeakVoicesJob) => {
  try {
    if (job.type === 'voices') {
      const voices = espeak.list_voices().map((v) => ({ name: v.name, identifier: v.identifier, languages: v.languages.map((l) => l.name) }))
      let variants: string[] = []
      try {
        variants = mod.FS.readdir('/usr/share/espeak-ng-data/voices/!v').filter((f) => !f.startsWith('.'))
      } catch {
        // Older builds keep variants elsewhere; variants are then not validated up front.
      }
      port.postMessage({ id: job.id, ok: true, voices, variants } satisfies EspeakReply)
      return
    }
    if (job.voice !== currentVoice) {
      const rc = espeak.set_voice(job.voice)
      if (rc !== 0) {
        // Restore a known-good voice so the next job does not inherit a half-set one.
        espeak.set_voice('en-us')
        currentVoice = 'en-us'
        port.postMessage({ id: job.id, ok: false, code: 'UNKNOWN_VOICE', message: `espeak-ng has no voice "${job.voice}".` } satisfies EspeakReply)
        return
      }
      currentVoice = job.voice
    }
    espeak.set_rate(job.wpm)
    espeak.set_pitch(job.pitch)
    const chunks: Int16Array[] = []
    let samples = 0
    const events: { type: string; pos: number; len: number; ms: number }[] = []
    let cancelled = false
    espeak.synthesize(job.ssml, (chunk, evs) => {
      if (Atomics.load(cancel, 0) === job.id) {
        cancelled = true
        return 1
      }
      chunks.push(chunk)
      samples += chunk.length
      for (const e of evs) if (e.type === 'word' || e.type === 'sentence') events.push({ type: e.type, pos: e.text_position, len: e.word_length, ms: e.audio_position })
      return 0
    })
    if (cancelled) {
      port.postMessage({ id: job.id, ok: false, cancelled: true, samples, code: 'ENGINE_FAILED', message: 'cancelled' } satisfies EspeakReply)
      return
    }
    const pcm = new Int16Array(samples)
    let at = 0
    for (const c of chunks) {
      pcm.set(c, at)
      at += c.length
    }
    port.postMessage({ id: job.id, ok: true, pcm: pcm.buffer, sampleRate: espeak.get_samplerate(), events } satisfies EspeakReply, [pcm.buffer])
  } catch (err) {
    port.postMessage({ id: job.id, ok: false, code: 'ENGINE_FAILED', message: err instanceof Error ? err.message : String(err) } satisfies EspeakReply)
  }
})
port.postMessage({ ready: true })
setImmediate(warmStep)
