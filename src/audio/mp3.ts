/**
 * Minimal MPEG audio frame walker: counts the frames of a piece so timings
 * come from the real file (frames x 1152 samples), not from an estimate.
 */
import { promises as fs } from 'node:fs'

/** Layer III bitrates (kbps) by header index: MPEG-1, and MPEG-2/2.5. */
export const BITRATES_V1_L3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]
export const BITRATES_V2_L3 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0]
/** Sample rates by version bits (3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5) and header index. */
export const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] }

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
    const b1 = buf[pos + 1]!
    const b2 = buf[pos + 2]!
    if (buf[pos] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined
    const version = (b1 >> 3) & 3 // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    const layer = (b1 >> 1) & 3 // 1 = Layer III
    if (layer !== 1 || version === 1) return undefined
    const bitrate = (version === 3 ? BITRATES_V1_L3 : BITRATES_V2_L3)[(b2 >> 4) & 15]!
    const rate = RATES[version]![(b2 >> 2) & 3]
    if (!bitrate || !rate) return undefined
    const spf = version === 3 ? 1152 : 576
    const size = Math.floor(((spf / 8) * bitrate * 1000) / rate) + ((b2 >> 1) & 1)
    if (pos + size > buf.length) return undefined
    sampleRate = rate
    samplesPerFrame = spf
    frames++
    pos += size
  }
  if (frames === 0) return undefined
  const samples = frames * samplesPerFrame
  return { frames, sampleRate, samplesPerFrame, samples, durationMs: (samples * 1000) / sampleRate }
}

export async function readMp3Frames(file: string): Promise<Mp3Frames | undefined> {
  return countMp3Frames(await fs.readFile(file))
}
