/**
 * The SpeechService facade: voice profiles + engine registry + clip cache.
 * This is what the render pipeline, the CLI and the HTTP layer use; engines
 * and the cache are details behind it.
 */
import path from 'node:path'
import type { Config } from '../config.ts'
import { AppError, isAppError } from '../errors.ts'
import { voiceRoleFor, type Lexicon, type Segment, type VoiceRole } from '../script/types.ts'
import { sha256 } from '../util/files.ts'
import type { BlobStore } from '../storage/types.ts'
import { ClipCache } from './clip-cache.ts'
import type { TtsEngine, Voice, VoiceSettings } from './engine.ts'
import type { EspeakEngine } from './espeak.ts'
import { lexiconFileExists, lexiconFor as loadProfileLexicon, lexiconNameFor, speakWithLexicon } from './lexicon.ts'
import { DEFAULT_ENGINE, ENGINES, type EngineEntry } from './registry.ts'
import type { WarmUp } from './espeak-prestart.ts'
import type { CachedClip, SpeechService, VoiceProfile } from './types.ts'
import { DEFAULT_PAUSES, invalidProfilesError, readProfiles } from './voices.ts'
import { primaryLanguage } from '../script/language.ts'

export { wavFromPcm, readWavHeader, checkWavFile, pcmFromWav, pcmDurationMs, type WavHeader } from './wav.ts'
export { ENGINES, ENGINE_IDS, DEFAULT_ENGINE, type EngineId, type EngineEntry, type EngineContext } from './registry.ts'
export { ClipCache } from './clip-cache.ts'
export type { CachedClip, SpeechService, VoiceProfile } from './types.ts'

export interface SpeechLogger {
  warn(obj: object, msg?: string): void
  info?(obj: object, msg?: string): void
}

export interface EngineCallInfo {
  engine: string
  key: string
  voice: VoiceSettings
  text: string
  /** True when this call is the configured fallback for a failed engine. */
  fallback: boolean
}

export interface SpeechServiceOptions {
  /** Replace or add registry entries (tests point 'google' at a local gRPC server). */
  engines?: Record<string, EngineEntry>
  logger?: SpeechLogger
  /** Called for every engine synthesis call (cache misses only). */
  onEngineCall?: (info: EngineCallInfo) => void
  /** Warm local engines up while idle (default true): right for a service; one-shot commands pass false. */
  warmUp?: WarmUp
  /** Called after each successful cloud-engine call with the characters the provider bills (see tts/usage.ts). */
  onUsage?: (usage: EngineUsage) => void
  /** Object storage shared by every worker: the clip cache reads through and writes through to it (src/storage). */
  blobs?: BlobStore
}

export interface EngineUsage {
  engine: string
  characters: number
}

export interface SpeechServiceStats {
  /** Synthesis calls that reached an engine. */
  engineCalls: number
  /** Requests served from the clip cache or by joining an in-flight synthesis. */
  cacheHits: number
  cacheMisses: number
  /** Clips made by the fallback engine after a cloud engine failed. */
  fallbacks: number
}

/** The SpeechService plus what the CLI, tests and benches need. */
export interface BriefcastSpeechService extends SpeechService {
  readonly stats: Readonly<SpeechServiceStats>
  readonly cache: ClipCache
  /** Registered engine ids. */
  listEngines(): string[]
  /** The engine instance (started on first use). */
  engine(id: string): Promise<TtsEngine>
  /** Voices of an engine; UNKNOWN_ENGINE if it is not registered. */
  listVoices(engineId: string, signal?: AbortSignal): Promise<Voice[]>
  /** The voice settings a segment is spoken with under a profile. */
  voiceFor(segment: Pick<Segment, 'kind' | 'voiceRole'>, profile: VoiceProfile): VoiceSettings
  /**
   * Whether the segment's clip is in the local clip cache under the profile's own engine, as
   * synthesizeSegment would look it up (lexicon applied), without using or reading it: what a render is
   * about to synthesize (the CLI sizes its WebAssembly tier by it, src/cli/wasm-tier.ts).
   */
  hasClip(segment: Segment, profile: VoiceProfile): Promise<boolean>
  /** Synthesize arbitrary text with a profile's voice for a role (the `say` command). */
  synthesizeText(text: string, profile: VoiceProfile, options?: { role?: VoiceRole; ssml?: boolean; signal?: AbortSignal }): Promise<CachedClip>
  /**
   * Use this lexicon for every profile whose lexicon name is `name`, instead of
   * voices/lexicon/<name>.json (the service keeps editable lexicons in its database).
   */
  useLexicon(name: string, lexicon: Lexicon): void
  /** The lexicon a profile speaks with now. */
  lexiconFor(profile: VoiceProfile): Lexicon
}

