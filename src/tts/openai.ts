/**
 * OpenAI-compatible speech engine: `POST {baseUrl}/v1/audio/speech` with
 * {model, input, voice, speed, response_format}, the API of OpenAI's own TTS
 * (https://platform.openai.com/docs/api-reference/audio/createSpeech) that
 * self-hosted servers copy (Kokoro-FastAPI, LocalAI, openedai-speech). One
 * adapter over fetch; no SDK.
 *
 * - wav answers carry their sample rate; OpenAI streams them with a data size
 *   of 0xFFFFFFFF, so the size is taken from the bytes received.
 * - pcm answers are raw 16-bit mono at 24 kHz, as OpenAI documents.
 * - Voices: a server that lists its own (GET /v1/audio/voices, Kokoro-FastAPI)
 *   is asked; OpenAI has no such call, so its documented voices are listed.
 * - No SSML: SSML input is reduced to its text.
 */
import { AppError, throwIfAborted } from '../errors.ts'
import { authFailed, countCharacters, httpWithRetries, limiterFor, quotaExceeded, transientFinal, unknownVoice, HttpFailure, type EngineLogger, type ProviderErrorContext, type RetryPolicy } from './cloud.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice } from './engine.ts'
import { ENGINES } from './registry.ts'
import { checkSsml, ssmlToText } from './ssml.ts'
import { pcmDurationMs } from './wav.ts'

export interface OpenAiEngineOptions {
  baseUrl: string
  apiKey?: string
  model: string
  responseFormat?: 'wav' | 'pcm'
  requestsPerMinute?: number
  maxRetries?: number
  retryBaseMs?: number
  timeoutMs?: number
  logger?: EngineLogger
}

/** OpenAI's voices (https://platform.openai.com/docs/guides/text-to-speech#voice-options); they speak every language the model does. */
export const OPENAI_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'nova', 'onyx', 'sage', 'shimmer', 'verse']
const PCM_RATE = 24_000
const KEY_SETTING = 'OPENAI_API_KEY (openai.apiKey)'

/** Root URL without a trailing "/v1" or slash: both "https://api.openai.com" and ".../v1" are accepted. */
export function openAiRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')
}

export class OpenAiEngine implements TtsEngine {
  readonly id = 'openai'
  readonly version: string
  readonly capabilities: EngineCapabilities = { ...ENGINES.openai.limits, languages: [...ENGINES.openai.languages], sampleRate: PCM_RATE }
  private readonly policy: RetryPolicy
  private readonly root: string

  constructor(private readonly options: OpenAiEngineOptions) {
    this.root = openAiRoot(options.baseUrl)
    // The server and default model decide the sound: both are part of every clip's cache key.
    this.version = `openai-speech-v1 ${this.root} ${options.model}`
    this.policy = {
      engine: this.id,
      limiter: limiterFor(`${this.id} ${this.root}`, options.requestsPerMinute ?? 500),
      maxRetries: options.maxRetries ?? 4,
      retryBaseMs: options.retryBaseMs ?? 500,
      logger: options.logger,
    }
  }

  private headers(json: boolean): Record<string, string> {
    return {
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
    }
  }

  async listVoices(signal?: AbortSignal): Promise<Voice[]> {
    const ctx = this.context('listing voices')
    let names = OPENAI_VOICES
    try {
      const { body } = await httpWithRetries(
        this.policy,
        () => ({ url: `${this.root}/v1/audio/voices`, init: { method: 'GET', headers: this.headers(false) }, timeoutMs: this.options.timeoutMs ?? 120_000 }),
        signal,
        (f) => (f instanceof HttpFailure && f.status === 404 ? new AppError('NOT_FOUND', 'no voice list') : this.mapError(f, ctx)),
      )
      const listed = (JSON.parse(body.toString('utf8')) as { voices?: unknown }).voices
      if (Array.isArray(listed)) names = listed.map((v) => (typeof v === 'string' ? v : String((v as { id?: unknown; name?: unknown }).id ?? (v as { name?: unknown }).name))).filter(Boolean)
    } catch (err) {
      // OpenAI itself has no voice list (404); anything else (a bad key) is the answer.
      if (!(err instanceof AppError && err.code === 'NOT_FOUND')) throw err
    }
    return names.map((name) => ({ engine: this.id, name, languages: [...this.capabilities.languages], sampleRate: PCM_RATE }))
  }

