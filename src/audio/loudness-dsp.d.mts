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
  /** Find up to parts - 1 cut points for a parallel encode (`splits`, see splitPoints). */
  split?: SplitOptions & { parts: number }
}
export type ClipMeasurement = PcmLoudness & { sampleRate: number; samples: number; gainDb?: number; predictedLufs?: number; rendered?: Uint8Array; splits?: number[] }
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
/**
 * Cut points (44.1 kHz output samples, on MP3 frame boundaries, inside silences that absorb the next
 * part's encoder delay) for encoding a clip as separately encoded parts with an unchanged timeline.
 */
export function splitPoints(
  pcm: Int16Array,
  sampleRate: number,
  parts: number,
  options?: SplitOptions,
): number[]
export interface SplitOptions {
  /** Output sample rate (44100). */
  outRate?: number
  /** Samples per MP3 frame (1152). */
  frame?: number
  /** Output samples a cut replaces with encoder silence: the encoder delay plus the frame margin. */
  gap?: number
  /** Clip samples of silence required beyond the cut on each side (resampler spread). */
  guard?: number
  minPartSec?: number
  /** Largest |sample| that counts as silence. */
  threshold?: number
}
export function measureWavBuffer(buf: Uint8Array, file: string, plan?: GainPlan): ClipMeasurement
/** Integrated loudness and true peak (4x oversampled) of raw mono 16-bit little-endian PCM. */
export function measureRawBuffer(buf: Uint8Array, sampleRate: number): { integratedLufs: number; truePeakDb: number }
/** Integrated loudness and true peak of mono float samples in [-1, 1] (a decoder's output, unclipped). */
export function measureFloatPcm(samples: Float32Array, sampleRate: number): { integratedLufs: number; truePeakDb: number }