const FALLBACK_CODES = new Set(['ENGINE_UNAVAILABLE', 'ENGINE_FAILED', 'RATE_LIMITED', 'MISSING_CREDENTIALS', 'ENGINE_AUTH_FAILED', 'QUOTA_EXCEEDED'])
const AUTO_PREFIX = 'auto-'

/** Voice settings without undefined fields and with sorted keys: the same voice always hashes the same. */
function canonicalVoice(voice: VoiceSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(voice).sort()) {
    const v = (voice as unknown as Record<string, unknown>)[k]
    if (v !== undefined) out[k] = v
  }
  return out
}

/**
 * Clip cache key: engine, engine version, voice settings and the text as spoken
 * (lexicon already applied) or SSML. Not the lexicon's version: a lexicon edit
 * then re-synthesizes only the segments whose spoken text it changes.
 */
export function clipKey(engine: Pick<TtsEngine, 'id' | 'version'>, voice: VoiceSettings, text: string, ssml: boolean): string {
  return sha256(JSON.stringify({ engine: engine.id, version: engine.version, voice: canonicalVoice(voice), ssml, text }))
}

function withProfile(err: unknown, profile: VoiceProfile): AppError {
  if (!isAppError(err)) return new AppError('ENGINE_FAILED', `Voice profile "${profile.id}": ${(err as Error)?.message ?? String(err)}`, { cause: err })
  if (err.code === 'ABORTED' || err.message.includes(`"${profile.id}"`)) return err
  const details = typeof err.details === 'object' && err.details !== null ? { ...err.details, profile: profile.id } : { profile: profile.id }
  return new AppError(err.code, `Voice profile "${profile.id}": ${err.message}`, { cause: err.cause ?? err, details, help: err.help, status: err.status })
}

