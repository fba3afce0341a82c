/**
 * Minimal MPEG audio frame walker: counts the frames of a piece so timings
 * come from the real file (frames x 1152 samples), not from an estimate.
 */
import { promises as fs } from 'node:fs'

const BITRATES_V1_L3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]
const BITRATES_V2_L3 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0]
const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] }

export interface Mp3FrameHeader {
  /** 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5. */
  version: number
  bitrateKbps: number
  sampleRate: number
  samplesPerFrame: number
  /** Bytes of this frame, its padding byte included. */
  size: number
  padding: boolean
  mono: boolean
  crc: boolean
}

/** The Layer III frame header at `pos`, or undefined when there is none. */
export function parseFrameHeader(buf: Uint8Array, pos = 0): Mp3FrameHeader | undefined {
  if (pos + 4 > buf.length) return undefined
  const b1 = buf[pos + 1]!
  const b2 = buf[pos + 2]!
  if (buf[pos] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined
  const version = (b1 >> 3) & 3
  const layer = (b1 >> 1) & 3 // 1 = Layer III
  if (layer !== 1 || version === 1) return undefined
  const bitrateKbps = (version === 3 ? BITRATES_V1_L3 : BITRATES_V2_L3)[(b2 >> 4) & 15]!
  const sampleRate = RATES[version]![(b2 >> 2) & 3]
  if (!bitrateKbps || !sampleRate) return undefined
  const samplesPerFrame = version === 3 ? 1152 : 576
  const padding = ((b2 >> 1) & 1) === 1
  const size = Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRate) + (padding ? 1 : 0)
  return { version, bitrateKbps, sampleRate, samplesPerFrame, size, padding, mono: buf[pos + 3]! >> 6 === 3, crc: (b1 & 1) === 0 }
}

export interface Mp3Frames {
  frames: number
  sampleRate: number
  samplesPerFrame: number
  /** Samples of all frames (no gapless trimming: what a decoder of concatenated frames plays). */
  samples: number
  durationMs: number
}

function skipId3(buf: Uint8Array): number {
  if (buf.length >= 10 && buf[0] === 0x49 && buf[1] === 0x44 && buf[2] === 0x33) {
    const size = ((buf[6]! & 0x7f) << 21) | ((buf[7]! & 0x7f) << 14) | ((buf[8]! & 0x7f) << 7) | (buf[9]! & 0x7f)
    return 10 + size + (buf[5]! & 0x10 ? 10 : 0)
  }
  return 0
}

/** Counts Layer III frames; returns undefined when the data is not a clean MP3 frame sequence. */
export function countMp3Frames(buf: Uint8Array): Mp3Frames | undefined {
  let pos = skipId3(buf)
  let frames = 0
  let sampleRate = 0
  let samplesPerFrame = 0
  while (pos + 4 <= buf.length) {
    const h = parseFrameHeader(buf, pos)
    if (!h || pos + h.size > buf.length) return undefined
    sampleRate = h.sampleRate
    samplesPerFrame = h.samplesPerFrame
    frames++
    pos += h.size
  }
  if (frames === 0) return undefined
  const samples = frames * samplesPerFrame
  return { frames, sampleRate, samplesPerFrame, samples, durationMs: (samples * 1000) / sampleRate }
}

export async function readMp3Frames(file: string): Promise<Mp3Frames | undefined> {
  return countMp3Frames(await fs.readFile(file))
}
