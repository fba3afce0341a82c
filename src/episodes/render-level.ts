/**
 * Render stage 2, synthesize and level: a segment's clip from the speech service, then measured and
 * written again with its gain and true-peak limiter applied (the loudness worker,
 * src/audio/loudness-meter.ts), cut into parts at pauses when several encoder slots are idle.
 * Stage 3 (render-encode.ts) encodes what this writes.
 */
import { AppError, throwIfAborted } from '../errors.ts'
import { ENCODER_DELAY, SAMPLE_RATE, SAMPLES_PER_FRAME } from '../audio/ffmpeg.ts'
import type { LoudnessMeter } from '../audio/loudness-meter.ts'
import type { Segment } from '../script/types.ts'
import type { CachedClip, SpeechService, VoiceProfile } from '../tts/types.ts'
import { FRAME_MARGIN } from './render-plan.ts'

/** Headroom between the limiter's true-peak ceiling and the true-peak target: resampling and MP3 coding add overshoot. */
export const LIMITER_HEADROOM_DB = 1.3
/**
 * The gain and limiter are applied in JS (loudness-dsp.mjs), so the planned loudness is exactly the leveled
 * clip's; MP3 coding then takes ~0.45 LU off it (measured on espeak-ng clips at 32-128 kbps: the leveled WAV
 * -16.0 LUFS, the encoded piece -16.5), so aim that much higher.
 */
export const LIMITER_BIAS_LU = 0.45

/** The segment's clip: from the clip cache or synthesized now (the speech service has its own worker pool). */
export async function synthesizeClip(speech: SpeechService, segment: Segment, profile: VoiceProfile, signal: AbortSignal): Promise<CachedClip> {
  const clip = await speech.synthesizeSegment(segment, profile, signal)
  throwIfAborted(signal)
  return clip
}

export interface LevelRequest {
  /** The clip (16-bit WAV, any rate). */
  wavPath: string
  /** For error messages. */
  segmentId: string
  targetLufs: number
  /** The limiter's true-peak ceiling, dBTP. */
  ceilingDb: number
  /** The pause after the clip, ms (silence the piece ends with). */
  padMs: number
  /** Where the leveled clip is written (WAV at the clip's rate). */
  output: string
  /** Encoder slots idle now: a clip may be cut into that many parts (1 = whole). */
  parts: number
}

export interface LeveledClip {
  /** The clip's length in 44.1 kHz samples (its speech, without the pause). */
  content: number
  /** Where each part starts, in 44.1 kHz samples of the piece (first 0); cuts are on frame boundaries inside silence. */
  starts: number[]
}

/** Measures the clip, writes it leveled to `output` (aiming LIMITER_BIAS_LU above the target) and plans its parts. */
export async function levelClip(meter: LoudnessMeter, req: LevelRequest): Promise<LeveledClip> {
  const m = await meter
    .measure(req.wavPath, {
      targetLufs: req.targetLufs + LIMITER_BIAS_LU,
      ceilingDb: req.ceilingDb,
      padMs: req.padMs,
      output: req.output,
      ...(req.parts > 1 ? { split: { parts: req.parts, outRate: SAMPLE_RATE, frame: SAMPLES_PER_FRAME, gap: ENCODER_DELAY + FRAME_MARGIN } } : {}),
    })
    .catch((err: unknown) => {
      throw err instanceof AppError && err.code === 'INVALID_AUDIO'
        ? new AppError('INVALID_AUDIO', `The clip for segment ${req.segmentId} is unreadable: ${err.message}`, { cause: err })
        : err
    })
  return { content: Math.round((m.samples * SAMPLE_RATE) / m.sampleRate), starts: [0, ...(m.splits ?? [])] }
}
