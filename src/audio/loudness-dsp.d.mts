export interface PcmLoudness {
  /** Gated integrated loudness, LUFS; -Infinity for silence. */
  integratedLufs: number
  /** Sample peak, dBFS. */
  samplePeakDb: number
  durationMs: number
}
export interface WavPcm {
  sampleRate: number
  channels: number
  bitsPerSample: number
  /** Byte offset and length of the data chunk. */
  dataOffset: number
  dataBytes: number
}
export interface GainPlan {
  targetLufs: number
  ceilingDb: number
  /** Silence after the clip in the piece, ms. */
  padMs?: number
  /** Write the clip with the planned gain and limiter applied here (a WAV file; the loudness worker only). */
  output?: string
  /** Return that clip as WAV bytes (`rendered`). */
  render?: boolean
}
export type ClipMeasurement = PcmLoudness & { sampleRate: number; samples: number; gainDb?: number; predictedLufs?: number; rendered?: Uint8Array }
export function measurePcmLoudness(samples: Float32Array | Int16Array, sampleRate: number): PcmLoudness
export function parseWavHeader(buf: Uint8Array, file?: string): WavPcm
export function planGain(
  pcm: Int16Array,
  sampleRate: number,
  targetLufs: number,
  ceilingDb: number,
  maxGainDb?: number,
): { gainDb: number; predictedLufs: number; envelope?: Float32Array; integratedLufs: number; samplePeakDb: number }
/** Per sample, the largest of |x| and its three 4x-interpolated neighbours towards the next sample. */
export function truePeakEnvelope(pcm: Int16Array): Float32Array
export function applyGain(pcm: Int16Array, gainDb: number, envelope?: Float32Array): Int16Array
export function wavBytes(samples: Int16Array, sampleRate: number): Uint8Array
export function measureWavBuffer(buf: Uint8Array, file: string, plan?: GainPlan): ClipMeasurement
/** Integrated loudness and true peak (4x oversampled) of raw mono 16-bit little-endian PCM. */
export function measureRawBuffer(buf: Uint8Array, sampleRate: number): { integratedLufs: number; truePeakDb: number }
