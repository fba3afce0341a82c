/**
 * Worker thread that keeps one warm espeak-ng instance (message types: EspeakJob,
 * EspeakVoicesJob and EspeakReply in espeak.ts).
 *
 * Plain JavaScript on purpose: a TypeScript entry needs tsx registered inside the
 * thread, and tsx + esbuild cost ~120 MB per worker (measured: 190 MB per worker
 * through the tsx bootstrap, ~60-80 MB for this file), which put `briefcast render`
 * over its 300 MB budget.
 *
 * The engine is espeak-ng in WebAssembly (espeak-wasm.mjs). Loading it and a voice's
 * dictionary takes ~0.1 s, and V8 compiles the hottest code again with its optimizing
 * tier after a few sentences, so each worker lives as long as the engine and speaks a
 * few sample sentences while idle (see warmStep).
 *
 * Cancellation: the synthesis call is synchronous inside this thread, so the parent
 * cannot post a message to stop it; instead it writes the job id into a shared
 * Int32Array, and the audio callback (called per audio chunk) returns true, which makes
 * espeak-ng abandon the rest of the text.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { loadEspeak } from './espeak-wasm.mjs'

// [0]: the id of a job to abandon; [1]: set by the pool when it posts a job (cleared here when the
// job starts), so a warm-up sentence stops at its next audio chunk instead of delaying the job.
const cancel = new Int32Array(workerData.cancel)
const CANCEL_ID = 0
const JOB_WAITING = 1
// Warm-up (see WarmUp in espeak-prestart.ts): true whenever idle (services), false never (one-shot commands).
const warmUpMode = workerData.warmUp ?? true
const port = parentPort

// ICU's break-iterator data is loaded once per process, by whichever thread first asks: creating the
// segmenters here (~16 ms) spares the main thread that time while it converts the article, which
// starts at the same moment in a one-shot render.
for (const granularity of ['sentence', 'word', 'grapheme']) new Intl.Segmenter('en', { granularity }).segment('A b. C d.')[Symbol.iterator]().next()

const espeak = await loadEspeak()
let currentVoice = ''
// Rate and pitch are set only when they change (most jobs of one render share them).
let currentRate = -1
let currentPitch = -1

// Warm up: load the English dictionary now; after 'ready' the worker warms V8 on the
// synthesis code with varied text, one sentence at a time, whenever it is idle (a real
// job waits at most one short sentence), so a service is fast on its first requests.
// Named as the engine names it in jobs (the voice file, see EspeakEngine.identifiers), so the
// first English job finds its voice loaded instead of loading the dictionary again (~80 ms cold).
const DEFAULT_VOICE = 'gmw/en-US'
espeak.setVoice(DEFAULT_VOICE)
currentVoice = DEFAULT_VOICE
// 'ready' is posted before any warm-up sentence, and a job stops a warm-up sentence at its next chunk.
const WARM_UP = [
  'The quick brown fox jumps over the lazy dog, and 42 people watched it happen on Monday.',
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
// Warm-up runs only after the worker has been idle a while. Queued jobs arrive as port
// messages, which Node delivers after an immediate scheduled at the end of the previous
// job, so warming "between jobs" would slip one cold sentence in front of each of the
// first jobs of a render (8 extra sentences of the most expensive, not yet compiled
// work); waiting for a quiet moment keeps the warm-up for idle services only.
const IDLE_MS = 150
let lastJobEnd = 0
let warmTimer = null
const warmUpAllowed = () => warmUpMode === true
function scheduleWarm(delay) {
  if (!warmUpAllowed() || warmIndex >= WARM_UP.length || warmTimer) return
  warmTimer = setTimeout(warmStep, delay)
}
function warmStep() {
  warmTimer = null
  if (warmIndex >= WARM_UP.length || !warmUpAllowed()) return
  // A job was posted: its message is handled as soon as this returns.
  if (Atomics.load(cancel, JOB_WAITING)) return
  const idle = performance.now() - lastJobEnd
  if (idle < IDLE_MS) return scheduleWarm(IDLE_MS - idle + 1)
  // The sample sentences are English: with another language in use, its own jobs warm the code.
  if (/^(en|gmw\/en)/i.test(currentVoice)) espeak.synthesize(WARM_UP[warmIndex++], () => Atomics.load(cancel, JOB_WAITING) !== 0)
  else warmIndex = WARM_UP.length
  // Jobs run synchronously in the message handler, so a sentence only ever runs between jobs.
  scheduleWarm(0)
}

function listVoices(job) {
  const voices = espeak.listVoices().map((v) => ({ name: v.name, identifier: v.identifier, languages: v.languages.map((l) => l.name) }))
  port.postMessage({ id: job.id, ok: true, voices, variants: espeak.listVariants() })
}

function synthesize(job) {
  if (job.voice !== currentVoice) {
    const rc = espeak.setVoice(job.voice)
    // set_voice resets rate and pitch to the voice's own.
    currentRate = -1
    currentPitch = -1
    if (rc !== 0) {
      // Restore a known-good voice so the next job does not inherit a half-set one.
      espeak.setVoice(DEFAULT_VOICE)
      currentVoice = DEFAULT_VOICE
      port.postMessage({ id: job.id, ok: false, code: 'UNKNOWN_VOICE', message: `espeak-ng has no voice "${job.voice}".` })
      return
    }
    currentVoice = job.voice
  }
  if (job.wpm !== currentRate) espeak.setRate((currentRate = job.wpm))
  if (job.pitch !== currentPitch) espeak.setPitch((currentPitch = job.pitch))
  const chunks = []
  let samples = 0
  // Word and sentence events only, flattened into one Int32Array (type, pos, len, ms per
  // event: 1 = word, 2 = sentence) so the reply is transferred, not structured-cloned as
  // thousands of small objects.
  let events = new Int32Array(256)
  let eventCount = 0
  let cancelled = false
  espeak.synthesize(job.ssml, (chunk, evs) => {
    if (Atomics.load(cancel, CANCEL_ID) === job.id) {
      cancelled = true
      return true
    }
    // Both are views into the engine's memory, valid only during this call: copy them.
    chunks.push(chunk.slice())
    samples += chunk.length
    if (evs.length) {
      if (eventCount * 4 + evs.length > events.length) {
        const grown = new Int32Array(Math.max(events.length * 2, eventCount * 4 + evs.length))
        grown.set(events)
        events = grown
      }
      events.set(evs, eventCount * 4)
      eventCount += evs.length / 4
    }
    return false
  })
  if (cancelled) {
    port.postMessage({ id: job.id, ok: false, cancelled: true, samples, code: 'ENGINE_FAILED', message: 'cancelled' })
    return
  }
  const pcm = new Int16Array(samples)
  let at = 0
  for (const c of chunks) {
    pcm.set(c, at)
    at += c.length
  }
  const ev = events.slice(0, eventCount * 4)
  port.postMessage({ id: job.id, ok: true, pcm: pcm.buffer, sampleRate: espeak.sampleRate, events: ev.buffer }, [pcm.buffer, ev.buffer])
}

port.on('message', (job) => {
  Atomics.store(cancel, JOB_WAITING, 0)
  try {
    if (job.type === 'voices') listVoices(job)
    else synthesize(job)
  } catch (err) {
    port.postMessage({ id: job.id, ok: false, code: 'ENGINE_FAILED', message: err instanceof Error ? err.message : String(err) })
  } finally {
    lastJobEnd = performance.now()
    scheduleWarm(IDLE_MS)
  }
})
port.postMessage({ ready: true })
// The engine's voice listing and a render's first jobs arrive right after 'ready' and
// should not wait behind a cold warm-up sentence.
lastJobEnd = performance.now()
scheduleWarm(IDLE_MS)
