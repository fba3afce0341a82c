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
}
export type ClipMeasurement = PcmLoudness & { sampleRate: number; samples: number; gainDb?: number; predictedLufs?: number }
export function measurePcmLoudness(samples: Float32Array | Int16Array, sampleRate: number): PcmLoudness
export function parseWavHeader(buf: Uint8Array, file?: string): WavPcm
export function planGain(
  pcm: Int16Array,
  sampleRate: number,
  targetLufs: number,
  ceilingDb: number,
  maxGainDb?: number,
  measured?: PcmLoudness,
): { gainDb: number; predictedLufs: number }
export function measureWavBuffer(buf: Uint8Array, file: string, plan?: GainPlan): ClipMeasurement