  /** The request body, as sent. */
  buildRequest(req: SynthesisRequest): Record<string, unknown> {
    const voice = req.voice.name
    if (!voice) throw new AppError('UNKNOWN_VOICE', 'The OpenAI-compatible engine needs a voice name (e.g. "nova") in the voice profile.', { help: 'Set voices.body.name in the profile to a voice listed by `briefcast voices --engine openai`.' })
    const input = req.ssml ? ssmlToText(checkSsml(req.text, `OpenAI voice ${voice}`)) : req.text
    const bytes = Buffer.byteLength(input, 'utf8')
    const limit = this.capabilities.maxInputBytes
    if (bytes > limit)
      throw new AppError('TEXT_TOO_LONG', `The text for OpenAI voice ${voice} is ${bytes} bytes; the engine takes at most ${limit}.`, { details: { voice, bytes, limit } })
    const body: Record<string, unknown> = { model: req.voice.model ?? this.options.model, input, voice, response_format: this.options.responseFormat ?? 'wav' }
    if (req.voice.rate !== undefined && req.voice.rate !== 1) body.speed = Math.min(4, Math.max(0.25, req.voice.rate))
    return body
  }

  async synthesize(req: SynthesisRequest, signal?: AbortSignal): Promise<Clip> {
    throwIfAborted(signal)
    const body = this.buildRequest(req)
    const ctx = this.context(`synthesizing with voice ${String(body.voice)}`, String(body.voice))
    const res = await httpWithRetries(
      this.policy,
      () => ({ url: `${this.root}/v1/audio/speech`, init: { method: 'POST', headers: this.headers(true), body: JSON.stringify(body) }, timeoutMs: this.options.timeoutMs ?? 120_000 }),
      signal,
      (f) => this.mapError(f, ctx),
      isQuotaFailure,
    )
    const { pcm, sampleRate } = body.response_format === 'pcm' ? { pcm: evenLength(res.body), sampleRate: PCM_RATE } : streamedWavToPcm(res.body, ctx.what)
    if (pcm.length === 0) throw new AppError('ENGINE_FAILED', `The OpenAI-compatible server returned no audio ${ctx.what}.`, { details: { voice: body.voice } })
    return { pcm, sampleRate, durationMs: pcmDurationMs(pcm.length, sampleRate), characters: countCharacters(String(body.input)) }
  }

  private context(what: string, voice?: string): ProviderErrorContext {
    return { provider: `The OpenAI-compatible server at ${this.root}`, what, keySetting: KEY_SETTING, voice, detail: '' }
  }

