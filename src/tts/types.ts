import type { Segment, SegmentKind, VoiceRole } from '../script/types.ts'
import type { VoiceSettings, WordTiming } from './engine.ts'

/** A voice profile, loaded from voices/<id>.json and validated at start-up. */
export interface VoiceProfile {
  id: string
  /** Engine id from the registry, e.g. 'espeak-ng' or 'google'. */
  engine: string
  /** BCP 47 tag of the language the profile speaks. */
  language: string
  description?: string
  /** What `briefcast voices install` takes to install the model the profile needs (local neural engine). */
  install?: string
  /** Voice per role; roles not given fall back to body. */
  voices: { body: VoiceSettings } & Partial<Record<Exclude<VoiceRole, 'body'>, VoiceSettings>>
  /** Speaking rate for every role that sets none (1.0 = normal). Added by issue 3. */
  rate?: number
  /** Silence after each segment kind, ms. */
  pauses: Record<SegmentKind, number>
  /** Preferred segment size in characters (defaults to the engine's). */
  targetChars?: number
  /** Lexicon name: voices/lexicon/<name>.json (defaults to the language's primary subtag). */
  lexicon?: string
  /** Jingles: audio files, relative to the voices directory or absolute. */
  intro?: string
  outro?: string
}

/** A synthesized clip stored in the clip cache (audio-cache/clips/<key>.wav). */
export interface CachedClip {
  /** Cache key: hash of engine, engine version, voice settings and spoken text (lexicon applied). */
  key: string
  /** Path of a complete mono 16-bit PCM WAV file. */
  wavPath: string
  sampleRate: number
  durationMs: number
  words?: WordTiming[]
  /** Sentence timings, from engines that report sentences rather than words (sherpa-onnx). */
  sentences?: WordTiming[]
  /** True when served from the cache without an engine call. */
  cached: boolean
}

/** The TTS facade the render pipeline uses: profiles + engines + clip cache. */
export interface SpeechService {
  /** A profile by id; UNKNOWN_PROFILE if absent. */
  getProfile(id: string): VoiceProfile
  /** The profile for a language: a profile whose language matches, else the default engine's voice for it; UNSUPPORTED_LANGUAGE if none. */
  profileForLanguage(language: string): VoiceProfile
  listProfiles(): VoiceProfile[]
  /** Engine limits for a profile (segment sizes). */
  limitsFor(profile: VoiceProfile): { targetChars: number; maxBytes: number }
  /** Synthesize (or fetch from cache) one segment with the profile's voice for its role. */
  synthesizeSegment(segment: Segment, profile: VoiceProfile, signal?: AbortSignal): Promise<CachedClip>
  close(): Promise<void>
}
