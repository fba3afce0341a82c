/**
 * ITU-R BS.1770-4 integrated loudness of mono 16-bit PCM, in JS. Measuring a
 * clip this way costs a millisecond instead of an ffmpeg process per clip; it
 * runs in a worker thread (loudness-worker.ts) so the event loop never waits.
 * The K-weighting coefficients are derived for any sample rate as libebur128
 * does (https://github.com/jiixyj/libebur128, ebur128_init_filter).
 */
import { promises as fs } from 'node:fs'
import { AppError } from '../errors.ts'

export interface PcmLoudness {
  /** Gated integrated loudness, LUFS; -Infinity for silence. */
  integratedLufs: number
  /** Sample peak, dBFS. */
  samplePeakDb: number
  durationMs: number
}

function kWeightingCoefficients(rate: number): { b: number[]; a: number[] }[] {
  let f0 = 1681.974450955533
  const G = 3.999843853973347
  let Q = 0.7071752369554196
  let K = Math.tan((Math.PI * f0) / rate)
  const Vh = Math.pow(10, G / 20)
  const Vb = Math.pow(Vh, 0.4996667741545416)
  const a0 = 1 + K / Q + K * K
  const shelf = {
    b: [(Vh + (Vb * K) / Q + K * K) / a0, (2 * (K * K - Vh)) / a0, (Vh - (Vb * K) / Q + K * K) / a0],
    a: [1, (2 * (K * K - 1)) / a0, (1 - K / Q + K * K) / a0],
  }
  f0 = 38.13547087602444
  Q = 0.5003270373238773
  K = Math.tan((Math.PI * f0) / rate)
  const d = 1 + K / Q + K * K
  const highpass = { b: [1, -2, 1], a: [1, (2 * (K * K - 1)) / d, (1 - K / Q + K * K) / d] }
  return [shelf, highpass]
}

/** Loudness of mono float samples in [-1, 1]. */
export function measurePcmLoudness(samples: Float32Array | Int16Array, sampleRate: number): PcmLoudness {
  const scale = samples instanceof Int16Array ? 1 / 32768 : 1
  const [s, h] = kWeightingCoefficients(sampleRate)
  const block = Math.round(sampleRate * 0.4)
  const hop = Math.round(sampleRate * 0.1)
  // Energy per 100 ms hop; a 400 ms block is the sum of 4 consecutive hops (75% overlap).
  const hops: number[] = []
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0
  let acc = 0
  let n = 0
  let peak = 0
  let total = 0
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]! * scale
    const ax = x < 0 ? -x : x
    if (ax > peak) peak = ax
    const y = s!.b[0]! * x + s!.b[1]! * x1 + s!.b[2]! * x2 - s!.a[1]! * y1 - s!.a[2]! * y2
    x2 = x1
    x1 = x
    const z = h!.b[0]! * y + h!.b[1]! * y1 + h!.b[2]! * y2 - h!.a[1]! * z1 - h!.a[2]! * z2
    y2 = y1
    y1 = y
    z2 = z1
    z1 = z
    acc += z * z
    total += z * z
    if (++n === hop) {
      hops.push(acc)
      acc = 0
      n = 0
    }
  }
  const blocks: number[] = []
  for (let i = 0; i + 4 <= hops.length; i++) blocks.push((hops[i]! + hops[i + 1]! + hops[i + 2]! + hops[i + 3]!) / block)
  // Clips shorter than one block: the whole clip is the block.
  if (blocks.length === 0 && samples.length > 0) blocks.push(total / samples.length)
  const lufs = (ms: number) => -0.691 + 10 * Math.log10(ms)
  const absGated = blocks.filter((e) => lufs(e) > -70)
  let integrated = -Infinity
  if (absGated.length > 0) {
    const relThreshold = lufs(absGated.reduce((a, b) => a + b, 0) / absGated.length) - 10
    const gated = absGated.filter((e) => lufs(e) > relThreshold)
    if (gated.length > 0) integrated = lufs(gated.reduce((a, b) => a + b, 0) / gated.length)
  }
  return { integratedLufs: integrated, samplePeakDb: peak > 0 ? 20 * Math.log10(peak) : -Infinity, durationMs: (samples.length * 1000) / sampleRate }
}

export interface WavPcm {
  sampleRate: number
  channels: number
  bitsPerSample: number
  /** Byte offset and length of the data chunk. */
  dataOffset: number
  dataBytes: number
}

/** Parses a RIFF/WAVE header (PCM 16-bit expected); throws INVALID_AUDIO otherwise. */
export function parseWavHeader(buf: Uint8Array, file = 'clip'): WavPcm {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const tag = (o: number) => String.fromCharCode(buf[o]!, buf[o + 1]!, buf[o + 2]!, buf[o + 3]!)
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new AppError('INVALID_AUDIO', `${file} is not a WAV file.`)
  let pos = 12
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined
  while (pos + 8 <= buf.length) {
    const id = tag(pos)
    const size = view.getUint32(pos + 4, true)
    if (id === 'fmt ') {
      fmt = { format: view.getUint16(pos + 8, true), channels: view.getUint16(pos + 10, true), rate: view.getUint32(pos + 12, true), bits: view.getUint16(pos + 22, true) }
    } else if (id === 'data') {
      if (!fmt) break
      if ((fmt.format !== 1 && fmt.format !== 0xfffe) || fmt.bits !== 16)
        throw new AppError('INVALID_AUDIO', `${file} is not 16-bit PCM (format ${fmt.format}, ${fmt.bits} bits).`)
      // Streams written before their length is known carry 0 or 0xFFFFFFFF: take the rest of the file.
      const dataBytes = size === 0 || size === 0xffffffff || pos + 8 + size > buf.length ? buf.length - pos - 8 : size
      return { sampleRate: fmt.rate, channels: fmt.channels, bitsPerSample: fmt.bits, dataOffset: pos + 8, dataBytes: dataBytes - (dataBytes % (2 * fmt.channels)) }
    }
    pos += 8 + size + (size & 1)
  }
  throw new AppError('INVALID_AUDIO', `${file} has no PCM data chunk.`)
}

