/**
 * ElevenLabs engine over its REST API
 * (https://elevenlabs.io/docs/api-reference/text-to-speech/convert-with-timestamps):
 * `POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=pcm_22050`
 * with the `xi-api-key` header. The answer is JSON: the audio as base64 raw
 * PCM, plus the start and end time of every character, which we group into
 * word timings. Voices are named by voice id (GET /v1/voices lists them).
 */
import { AppError, throwIfAborted } from '../errors.ts'
import { authFailed, countCharacters, httpWithRetries, limiterFor, quotaExceeded, transientFinal, unknownVoice, HttpFailure, type EngineLogger, type ProviderErrorContext, type RetryPolicy } from './cloud.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice, WordTiming } from './engine.ts'
import { ENGINES } from './registry.ts'
import { checkSsml, ssmlToText } from './ssml.ts'
import { pcmDurationMs } from './wav.ts'
import { primaryLanguage } from '../script/language.ts'

export interface ElevenLabsEngineOptions {
  baseUrl: string
  apiKey?: string
  model: string
  outputFormat?: 'pcm_16000' | 'pcm_22050' | 'pcm_24000' | 'pcm_44100'
  requestsPerMinute?: number
  maxRetries?: number
  retryBaseMs?: number
  timeoutMs?: number
  logger?: EngineLogger
}

const KEY_SETTING = 'ELEVENLABS_API_KEY (elevenlabs.apiKey)'

export interface Alignment {
  characters: string[]
  character_start_times_seconds: number[]
  character_end_times_seconds: number[]
}

/**
 * Word timings from per-character timings: a word is a run of non-space
 * characters; its offset is where it starts in `text` (the alignment's
 * characters are matched against the text in order, so a server that drops or
 * normalizes a character does not shift the words after it).
 */
export function wordsFromAlignment(text: string, alignment: Alignment | undefined | null): WordTiming[] {
  if (!alignment || !Array.isArray(alignment.characters)) return []
  const words: WordTiming[] = []
  let cursor = 0
  let current: WordTiming | undefined
  for (let i = 0; i < alignment.characters.length; i++) {
    const ch = alignment.characters[i] ?? ''
    const at = ch === '' ? -1 : text.indexOf(ch, cursor)
    if (at < 0 || at - cursor > 8) continue // not in the text near here: skip it
    if (/\s/.test(ch)) {
      current = undefined
    } else if (current && at === current.offset + current.length) {
      current.length += ch.length
    } else {
      current = { offset: at, length: ch.length, startMs: Math.round((alignment.character_start_times_seconds[i] ?? 0) * 1000) }
      words.push(current)
    }
    cursor = at + ch.length
  }
  return words
}

export class ElevenLabsEngine implements TtsEngine {
  readonly id = 'elevenlabs'
  readonly version: string
  readonly capabilities: EngineCapabilities
  private readonly policy: RetryPolicy
  private readonly root: string
  private readonly format: NonNullable<ElevenLabsEngineOptions['outputFormat']>

  constructor(private readonly options: ElevenLabsEngineOptions) {
    this.root = options.baseUrl.replace(/\/+$/, '')
    this.format = options.outputFormat ?? 'pcm_22050'
    this.version = `elevenlabs-v1 ${options.model} ${this.format}`
    this.capabilities = { ...ENGINES.elevenlabs.limits, languages: [...ENGINES.elevenlabs.languages], sampleRate: Number(this.format.slice(4)) }
    this.policy = {
      engine: this.id,
      limiter: limiterFor(this.id, options.requestsPerMinute ?? 120),
      maxRetries: options.maxRetries ?? 4,
      retryBaseMs: options.retryBaseMs ?? 500,
      logger: options.logger,
    }
  }

  private headers(): Record<string, string> {
    return { 'content-type': 'application/json', accept: 'application/json', 'xi-api-key': this.options.apiKey ?? '' }
  }

  async listVoices(signal?: AbortSignal): Promise<Voice[]> {
    const ctx = this.context('listing voices')
    const { body } = await httpWithRetries(
      this.policy,
      () => ({ url: `${this.root}/v1/voices`, init: { method: 'GET', headers: this.headers() }, timeoutMs: this.options.timeoutMs ?? 120_000 }),
      signal,
      (f) => this.mapError(f, ctx),
    )
    type Listed = { voice_id?: string; name?: string; labels?: Record<string, string>; verified_languages?: { language?: string }[] }
    const voices = ((JSON.parse(body.toString('utf8')) as { voices?: Listed[] }).voices ?? []).filter((v) => v.voice_id)
    return voices.map((v) => {
      const verified = [...new Set((v.verified_languages ?? []).map((l) => l.language).filter((l): l is string => !!l))]
      const gender = v.labels?.gender
      return {
        engine: this.id,
        name: v.voice_id!,
        languages: verified.length > 0 ? verified : [...this.capabilities.languages],
        ...(gender === 'male' || gender === 'female' || gender === 'neutral' ? { gender } : {}),
        sampleRate: this.capabilities.sampleRate,
        ...(v.name ? { description: v.name } : {}),
      }
    })
  }

