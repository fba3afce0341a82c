/**
 * The typed engine registry. Each entry knows its static limits (so segment
 * sizes can be planned without starting an engine) and how to create the
 * engine; the module behind it is imported only then, so a vendor SDK loads
 * only when a profile actually uses that engine.
 */
import type { Config } from '../config.ts'
import type { WarmUp } from './espeak-prestart.ts'
import type { TtsEngine } from './engine.ts'
// Only the limits (plain data): the engine module itself is imported when a profile uses it.
import { SHERPA_LIMITS } from './sherpa-limits.ts'

export interface EngineContext {
  config: Config
  logger?: { warn(obj: object, msg?: string): void; info?(obj: object, msg?: string): void }
  /** Warm local engines up while idle (default true; one-shot CLI commands: false). */
  warmUp?: WarmUp
}

/** Languages Google TTS offers voices for (primary subtags); listVoices() gives the live list. */
export const GOOGLE_LANGUAGES = [
  'af', 'am', 'ar', 'bg', 'bn', 'ca', 'cmn', 'cs', 'cy', 'da', 'de', 'el', 'en', 'es', 'et', 'eu', 'fi', 'fil', 'fr', 'ga', 'gl', 'gu',
  'he', 'hi', 'hr', 'hu', 'id', 'is', 'it', 'ja', 'kn', 'ko', 'lt', 'lv', 'ml', 'mr', 'ms', 'nb', 'nl', 'pa', 'pl', 'pt', 'ro', 'ru',
  'sk', 'sl', 'sr', 'sv', 'sw', 'ta', 'te', 'th', 'tr', 'uk', 'ur', 'vi', 'yue', 'zh',
]

export interface EngineEntry {
  /** Limits known without starting the engine. */
  limits: { targetChars: number; maxInputBytes: number; ssml: boolean }
  /** Primary language subtags, when known without starting the engine (else asked after start). */
  languages?: readonly string[]
  create(ctx: EngineContext): Promise<TtsEngine>
}

export const ENGINES = {
  'espeak-ng': {
    limits: { targetChars: 400, maxInputBytes: 100_000, ssml: true },
    create: async ({ config, warmUp }) => (await import('./espeak.ts')).createEspeakEngine({ workers: config.tts.espeakWorkers, warmUp, cacheDir: config.cacheDir }),
  },
  google: {
    limits: { targetChars: 1500, maxInputBytes: 5000, ssml: true },
    languages: GOOGLE_LANGUAGES,
    create: async ({ config, logger }) =>
      (await import('./google.ts')).createGoogleEngine({
        keyFile: config.google.keyFile,
        projectId: config.google.projectId,
        apiEndpoint: config.google.apiEndpoint,
        port: config.google.port,
        requestsPerMinute: config.google.requestsPerMinute,
        maxRetries: config.google.maxRetries,
        logger,
      }),
  },
  'sherpa-onnx': {
    limits: { targetChars: SHERPA_LIMITS.targetChars, maxInputBytes: SHERPA_LIMITS.maxInputBytes, ssml: SHERPA_LIMITS.ssml },
    create: async ({ config }) => (await import('./sherpa.ts')).createSherpaEngine({ modelsDir: config.models.dir, workers: config.tts.sherpaWorkers }),
  },
} satisfies Record<string, EngineEntry>

export type EngineId = keyof typeof ENGINES

export const ENGINE_IDS = Object.keys(ENGINES) as EngineId[]

/** The offline engine every language falls back to. */
export const DEFAULT_ENGINE: EngineId = 'espeak-ng'
