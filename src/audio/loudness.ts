/**
 * ITU-R BS.1770-4 integrated loudness of mono 16-bit PCM, in JS. Measuring a
 * clip this way costs a millisecond instead of an ffmpeg process per clip; in
 * the render pipeline it runs in a worker thread (loudness-worker.mjs) so the
 * event loop never waits. The DSP itself lives in loudness-dsp.mjs (plain JS,
 * so that worker needs no TypeScript loader).
 */
import { promises as fs } from 'node:fs'
import { AppError } from '../errors.ts'
import { measureWavBuffer, type ClipMeasurement, type GainPlan } from './loudness-dsp.mjs'

export { measurePcmLoudness, parseWavHeader, planGain } from './loudness-dsp.mjs'
export type { ClipMeasurement, GainPlan, PcmLoudness, WavPcm } from './loudness-dsp.mjs'

/** Reads a 16-bit PCM WAV and measures it (first channel if several); with `plan`, also the gain to apply. */
export async function measureWavFile(file: string, plan?: GainPlan): Promise<ClipMeasurement> {
  let buf: Buffer
  try {
    buf = await fs.readFile(file)
  } catch (err) {
    throw new AppError('INVALID_AUDIO', `Cannot read clip ${file}: ${(err as Error).message}`, { cause: err })
  }
  try {
    return measureWavBuffer(buf, file, plan)
  } catch (err) {
    throw (err as { code?: string }).code === 'INVALID_AUDIO' ? new AppError('INVALID_AUDIO', (err as Error).message, { cause: err }) : err
  }
}
