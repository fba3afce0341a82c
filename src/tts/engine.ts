/**
 * The one interface every TTS engine implements. Everything after synthesis
 * depends only on Clip, never on the engine.
 */
export interface EngineCapabilities {
  ssml: boolean
  /** Hard limit for one request, UTF-8 bytes of text or SSML. */
  maxInputBytes: number
  /** Preferred segment size in characters. */
  targetChars: number
  /** BCP 47 tags or primary subtags the engine speaks. */
  languages: string[]
  /** The engine's natural output sample rate, Hz. */
  sampleRate: number
}

export interface Voice {
  engine: string
  /** Engine-specific voice name, e.g. 'en-us+f3' or 'en-US-Neural2-F'. */
  name: string
  languages: string[]
  gender?: 'male' | 'female' | 'neutral'
  sampleRate?: number
  /** A human name or note when `name` is an opaque id (ElevenLabs voice ids). */
  description?: string
}

export interface VoiceSettings {
  /** Engine voice name; or leave empty and give language (+ gender). */
  name?: string
  language: string
  gender?: 'male' | 'female' | 'neutral'
  /** Speaker id within a multi-speaker model (sherpa-onnx); 0 = the first. */
  speaker?: number
  /** 1.0 = normal. */
  rate?: number
  /** Semitones, -20..20; 0 = normal. */
  pitch?: number
  volumeGainDb?: number
  effectsProfileId?: string[]
  /** Engine model: OpenAI-compatible `model`, ElevenLabs `model_id`, Polly engine (standard|neural|long-form|generative). */
  model?: string
}

export interface SynthesisRequest {
  /** Plain text, or SSML when ssml is true. */
  text: string
  ssml?: boolean
  voice: VoiceSettings
}

export interface WordTiming {
  /** Character offset in the request text. */
  offset: number
  length: number
  startMs: number
}

export interface Clip {
  /** Mono 16-bit little-endian PCM, without header. */
  pcm: Buffer
  sampleRate: number
  durationMs: number
  /** Word timings when the engine reports them. */
  words?: WordTiming[]
  /** Sentence timings (offset/length of the sentence in the request text) when the engine reports them instead of words. */
  sentences?: WordTiming[]
  /** Characters the provider bills for this request (cloud engines only); counted per engine and month. */
  characters?: number
}

export interface TtsEngine {
  readonly id: string
  /** Changes when the engine's output for the same input may change; part of clip cache keys. */
  readonly version: string
  readonly capabilities: EngineCapabilities
  listVoices(signal?: AbortSignal): Promise<Voice[]>
  synthesize(req: SynthesisRequest, signal?: AbortSignal): Promise<Clip>
  /** Release workers, channels. */
  close(): Promise<void>
}
