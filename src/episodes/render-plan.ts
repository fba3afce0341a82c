/**
 * Render stage 1, plan the pieces: what the episode is made of (intro jingle, one piece per script
 * segment, outro jingle), the cache key of each piece, and the frame arithmetic every piece follows
 * (a piece is a whole number of MP3 frames, its speech ending inside them with room for the
 * encoder's delay). Pure functions; the other stages are render-level.ts (synthesize and level),
 * render-encode.ts (encode and measure) and render-assemble.ts (the file, tags and sidecars).
 */
import path from 'node:path'
import type { Config } from '../config.ts'
import { ENCODER_DELAY, SAMPLE_RATE, SAMPLES_PER_FRAME } from '../audio/ffmpeg.ts'
import type { Segment, Script } from '../script/types.ts'
import type { VoiceProfile } from '../tts/types.ts'
import { sha256 } from '../util/files.ts'

/** Bumped when piece encoding changes, so old cached pieces are not reused. */
export const PIECE_VERSION = 'piece-v4'
/** Samples short of the frame boundary we aim for: libmp3lame adds a frame when the input ends within ~30 samples of it. */
export const FRAME_MARGIN = 64
export const JINGLE_GAP_MS = 400

export type Item = { kind: 'segment'; segment: Segment; segmentIndex: number } | { kind: 'jingle'; which: 'intro' | 'outro'; file: string }

export const msOf = (samples: number) => (samples * 1000) / SAMPLE_RATE
export const samplesOfMs = (ms: number) => Math.round((Math.max(0, ms) * SAMPLE_RATE) / 1000)

/** Frame-aligned encoder input length for `contentSamples` followed by `pauseSamples` of silence. */
export function frameAlignedLength(contentSamples: number, pauseSamples: number): number {
  const minFrames = Math.ceil((contentSamples + ENCODER_DELAY + FRAME_MARGIN) / SAMPLES_PER_FRAME)
  const frames = Math.max(minFrames, Math.round((contentSamples + pauseSamples) / SAMPLES_PER_FRAME))
  return frames * SAMPLES_PER_FRAME - ENCODER_DELAY - FRAME_MARGIN
}

export function resolveJingle(config: Config, file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(config.voicesDir, file)
}

/** The pieces of an episode, in order: the profile's intro, every segment, its outro. */
export function planItems(script: Script, profile: VoiceProfile, config: Config): Item[] {
  return [
    ...(profile.intro ? [{ kind: 'jingle' as const, which: 'intro' as const, file: resolveJingle(config, profile.intro) }] : []),
    ...script.segments.map((segment, segmentIndex) => ({ kind: 'segment' as const, segment, segmentIndex })),
    ...(profile.outro ? [{ kind: 'jingle' as const, which: 'outro' as const, file: resolveJingle(config, profile.outro) }] : []),
  ]
}

/** What changes every piece's bytes: part of every piece key and of the episode hash. */
export function encoderSettingsOf(audio: Config['audio']): string {
  return `${audio.bitrateKbps}k|${audio.targetLufs}|${audio.truePeakDb}|${SAMPLE_RATE}`
}

/** A speech piece is its clip (by the clip's own content key), its pause and the encoder settings. */
export function speechPieceKey(clipKey: string, pauseAfterMs: number, encoderSettings: string): string {
  return sha256(PIECE_VERSION, clipKey, String(pauseAfterMs), encoderSettings)
}

/** A jingle piece is its file (path, size, modification time), its place and the encoder settings. */
export function jinglePieceKey(which: 'intro' | 'outro', file: string, stat: { size: number; mtimeMs: number }, encoderSettings: string): string {
  return sha256(PIECE_VERSION, 'jingle', which, file, String(stat.size), String(stat.mtimeMs), encoderSettings)
}
