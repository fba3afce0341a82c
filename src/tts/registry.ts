/**
 * The typed engine registry. Each entry knows its static limits (so segment
 * sizes can be planned without starting an engine) and how to create the
 * engine; the module behind it is imported only then, so a vendor SDK loads
 * only when a profile actually uses that engine.
 */
import type { Config } from '../config.ts'
import type { TtsEngine } from './engine.ts'

export interface EngineContext {
  config: Config
  logger?: { warn(obj: object, msg?: string): void; info?(obj: object, msg?: string): void }
}

export interface EngineEntry {
  /** Limits known without starting the engine. */
  limits: { targetChars: number; maxInputBytes: number; ssml: boolean }
  create(ctx: EngineContext): Promise<TtsEngine>
}

export const ENGINES = {
  'espeak-ng': {
    limits: { targetChars: 400, maxInputBytes: 100_000, ssml: true },
    create: async ({ config }) => (await import('./espeak.ts')).createEspeakEngine({ workers: config.tts.espeakWorkers }),
  },
  google: {
    limits: { targetChars: 1500, maxInputBytes: 5000, ssml: true },
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
} satisfies Record<string, EngineEntry>

export type EngineId = keyof typeof ENGINES

export const ENGINE_IDS = Object.keys(ENGINES) as EngineId[]

/** The offline engine every language falls back to. */
export const DEFAULT_ENGINE: EngineId = 'espeak-ng'