  /** Error bodies: {"error": {"message", "type", "param", "code"}} (https://platform.openai.com/docs/guides/error-codes). */
  private mapError(failure: HttpFailure | Error, base: ProviderErrorContext): AppError {
    if (!(failure instanceof HttpFailure)) return transientFinal({ ...base, detail: failure.message }, undefined, failure)
    const parsed = failure.json() as { error?: { message?: string; code?: string | null; type?: string; param?: string | null }; detail?: unknown } | undefined
    const e = parsed?.error
    const detail = (e?.message ?? (typeof parsed?.detail === 'string' ? parsed.detail : JSON.stringify(parsed?.detail ?? '')) ?? failure.body).slice(0, 500) || `HTTP ${failure.status}`
    const ctx = { ...base, detail }
    const status = failure.status
    if (status === 401 || status === 403) {
      if (!this.options.apiKey)
        return new AppError('MISSING_CREDENTIALS', `${ctx.provider} wants an API key ${ctx.what}: ${detail}`, { cause: failure, details: { status }, help: `Set ${KEY_SETTING}.` })
      return authFailed(ctx, status, failure)
    }
    if (isQuotaFailure(failure)) return quotaExceeded(ctx, status, failure)
    if (status === 429 || status >= 500) return transientFinal(ctx, status, failure)
    if ((status === 400 || status === 404 || status === 422) && (e?.param === 'voice' || /\bvoice\b/i.test(detail))) return unknownVoice(ctx, this.id, status, failure)
    if (e?.code === 'model_not_found' || (status === 404 && e?.param === 'model'))
      return new AppError('UNKNOWN_VOICE', `${ctx.provider} has no such model ${ctx.what}: ${detail}`, {
        cause: failure,
        details: { status, setting: 'openai.model (BRIEFCAST_OPENAI_MODEL)' },
        help: 'Set openai.model (BRIEFCAST_OPENAI_MODEL) or the voice\'s "model" to a model the server offers.',
      })
    return new AppError('ENGINE_FAILED', `${ctx.provider} refused the request ${ctx.what} (HTTP ${status}): ${detail}`, { cause: failure, details: { status } })
  }

  async close(): Promise<void> {}
}

/** OpenAI answers 429 for both "slow down" and "no credit left"; only the first is worth retrying. */
function isQuotaFailure(failure: HttpFailure): boolean {
  if (failure.status !== 429 && failure.status !== 402) return false
  const e = (failure.json() as { error?: { code?: string; type?: string } } | undefined)?.error
  return failure.status === 402 || e?.code === 'insufficient_quota' || e?.type === 'insufficient_quota'
}

function evenLength(buf: Buffer): Buffer {
  return buf.length % 2 === 0 ? buf : buf.subarray(0, buf.length - 1)
}

/**
 * PCM from a WAV answer. Streaming servers cannot know the length up front and
 * write 0xFFFFFFFF (or 0) as the RIFF and data sizes: the samples are whatever
 * follows the data chunk header.
 */
export function streamedWavToPcm(buf: Buffer, what: string): { pcm: Buffer; sampleRate: number } {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    throw new AppError('ENGINE_FAILED', `The OpenAI-compatible server did not answer with WAV audio ${what} (set openai.responseFormat to "pcm" for raw 24 kHz audio).`)
  let offset = 12
  let sampleRate = 0
  let channels = 0
  let bits = 0
  let format = 0
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4)
    const size = buf.readUInt32LE(offset + 4)
    const start = offset + 8
    if (id === 'fmt ') {
      format = buf.readUInt16LE(start)
      channels = buf.readUInt16LE(start + 2)
      sampleRate = buf.readUInt32LE(start + 4)
      bits = buf.readUInt16LE(start + 14)
    } else if (id === 'data') {
      if (format !== 1 || channels !== 1 || bits !== 16)
        throw new AppError('ENGINE_FAILED', `The WAV audio ${what} is not mono 16-bit PCM (format ${format}, ${channels} channel(s), ${bits} bits).`)
      const end = size === 0 || size === 0xffffffff || start + size > buf.length ? buf.length : start + size
      return { pcm: evenLength(buf.subarray(start, end)), sampleRate }
    }
    offset = start + size + (size % 2)
  }
  throw new AppError('ENGINE_FAILED', `The WAV audio ${what} has no data chunk.`)
}

export async function createOpenAiEngine(options: OpenAiEngineOptions): Promise<OpenAiEngine> {
  const root = openAiRoot(options.baseUrl)
  if (!options.apiKey && /(^|\.)openai\.com$/i.test(new URL(root).hostname))
    throw new AppError('MISSING_CREDENTIALS', `OpenAI's speech API needs an API key; none is configured.`, { details: { setting: KEY_SETTING }, help: `Set ${KEY_SETTING}, or point openai.baseUrl (BRIEFCAST_OPENAI_BASE_URL) at a self-hosted server.` })
  return new OpenAiEngine(options)
}