  /** The request as sent: path (voice id), query and JSON body. */
  buildRequest(req: SynthesisRequest): { voiceId: string; query: string; body: Record<string, unknown> } {
    const voiceId = req.voice.name
    if (!voiceId)
      throw new AppError('UNKNOWN_VOICE', 'The ElevenLabs engine needs a voice id in the voice profile (voices.body.name).', { help: 'Use a voice id listed by `briefcast voices --engine elevenlabs`.' })
    const text = req.ssml ? ssmlToText(checkSsml(req.text, `ElevenLabs voice ${voiceId}`)) : req.text
    const bytes = Buffer.byteLength(text, 'utf8')
    const limit = this.capabilities.maxInputBytes
    if (bytes > limit) throw new AppError('TEXT_TOO_LONG', `The text for ElevenLabs voice ${voiceId} is ${bytes} bytes; the engine takes at most ${limit}.`, { details: { voice: voiceId, bytes, limit } })
    const body: Record<string, unknown> = { text, model_id: req.voice.model ?? this.options.model }
    const primary = primaryLanguage(req.voice.language)
    // language_code is only honoured by some models (Flash/Turbo v2.5); others ignore it, so send it only when the profile sets a model that takes it.
    if (/flash_v2_5|turbo_v2_5/.test(String(body.model_id))) body.language_code = primary
    if (req.voice.rate !== undefined && req.voice.rate !== 1) body.voice_settings = { speed: Math.min(1.2, Math.max(0.7, req.voice.rate)) }
    return { voiceId, query: `output_format=${this.format}`, body }
  }

  async synthesize(req: SynthesisRequest, signal?: AbortSignal): Promise<Clip> {
    throwIfAborted(signal)
    const { voiceId, query, body } = this.buildRequest(req)
    const ctx = this.context(`synthesizing with voice ${voiceId}`, voiceId)
    const res = await httpWithRetries(
      this.policy,
      () => ({
        url: `${this.root}/v1/text-to-speech/${encodeURIComponent(voiceId)}/with-timestamps?${query}`,
        init: { method: 'POST', headers: this.headers(), body: JSON.stringify(body) },
        timeoutMs: this.options.timeoutMs ?? 120_000,
      }),
      signal,
      (f) => this.mapError(f, ctx),
    )
    let parsed: { audio_base64?: string; alignment?: Alignment | null }
    try {
      parsed = JSON.parse(res.body.toString('utf8')) as typeof parsed
    } catch (err) {
      throw new AppError('ENGINE_FAILED', `ElevenLabs answered with something other than JSON ${ctx.what}.`, { cause: err })
    }
    let pcm = Buffer.from(parsed.audio_base64 ?? '', 'base64')
    if (pcm.length % 2) pcm = pcm.subarray(0, pcm.length - 1)
    if (pcm.length === 0) throw new AppError('ENGINE_FAILED', `ElevenLabs returned no audio ${ctx.what}.`, { details: { voice: voiceId } })
    const sampleRate = this.capabilities.sampleRate
    const text = String(body.text)
    const words = wordsFromAlignment(text, parsed.alignment)
    return { pcm, sampleRate, durationMs: pcmDurationMs(pcm.length, sampleRate), ...(words.length ? { words } : {}), characters: countCharacters(text) }
  }

  private context(what: string, voice?: string): ProviderErrorContext {
    return { provider: 'ElevenLabs', what, keySetting: KEY_SETTING, voice, detail: '' }
  }

  /**
   * Error bodies: {"detail": {"status": "invalid_api_key" | "quota_exceeded" | "voice_not_found" | ..., "message"}}
   * (newer answers name it "code"); validation errors: {"detail": [{"loc", "msg"}]}.
   */
  private mapError(failure: HttpFailure | Error, base: ProviderErrorContext): AppError {
    if (!(failure instanceof HttpFailure)) return transientFinal({ ...base, detail: failure.message }, undefined, failure)
    const parsed = failure.json() as { detail?: { status?: string; code?: string; message?: string } | { msg?: string }[] | string } | undefined
    const d = parsed?.detail
    const kind = d && typeof d === 'object' && !Array.isArray(d) ? (d.status ?? d.code ?? '') : ''
    const detail =
      (d && typeof d === 'object' && !Array.isArray(d) ? d.message : Array.isArray(d) ? d.map((x) => x.msg).join('; ') : typeof d === 'string' ? d : failure.body.slice(0, 300)) ||
      `HTTP ${failure.status}`
    const ctx = { ...base, detail }
    const status = failure.status
    if (/quota|credits|payment/i.test(kind) || status === 402) return quotaExceeded(ctx, status, failure)
    if (status === 401 || status === 403 || /api_key|unauthori/i.test(kind)) {
      if (!this.options.apiKey) return new AppError('MISSING_CREDENTIALS', `ElevenLabs wants an API key ${ctx.what}.`, { cause: failure, details: { status }, help: `Set ${KEY_SETTING}.` })
      return authFailed(ctx, status, failure)
    }
    if (/voice_not_found|voice_does_not_exist|invalid_voice/i.test(kind) || (status === 404 && base.voice)) return unknownVoice(ctx, this.id, status, failure)
    if (status === 429 || status >= 500) return transientFinal(ctx, status, failure)
    return new AppError('ENGINE_FAILED', `ElevenLabs refused the request ${ctx.what} (HTTP ${status}): ${detail}`, { cause: failure, details: { status } })
  }

  async close(): Promise<void> {}
}

export async function createElevenLabsEngine(options: ElevenLabsEngineOptions): Promise<ElevenLabsEngine> {
  if (!options.apiKey) throw new AppError('MISSING_CREDENTIALS', 'The ElevenLabs engine needs an API key; none is configured.', { details: { setting: KEY_SETTING }, help: `Set ${KEY_SETTING}.` })
  return new ElevenLabsEngine(options)
}
