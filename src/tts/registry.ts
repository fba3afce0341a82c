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
  /**
   * `briefcast doctor`'s question to the engine: can it be used with this config (credentials
   * present, model installed, runtime loads)? `fix` names the setting or command that fixes it.
   */
  check?(config: Config): Promise<EngineCheck>
}

export interface EngineCheck {
  ok: boolean
  detail: string
  fix?: string
}

/** Starts the engine, asks for its voices and closes it: the runtime loads and answers. */
async function startsAndLists(entry: Pick<EngineEntry, 'create'>, config: Config): Promise<EngineCheck> {
  const engine = await entry.create({ config, warmUp: false })
  try {
    const voices = await engine.listVoices(AbortSignal.timeout(30_000))
    return { ok: true, detail: `${voices.length} voices` }
  } finally {
    await engine.close()
  }
}

export const ENGINES = {
  'espeak-ng': {
    limits: { targetChars: 400, maxInputBytes: 100_000, ssml: true },
    create: async ({ config, warmUp }) => (await import('./espeak.ts')).createEspeakEngine({ workers: config.tts.espeakWorkers, warmUp, cacheDir: config.cacheDir }),
    check: (config) =>
      startsAndLists({ create: async () => (await import('./espeak.ts')).createEspeakEngine({ workers: 1, warmUp: false, cacheDir: config.cacheDir }) }, config),
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
    check: async (config) => {
      if (!config.google.keyFile && !process.env.GOOGLE_APPLICATION_CREDENTIALS && !config.google.apiEndpoint)
        return {
          ok: false,
          detail: 'no credentials',
          fix: 'set BRIEFCAST_GOOGLE_KEY_FILE (or GOOGLE_APPLICATION_CREDENTIALS) to a service-account key file',
        }
      // Creating the client checks the key file (exists, is a credentials JSON); no request is sent.
      const engine = await ENGINES.google.create({ config, warmUp: false })
      await engine.close()
      return { ok: true, detail: config.google.keyFile ? `key file ${config.google.keyFile}` : process.env.GOOGLE_APPLICATION_CREDENTIALS ? 'GOOGLE_APPLICATION_CREDENTIALS' : `endpoint ${config.google.apiEndpoint}` }
    },
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
