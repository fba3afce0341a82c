// Worker thread: encodes pieces to MP3 with LAME compiled to WebAssembly (wasm-media-encoders), so a
// piece costs no process. Plain JS with no TypeScript loader, like the loudness worker.
import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { parentPort } from 'node:worker_threads'
import { createEncoder } from 'wasm-media-encoders'
import { parseWavHeader } from './loudness-dsp.mjs'
import { resample } from './resample.mjs'

const SAMPLE_RATE = 44100
/** Samples handed to LAME per call (whole frames; LAME keeps its own buffer across calls). */
const CHUNK = 1152 * 32

const require = createRequire(import.meta.url)
// The .wasm file rather than the package's default export, which inlines both of its encoders as base64.
const encoderReady = readFile(require.resolve('wasm-media-encoders/wasm/mp3')).then((wasm) => createEncoder('audio/mpeg', wasm))

function readWav(buf, file) {
  const wav = parseWavHeader(buf, file)
  const frames = wav.dataBytes / 2 / wav.channels
  if (wav.channels === 1 && (buf.byteOffset + wav.dataOffset) % 2 === 0) return { rate: wav.sampleRate, pcm: new Int16Array(buf.buffer, buf.byteOffset + wav.dataOffset, frames) }
  // Interleaved or unaligned: the first channel (clips are mono).
  const pcm = new Int16Array(frames)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (let i = 0; i < frames; i++) pcm[i] = view.getInt16(wav.dataOffset + i * 2 * wav.channels, true)
  return { rate: wav.sampleRate, pcm }
}

/**
 * Output samples [startSample, startSample + totalSamples) of the clip at 44.1 kHz, silence past its
 * end, encoded as bare CBR frames (no Xing/Info frame, no ID3: wasm-media-encoders writes neither).
 */
async function encode(msg) {
  let buf
  try {
    buf = await readFile(msg.input)
  } catch (err) {
    throw Object.assign(new Error(`Cannot read ${msg.input}: ${err.message}`), { code: 'INVALID_AUDIO' })
  }
  const { rate, pcm } = readWav(buf, msg.input)
  const samples = resample(pcm, rate, SAMPLE_RATE, msg.startSample ?? 0, msg.totalSamples)
  // LAME takes floats in [-1, 1]; the resampled clip is in 16-bit units.
  for (let i = 0; i < samples.length; i++) samples[i] /= 32768
  const enc = await encoderReady
  enc.configure({ channels: 1, sampleRate: SAMPLE_RATE, outputSampleRate: SAMPLE_RATE, bitrate: msg.bitrateKbps })
  const chunks = []
  for (let o = 0; o < samples.length; o += CHUNK) chunks.push(enc.encode([samples.subarray(o, o + CHUNK)]).slice())
  // The returned views belong to the encoder's memory: copied above and here.
  chunks.push(enc.finalize().slice())
  const mp3 = Buffer.concat(chunks)
  await writeFile(msg.output, mp3)
  return { bytes: mp3.length }
}

parentPort.on('message', async (msg) => {
  try {
    const result = await encode(msg)
    parentPort.postMessage({ id: msg.id, result })
  } catch (err) {
    const fileCode = err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)
    parentPort.postMessage({
      id: msg.id,
      error: fileCode ? { code: 'FILE_ERROR', errno: err.code, target: msg.output, message: err.message } : { code: err && err.code, message: (err && err.message) || String(err) },
    })
  }
})