/** Reads a 16-bit PCM WAV and measures it (first channel if several). */
export async function measureWavFile(
  file: string,
  plan?: { targetLufs: number; ceilingDb: number; padMs?: number },
): Promise<PcmLoudness & { sampleRate: number; samples: number; gainDb?: number; predictedLufs?: number }> {
  let buf: Buffer
  try {
    buf = await fs.readFile(file)
  } catch (err) {
    throw new AppError('INVALID_AUDIO', `Cannot read clip ${file}: ${(err as Error).message}`, { cause: err })
  }
  const wav = parseWavHeader(buf, file)
  const frames = wav.dataBytes / 2 / wav.channels
  let pcm: Int16Array
  if (wav.channels === 1 && (buf.byteOffset + wav.dataOffset) % 2 === 0) {
    pcm = new Int16Array(buf.buffer, buf.byteOffset + wav.dataOffset, frames)
  } else {
    pcm = new Int16Array(frames)
    for (let i = 0; i < frames; i++) pcm[i] = buf.readInt16LE(wav.dataOffset + i * 2 * wav.channels)
  }
  const measured = measurePcmLoudness(pcm, wav.sampleRate)
  let planned = pcm
  if (plan?.padMs) {
    // Plan on the piece as it will be measured: the clip followed by its pause (short clips gate differently).
    planned = new Int16Array(pcm.length + Math.round((plan.padMs * wav.sampleRate) / 1000))
    planned.set(pcm)
  }
  const gain = plan ? planGain(planned, wav.sampleRate, plan.targetLufs, plan.ceilingDb) : undefined
  return { ...measured, sampleRate: wav.sampleRate, samples: frames, ...gain }
}

/**
 * The gain that brings a clip to `targetLufs` once a peak limiter with a
 * `ceilingDb` sample-peak ceiling has done its work. Speech from TTS engines
 * has a peak-to-loudness ratio of 16-19 dB, so at -16 LUFS / -2.5 dBFS the
 * limiter takes 1-3 dB off the peaks and ~0.5-1 LU off the loudness; this
 * simulates a lookahead limiter like ffmpeg's alimiter (5 ms attack, 50 ms
 * release) and raises the gain until the limited clip measures on target.
 */
export function planGain(pcm: Int16Array, sampleRate: number, targetLufs: number, ceilingDb: number, maxGainDb = 30): { gainDb: number; predictedLufs: number } {
  const first = measurePcmLoudness(pcm, sampleRate)
  if (!Number.isFinite(first.integratedLufs)) return { gainDb: 0, predictedLufs: first.integratedLufs }
  const clampGain = (g: number) => Math.max(-maxGainDb, Math.min(maxGainDb, g))
  let gainDb = clampGain(targetLufs - first.integratedLufs)
  let predicted = first.integratedLufs + gainDb
  const ceiling = Math.pow(10, ceilingDb / 20)
  const attack = Math.max(1, Math.round(sampleRate * 0.005))
  const releaseCoef = 1 - Math.exp(-1 / (sampleRate * 0.05))
  const buf = new Float32Array(pcm.length)
  const need = new Float32Array(pcm.length)
  for (let iter = 0; iter < 4; iter++) {
    const g = Math.pow(10, gainDb / 20) / 32768
    if (first.samplePeakDb + gainDb <= ceilingDb) break
    for (let i = 0; i < pcm.length; i++) {
      const a = Math.abs(pcm[i]! * g)
      need[i] = a > ceiling ? ceiling / a : 1
    }
    // Lookahead: the gain reaches what a peak needs `attack` samples before it (sliding-window minimum).
    const dq: number[] = []
    let head = 0
    let env = 1
    for (let i = 0; i < pcm.length; i++) {
      const j = i + attack < pcm.length ? i + attack : pcm.length - 1
      if (i === 0) for (let k = 0; k <= j; k++) push(k)
      else if (i + attack < pcm.length) push(j)
      while (dq[head]! < i) head++
      const target = need[dq[head]!]!
      env = target < env ? target : env + (1 - env) * releaseCoef
      if (env > target) env = target
      buf[i] = pcm[i]! * g * env
    }
    function push(k: number) {
      while (dq.length > head && need[dq[dq.length - 1]!]! >= need[k]!) dq.pop()
      dq.push(k)
    }
    const measured = measurePcmLoudness(buf, sampleRate).integratedLufs
    predicted = measured
    const miss = targetLufs - measured
    if (Math.abs(miss) < 0.1) break
    const next = clampGain(gainDb + miss)
    if (next === gainDb) break
    gainDb = next
  }
  return { gainDb, predictedLufs: predicted }
}
