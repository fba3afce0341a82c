// Loudness of an encoded MP3 piece, decoded in this thread by mpg123 compiled to WebAssembly
// (mpg123-decoder): no ffmpeg process. Used by the loudness worker; one decoder per thread, made on
// first use (its instance and compiled code take ~25 MB, so only that one thread has one).
// Types: mp3-measure.d.mts.
import { readFile } from 'node:fs/promises'
import { MPEGDecoder } from 'mpg123-decoder'
import { measureRawBuffer } from './loudness-dsp.mjs'

let decoder

/** Integrated loudness and true peak (4x oversampled) of an MP3 file, from its samples as 16-bit (as ffmpeg decodes to s16). */
export async function measureMp3File(file) {
  const mp3 = await readFile(file)
  if (!decoder) {
    decoder = new MPEGDecoder()
    decoder.ready.catch(() => {})
  }
  await decoder.ready
  await decoder.reset()
  const { channelData, samplesDecoded, sampleRate, errors } = decoder.decode(mp3)
  if (errors.length > 0 || (samplesDecoded === 0 && mp3.length > 0))
    throw Object.assign(new Error(`${file} is not MP3 audio: ${errors[0]?.message ?? 'no frames'}`), { code: 'INVALID_AUDIO' })
  const ch = channelData[0] ?? new Float32Array(0)
  const pcm = new Int16Array(samplesDecoded)
  for (let i = 0; i < samplesDecoded; i++) {
    const v = Math.round(ch[i] * 32768)
    pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
  }
  return measureRawBuffer(new Uint8Array(pcm.buffer), sampleRate || 44100)
}
