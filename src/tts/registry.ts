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

/**
 * Languages the multilingual cloud models speak (primary subtags). OpenAI's TTS
 * follows Whisper's languages; ElevenLabs' multilingual v2 lists 29.
 */
export const OPENAI_LANGUAGES = [
  'af', 'ar', 'hy', 'az', 'be', 'bs', 'bg', 'ca', 'zh', 'hr', 'cs', 'da', 'nl', 'en', 'et', 'fi', 'fr', 'gl', 'de', 'el', 'he', 'hi', 'hu', 'is', 'id',
  'it', 'ja', 'kn', 'kk', 'ko', 'lv', 'lt', 'mk', 'ms', 'mr', 'mi', 'ne', 'no', 'fa', 'pl', 'pt', 'ro', 'ru', 'sr', 'sk', 'sl', 'es', 'sw', 'sv',
  'tl', 'ta', 'th', 'tr', 'uk', 'ur', 'vi', 'cy',
]
export const ELEVENLABS_LANGUAGES = [
  'en', 'ja', 'zh', 'de', 'hi', 'fr', 'ko', 'pt', 'it', 'es', 'id', 'nl', 'tr', 'fil', 'pl', 'sv', 'bg', 'ro', 'ar', 'cs', 'el', 'fi', 'hr', 'ms', 'sk', 'da', 'ta', 'uk', 'ru',
]
/** Languages Amazon Polly has voices for (primary subtags); listVoices() gives the live list. */
export const POLLY_LANGUAGES = [
  'ar', 'ca', 'cmn', 'cs', 'cy', 'da', 'de', 'en', 'es', 'fi', 'fr', 'hi', 'is', 'it', 'ja', 'ko', 'nb', 'nl', 'pl', 'pt', 'ro', 'ru', 'sv', 'tr', 'yue', 'zh',
]

export interface EngineEntry {
  /**
   * Limits known without starting the engine: the one place they are declared
   * (engines build their capabilities from them; the speech service plans
   * segments and refuses oversized input with them).
   */
  limits: { targetChars: number; maxInputBytes: number; ssml: boolean }
  /** Primary language subtags, when known without starting the engine (else asked after start). */
  languages?: readonly string[]
  /** A cloud engine: bills by characters (counted per month), needs credentials, sends text off the machine. */
  cloud?: boolean
  /** For cloud engines: whether credentials or an endpoint are configured, so `briefcast voices` asks it; else what to set. */
  configured?(config: Config): true | string
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
    // A whole article fits in one call; segments are kept far smaller for parallelism and caching.
    limits: { targetChars: 400, maxInputBytes: 100_000, ssml: true },
    create: async ({ config, warmUp }) => (await import('./espeak.ts')).createEspeakEngine({ workers: config.tts.espeakWorkers, warmUp, cacheDir: config.cacheDir }),
    check: (config) =>
      startsAndLists({ create: async () => (await import('./espeak.ts')).createEspeakEngine({ workers: 1, warmUp: false, cacheDir: config.cacheDir }) }, config),
  },
  google: {
    // https://cloud.google.com/text-to-speech/quotas: 5000 bytes of text or SSML per request.
    limits: { targetChars: 1500, maxInputBytes: 5000, ssml: true },
    languages: GOOGLE_LANGUAGES,
    cloud: true,
    configured: (config) =>
      config.google.keyFile || process.env.GOOGLE_APPLICATION_CREDENTIALS || config.google.apiEndpoint ? true : 'not configured (set BRIEFCAST_GOOGLE_KEY_FILE or GOOGLE_APPLICATION_CREDENTIALS)',
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
  openai: {
    // https://platform.openai.com/docs/api-reference/audio/createSpeech: input of at most 4096 characters
    // (as bytes: never more characters than bytes). No SSML.
    limits: { targetChars: 1500, maxInputBytes: 4096, ssml: false },
    languages: OPENAI_LANGUAGES,
    cloud: true,
    configured: (config) =>
      config.openai.apiKey || !/(^|\.)openai\.com(\/|:|$)/i.test(new URL(config.openai.baseUrl).host) ? true : 'not configured (set OPENAI_API_KEY, or BRIEFCAST_OPENAI_BASE_URL for a self-hosted server)',
    create: async ({ config, logger }) => (await import('./openai.ts')).createOpenAiEngine({ ...config.openai, logger }),
  },
  polly: {
    // https://docs.aws.amazon.com/polly/latest/dg/limits.html: 3000 billed characters (6000 with SSML tags) per request.
    limits: { targetChars: 1500, maxInputBytes: 3000, ssml: true },
    languages: POLLY_LANGUAGES,
    cloud: true,
    configured: (config) =>
      (config.polly.accessKeyId && config.polly.secretAccessKey) || config.polly.endpoint || process.env.AWS_PROFILE || process.env.AWS_WEB_IDENTITY_TOKEN_FILE || process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI || process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
        ? true
        : 'not configured (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)',
    create: async ({ config, logger }) => (await import('./polly.ts')).createPollyEngine({ ...config.polly, logger }),
  },
  elevenlabs: {
    // https://elevenlabs.io/docs/models: eleven_multilingual_v2 takes 10,000 characters per request; v3 takes 5,000.
    limits: { targetChars: 1500, maxInputBytes: 5000, ssml: false },
    languages: ELEVENLABS_LANGUAGES,
    cloud: true,
    configured: (config) => (config.elevenlabs.apiKey ? true : 'not configured (set ELEVENLABS_API_KEY)'),
    create: async ({ config, logger }) => (await import('./elevenlabs.ts')).createElevenLabsEngine({ ...config.elevenlabs, logger }),
  },
} satisfies Record<string, EngineEntry>

export type EngineId = keyof typeof ENGINES

export const ENGINE_IDS = Object.keys(ENGINES) as EngineId[]

/** The offline engine every language falls back to. */
export const DEFAULT_ENGINE: EngineId = 'espeak-ng'