export async function createSpeechService(config: Config, options: SpeechServiceOptions = {}): Promise<BriefcastSpeechService> {
  const entries: Record<string, EngineEntry> = { ...ENGINES, ...options.engines }
  const logger = options.logger
  const { profiles, problems } = await readProfiles(config.voicesDir)
  const lexicons = new Map<string, Lexicon>()

  for (const profile of profiles.values()) {
    const file = path.join(config.voicesDir, `${profile.id}.json`)
    if (!entries[profile.engine]) problems.push(`${file}: engine: unknown engine "${profile.engine}" (known: ${Object.keys(entries).join(', ')})`)
    if (profile.lexicon && !lexiconFileExists(config.voicesDir, profile.lexicon)) {
      problems.push(`${file}: lexicon: ${path.join(config.voicesDir, 'lexicon', `${profile.lexicon}.json`)} does not exist`)
      continue
    }
    try {
      lexicons.set(profile.id, loadProfileLexicon(config.voicesDir, profile))
    } catch (err) {
      problems.push(`${file}: lexicon "${lexiconNameFor(profile)}": ${(err as Error).message}`)
    }
  }
  const neural = [...profiles.values()].filter((p) => p.engine === 'sherpa-onnx')
  if (neural.length > 0) {
    const { listInstalledModels, sherpaProfileProblems } = await import('./models.ts')
    const installed = await listInstalledModels(config.models.dir)
    for (const profile of neural) problems.push(...sherpaProfileProblems(profile, path.join(config.voicesDir, `${profile.id}.json`), installed, config.models.dir))
  }
  if (!profiles.has(config.defaultVoice))
    problems.push(`${path.join(config.voicesDir, `${config.defaultVoice}.json`)}: missing: the default voice profile (defaultVoice / BRIEFCAST_DEFAULT_VOICE) does not exist`)

  const engines = new Map<string, Promise<TtsEngine>>()
  const engine = (id: string): Promise<TtsEngine> => {
    const entry = entries[id]
    if (!entry) return Promise.reject(new AppError('UNKNOWN_ENGINE', `Unknown engine "${id}" (known: ${Object.keys(entries).join(', ')}).`, { details: { engine: id } }))
    let p = engines.get(id)
    if (!p) {
      p = entry.create({ config, logger, warmUp: options.warmUp })
      engines.set(id, p)
      // A failed start (e.g. missing credentials) is not remembered: fixing it must not need a restart.
      p.catch(() => engines.get(id) === p && engines.delete(id))
    }
    return p
  }

  // The offline engine starts now: it is warm before the first request and it answers
  // "which languages can be spoken" for profile checks and language fallbacks.
  let espeak: EspeakEngine | undefined
  if (entries[DEFAULT_ENGINE]) {
    try {
      espeak = (await engine(DEFAULT_ENGINE)) as EspeakEngine
    } catch (err) {
      problems.push(`engine ${DEFAULT_ENGINE}: could not start (${(err as Error).message})`)
    }
  }
  if (espeak && typeof espeak.speaks === 'function') {
    for (const profile of profiles.values()) {
      if (profile.engine !== DEFAULT_ENGINE) continue
      const file = path.join(config.voicesDir, `${profile.id}.json`)
      for (const [role, voice] of Object.entries(profile.voices)) {
        if (!voice) continue
        const [base, variant] = (voice.name ?? voice.language).toLowerCase().split('+') as [string, string | undefined]
        if (!espeak.speaks(base)) problems.push(`${file}: voices.${role}.${voice.name ? 'name' : 'language'}: espeak-ng has no voice "${base}"`)
        else if (variant && espeak.variants.length > 0 && !espeak.variants.includes(variant))
          problems.push(`${file}: voices.${role}.name: espeak-ng has no variant "${variant}"`)
      }
    }
  }

  if (problems.length > 0) {
    await Promise.allSettled([...engines.values()].map(async (p) => (await p).close()))
    throw invalidProfilesError(problems)
  }

  const cache = new ClipCache({ dir: path.join(config.cacheDir, 'clips'), maxBytes: config.cache.maxBytes, logger, ...(options.blobs ? { remote: options.blobs } : {}) })
  const stats: SpeechServiceStats = { engineCalls: 0, cacheHits: 0, cacheMisses: 0, fallbacks: 0 }
  const derived = new Map<string, VoiceProfile>()
  const defaultProfile = profiles.get(config.defaultVoice)!

  function deriveProfile(language: string): VoiceProfile | undefined {
    const tag = language.toLowerCase()
    const id = `${AUTO_PREFIX}${tag}`
    const existing = derived.get(id)
    if (existing) return existing
    const engineId = defaultProfile.engine
    let profile: VoiceProfile | undefined
    const limits = entries[engineId]
    if (engineId === DEFAULT_ENGINE ? espeak?.speaks(tag) : limits && engineSpeaksStatic(engineId, tag)) {
      profile = { ...defaultProfile, id, engine: engineId, language, description: `${engineId} voice for ${language} (no profile for this language)`, voices: { body: { language } } }
    } else if (espeak?.speaks(tag)) {
      profile = { ...defaultProfile, id, engine: DEFAULT_ENGINE, language, description: `espeak-ng voice for ${language} (no profile for this language)`, voices: { body: { language } } }
    }
    if (profile) {
      delete profile.lexicon
      derived.set(id, profile)
    }
    return profile
  }

  function engineSpeaksStatic(engineId: string, tag: string): boolean {
    if (engineId === DEFAULT_ENGINE) return !!espeak?.speaks(tag)
    const languages = entries[engineId]?.languages
    return !!languages && languages.includes(primaryLanguage(tag))
  }

  function getProfile(id: string): VoiceProfile {
    const p = profiles.get(id) ?? derived.get(id) ?? (id.startsWith(AUTO_PREFIX) ? deriveProfile(id.slice(AUTO_PREFIX.length)) : undefined)
    if (!p) throw new AppError('UNKNOWN_PROFILE', `There is no voice profile "${id}" (have: ${[...profiles.keys()].join(', ')}).`, { details: { profile: id } })
    return p
  }

  function profileForLanguage(language: string): VoiceProfile {
    const tag = language.trim().toLowerCase()
    if (!/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/.test(tag))
      throw new AppError('UNSUPPORTED_LANGUAGE', `"${language}" is not a language tag (expected e.g. "en" or "de-AT").`, { details: { language } })
    const all = [...profiles.values()]
    const rank = (p: VoiceProfile) => (p.id === defaultProfile.id ? 0 : p.engine === defaultProfile.engine ? 1 : 2)
    const exact = all.filter((p) => p.language.toLowerCase() === tag).sort((a, b) => rank(a) - rank(b))
    if (exact[0]) return exact[0]
    const primary = primaryLanguage(tag)
    const samePrimary = all.filter((p) => primaryLanguage(p.language) === primary).sort((a, b) => rank(a) - rank(b))
    if (samePrimary[0]) return samePrimary[0]
    const auto = deriveProfile(tag)
    if (auto) return auto
    throw new AppError('UNSUPPORTED_LANGUAGE', `No voice profile and no engine speaks "${language}"; add a voices/<id>.json profile for it.`, {
      details: { language },
    })
  }

  function limitsFor(profile: VoiceProfile): { targetChars: number; maxBytes: number } {
    const entry = entries[profile.engine]
    if (!entry) throw new AppError('UNKNOWN_ENGINE', `Voice profile "${profile.id}" names unknown engine "${profile.engine}".`, { details: { profile: profile.id } })
    // 10% headroom: lexicon replacements can lengthen a segment after it was cut to size.
    return { targetChars: profile.targetChars ?? entry.limits.targetChars, maxBytes: Math.floor(entry.limits.maxInputBytes * 0.9) }
  }

  function voiceFor(segment: Pick<Segment, 'kind' | 'voiceRole'>, profile: VoiceProfile): VoiceSettings {
    const role = voiceRoleFor(segment)
    const voice = profile.voices[role] ?? profile.voices.body
    return voice.rate === undefined && profile.rate !== undefined ? { ...voice, rate: profile.rate } : voice
  }

  const lexiconOverrides = new Map<string, Lexicon>()
  function lexiconFor(profile: VoiceProfile): Lexicon {
    const override = lexiconOverrides.get(lexiconNameFor(profile))
    if (override) return override
    let lexicon = lexicons.get(profile.id)
    if (!lexicon) {
      // Derived (auto-) profiles and profiles handed in by callers: load on first use.
      lexicon = loadProfileLexicon(config.voicesDir, profile)
      lexicons.set(profile.id, lexicon)
    }
    return lexicon
  }

  async function synthesizeWith(engineId: string, voice: VoiceSettings, text: string, ssml: boolean, fallback: boolean, signal?: AbortSignal): Promise<CachedClip> {
    const entry = entries[engineId]
    if (!entry) throw new AppError('UNKNOWN_ENGINE', `Unknown engine "${engineId}".`, { details: { engine: engineId } })
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes > entry.limits.maxInputBytes)
      throw new AppError('TEXT_TOO_LONG', `The text is ${bytes} bytes; ${engineId} takes at most ${entry.limits.maxInputBytes} per segment.`, {
        details: { bytes, limit: entry.limits.maxInputBytes },
      })
    const eng = await engine(engineId)
    const key = clipKey(eng, voice, text, ssml)
    let called = false
    const clip = await cache.getOrCreate(
      key,
      (flightSignal) => {
        called = true
        stats.engineCalls++
        if (fallback) stats.fallbacks++
        options.onEngineCall?.({ engine: eng.id, key, voice, text, fallback })
        const made = eng.synthesize({ text, ssml, voice }, flightSignal)
        if (!options.onUsage) return made
        return made.then((clip) => {
          if (clip.characters) {
            try {
              options.onUsage!({ engine: eng.id, characters: clip.characters })
            } catch (err) {
              logger?.warn({ err, engine: eng.id }, 'recording engine usage failed')
            }
          }
          return clip
        })
      },
      signal,
    )
    if (called) stats.cacheMisses++
    else stats.cacheHits++
    return clip
  }

  async function speak(text: string, voice: VoiceSettings, profile: VoiceProfile, ssml: boolean, signal?: AbortSignal): Promise<CachedClip> {
    const lexicon = lexiconFor(profile)
    const spoken = ssml ? text : speakWithLexicon(text, lexicon)
    if (!spoken.trim()) throw new AppError('EMPTY_INPUT', `Nothing to say: the segment for voice profile "${profile.id}" is empty.`)
    try {
      return await synthesizeWith(profile.engine, voice, spoken, ssml, false, signal)
    } catch (err) {
      const fallbackEngine = config.tts.fallbackEngine
      if (!fallbackEngine || fallbackEngine === profile.engine || !isAppError(err) || !FALLBACK_CODES.has(err.code) || signal?.aborted)
        throw withProfile(err, profile)
      const language = voice.name && !voice.language ? profile.language : voice.language
      if (!espeak?.speaks(language)) throw withProfile(err, profile)
      logger?.warn({ profile: profile.id, engine: profile.engine, fallbackEngine, code: err.code, err: err.message }, 'speech engine failed; using the fallback engine')
      const fallbackVoice: VoiceSettings = { language, ...(voice.gender ? { gender: voice.gender } : {}), ...(voice.rate ? { rate: voice.rate } : {}) }
      const plain = ssml ? (await import('./ssml.ts')).ssmlToText(spoken) : spoken
      try {
        return await synthesizeWith(fallbackEngine, fallbackVoice, plain, false, true, signal)
      } catch (fallbackErr) {
        throw withProfile(fallbackErr, profile)
      }
    }
  }

  return {
    stats,
    cache,
    getProfile,
    profileForLanguage,
    listProfiles: () => [...profiles.values()],
    limitsFor,
    voiceFor,
    listEngines: () => Object.keys(entries),
    engine,
    async listVoices(engineId, signal) {
      return (await engine(engineId)).listVoices(signal)
    },
    synthesizeSegment(segment, profile, signal) {
      return speak(segment.text, voiceFor(segment, profile), profile, false, signal)
    },
    async hasClip(segment, profile) {
      const spoken = speakWithLexicon(segment.text, lexiconFor(profile))
      if (!spoken.trim() || !entries[profile.engine]) return false
      return cache.has(clipKey(await engine(profile.engine), voiceFor(segment, profile), spoken, false))
    },
    useLexicon(name, lexicon) {
      lexiconOverrides.set(name, lexicon)
    },
    lexiconFor,
    synthesizeText(text, profile, opts = {}) {
      return speak(text, voiceFor({ kind: 'paragraph', voiceRole: opts.role ?? 'body' }, profile), profile, opts.ssml ?? false, opts.signal)
    },
    async close() {
      const started = [...engines.values()]
      engines.clear()
      await Promise.allSettled(started.map(async (p) => (await p).close()))
    },
  }
}

export { DEFAULT_PAUSES }
