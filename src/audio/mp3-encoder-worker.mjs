// Worker thread: encodes pieces to MP3 with LAME compiled to WebAssembly (our build, lame-wasm.mjs), so a
// piece costs no process; and answers the loudness requests of the encoder's meter (Mp3Encoder.meter,
// loudness-ops.mjs), so a render needs no loudness thread of its own. Plain JS with no TypeScript loader.
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { createLame } from './lame-wasm.mjs'
import { parseWavHeader } from './loudness-dsp.mjs'
import { loudnessReply, warmUpLoudness } from './loudness-ops.mjs'
import { resampler } from './resample.mjs'

const SAMPLE_RATE = 44100
/**
 * LAME's algorithm quality: 7, as `ffmpeg -c:a libmp3lame -compression_level 7` (the naive baseline of
 * bench/render.bench.ts) and `lame -q 7`. Its default (3) costs ~2.2x the CPU for speech at 64 kbps
 * (docs/architecture-render.md).
 */
const QUALITY = 7

// The module the encoder compiled once for all its threads (mp3-encoder.ts), else this thread compiles the file.
const lameReady = createLame(workerData?.lame)
lameReady.catch(() => {}) // reported by the first encode

/**
 * One input buffer and one resampler buffer per thread, grown to the largest clip and reused: a fresh
 * pair per piece left each thread's memory growing by ~8 MB per minute-long piece until V8 got round to
 * collecting them (the render's peak RSS). Files are read and written synchronously: this thread has
 * nothing else to do meanwhile, and each asynchronous step was a round trip through libuv's thread pool,
 * which the main thread and the synthesis workers share.
 */
let fileBuf = new Uint8Array(0)
let padBuf = new Float32Array(0)

function readPooled(file) {
  const fd = openSync(file, 'r')
  try {
    const { size } = fstatSync(fd)
    if (fileBuf.length < size) fileBuf = new Uint8Array(Math.ceil(size * 1.25))
    let length = 0
    while (length < size) {
      const bytesRead = readSync(fd, fileBuf, length, size - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    return fileBuf.subarray(0, length)
  } finally {
    closeSync(fd)
  }
}

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
 * end, encoded as bare CBR frames (no Xing/Info frame, no ID3: the binding writes neither).
 */
async function encode(msg) {
  let buf
  try {
    buf = readPooled(msg.input)
  } catch (err) {
    throw Object.assign(new Error(`Cannot read ${msg.input}: ${err.message}`), { code: 'INVALID_AUDIO' })
  }
  const { rate, pcm } = readWav(buf, msg.input)
  // Resampled in 16-bit units (as LAME's float input takes them) a chunk at a time, straight into LAME's
  // input buffer: the thread never holds the whole resampled piece (4 bytes per sample at 44.1 kHz).
  if (padBuf.length < pcm.length + 256) padBuf = new Float32Array(Math.ceil((pcm.length + 256) * 1.25))
  const fill = resampler(pcm, rate, SAMPLE_RATE, padBuf)
  const start = msg.startSample ?? 0
  const lame = await lameReady
  const mp3 = lame.encodeFrom(msg.totalSamples, (from, out) => fill(start + from, out), { sampleRate: SAMPLE_RATE, bitrateKbps: msg.bitrateKbps, quality: QUALITY })
  writeFileSync(msg.output, mp3)
  return { bytes: mp3.length }
}

parentPort.on('message', async (msg) => {
  if (msg.op === 'loudness') {
    parentPort.postMessage(await loudnessReply(msg))
    return
  }
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

warmUpLoudness()
