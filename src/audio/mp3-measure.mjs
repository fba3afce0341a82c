// Loudness of an encoded MP3 piece, decoded in this thread by mpg123 compiled to WebAssembly
// (mpg123-decoder): no ffmpeg process. Used by the loudness worker; one decoder per thread, made on
// first use (its instance and compiled code take ~25 MB, so only that one thread has one).
// Types: mp3-measure.d.mts.
import { readFileSync } from 'node:fs'
import { MPEGDecoder } from 'mpg123-decoder'
import { measureFloatPcm } from './loudness-dsp.mjs'

let decoder

/** Integrated loudness and true peak (4x oversampled) of an MP3 file, from its decoded float samples. */
export async function measureMp3File(file) {
  const mp3 = readFileSync(file)
  if (!decoder) {
    decoder = new MPEGDecoder()
    decoder.ready.catch(() => {})
  }
  await decoder.ready
  await decoder.reset()
  const { channelData, samplesDecoded, sampleRate, errors } = decoder.decode(mp3)
  if (errors.length > 0 || (samplesDecoded === 0 && mp3.length > 0))
    throw Object.assign(new Error(`${file} is not MP3 audio: ${errors[0]?.message ?? 'no frames'}`), { code: 'INVALID_AUDIO' })
  // The decoder's floats as they are: converting them to 16-bit first cost a pass and a copy per piece.
  return measureFloatPcm(channelData[0] ?? new Float32Array(0), sampleRate || 44100)
}
