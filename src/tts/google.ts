/**
 * Google Cloud Text-to-Speech (v1, gRPC) engine. The SDK is imported only when
 * this engine is created, so sites on espeak-ng never load it.
 *
 * Voice families differ in what they accept: Chirp 3: HD (and Journey) voices
 * take no SSML and no pitch, so SSML is reduced to plain text and pitch left
 * out for them (https://cloud.google.com/text-to-speech/docs/chirp3-hd).
 * LINEAR16 responses carry a WAV header, which is parsed rather than assumed.
 */
import { existsSync, readFileSync } from 'node:fs'
import { AppError, throwIfAborted } from '../errors.ts'
import { backoffMs, countCharacters, limiterFor, sleep, type RateLimiter } from './cloud.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice, VoiceSettings } from './engine.ts'
import { ENGINES, GOOGLE_LANGUAGES } from './registry.ts'
import { checkSsml, ssmlToText } from './ssml.ts'
import { pcmDurationMs, pcmFromWav, readWavHeader } from './wav.ts'

export interface GoogleEngineOptions {
  keyFile?: string
  projectId?: string
  apiEndpoint?: string
  port?: number
  /** Per-process limit (Google's default quota is 1000/min). */
  requestsPerMinute?: number
  maxRetries?: number
  /** First retry delay, ms (doubles per attempt, with jitter). */
  retryBaseMs?: number
  /** Per-call deadline, ms. */
  timeoutMs?: number
  /** Extra client options at the network edge, e.g. sslCreds for a local test server. */
  clientOptions?: Record<string, unknown>
  logger?: { warn(obj: object, msg?: string): void }
}

/** Google's documented limit for one SynthesizeSpeech input (declared in the registry). */
export const GOOGLE_MAX_INPUT_BYTES = ENGINES.google.limits.maxInputBytes
const SAMPLE_RATE = 24000

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html)
const INVALID_ARGUMENT = 3
const DEADLINE_EXCEEDED = 4
const NOT_FOUND = 5
const PERMISSION_DENIED = 7
const RESOURCE_EXHAUSTED = 8
const UNAVAILABLE = 14
const UNAUTHENTICATED = 16
const RETRYABLE = new Set([UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED])

/** Voice families that accept neither SSML nor pitch. */
export function isPlainTextOnlyVoice(name: string | undefined): boolean {
  return !!name && /-(Chirp3-HD|Chirp-HD|Journey)-/i.test(name)
}

/** 'en-US-Neural2-F' -> 'en-US'; 'cmn-CN-Wavenet-A' -> 'cmn-CN'. */
export function languageOfVoiceName(name: string): string {
  const parts = name.split('-')
  return parts.slice(0, 2).join('-')
}

const GENDER = { male: 'MALE', female: 'FEMALE', neutral: 'NEUTRAL' } as const

interface SynthesizeCall {
  (request: object, options?: object): Promise<[{ audioContent?: Uint8Array | string | null }, ...unknown[]]> & { cancel?: () => void }
}

interface TtsClient {
  synthesizeSpeech: SynthesizeCall
  listVoices(request: object, options?: object): Promise<[{ voices?: { name?: string | null; languageCodes?: string[] | null; ssmlGender?: unknown; naturalSampleRateHertz?: number | null }[] | null }]>
  /** Loads credentials and builds the stub; the SDK caches the promise (a failure too). */
  initialize?(): Promise<unknown>
  close(): Promise<void>
}

export class GoogleEngine implements TtsEngine {
  readonly id = 'google'
  // The SDK version does not change the audio; the server-side voices do, and they are named by voice.
  readonly version = 'texttospeech-v1'
  readonly capabilities: EngineCapabilities = { ...ENGINES.google.limits, languages: GOOGLE_LANGUAGES, sampleRate: SAMPLE_RATE }
  private readonly limiter: RateLimiter
  /** The client's initialization (credentials), awaited before the first RPC; see ready(). */
  private init: Promise<void> | undefined
  private initFailed = false
  /** Engine calls made (attempts included); for tests and stats. */
  calls = 0

  constructor(
    private readonly client: TtsClient,
    private readonly options: GoogleEngineOptions,
  ) {
    this.limiter = limiterFor(this.id, options.requestsPerMinute ?? 900)
  }

  async listVoices(signal?: AbortSignal): Promise<Voice[]> {
    const [res] = await this.call((opts) => this.client.listVoices({}, opts) as ReturnType<SynthesizeCall>, 'listing voices', signal) as unknown as [
      Awaited<ReturnType<TtsClient['listVoices']>>[0],
    ]
    return (res.voices ?? []).map((v) => ({
      engine: 'google',
      name: v.name ?? '',
      languages: v.languageCodes ?? [],
      gender: v.ssmlGender === 'FEMALE' || v.ssmlGender === 2 ? 'female' : v.ssmlGender === 'MALE' || v.ssmlGender === 1 ? 'male' : 'neutral',
      sampleRate: v.naturalSampleRateHertz ?? SAMPLE_RATE,
    }))
  }

  /** The SynthesizeSpeech request for a synthesis request, as sent on the wire. */
  buildRequest(req: SynthesisRequest): object {
    const who = describeVoice(req.voice)
    const plainOnly = isPlainTextOnlyVoice(req.voice.name)
    let input: { text: string } | { ssml: string }
    if (req.ssml) {
      const ssml = checkSsml(req.text, `Google voice ${who}`)
      input = plainOnly ? { text: ssmlToText(ssml) } : { ssml }
    } else {
      input = { text: req.text }
    }
    const payload = 'ssml' in input ? input.ssml : input.text
    const bytes = Buffer.byteLength(payload, 'utf8')
    if (bytes > GOOGLE_MAX_INPUT_BYTES)
      throw new AppError('TEXT_TOO_LONG', `The text for Google voice ${who} is ${bytes} bytes; Google takes at most ${GOOGLE_MAX_INPUT_BYTES}.`, {
        details: { voice: who, bytes, limit: GOOGLE_MAX_INPUT_BYTES },
      })
    const voice = req.voice.name
      ? { languageCode: languageOfVoiceName(req.voice.name), name: req.voice.name }
      : { languageCode: req.voice.language, ...(req.voice.gender ? { ssmlGender: GENDER[req.voice.gender] } : {}) }
    const audioConfig: Record<string, unknown> = { audioEncoding: 'LINEAR16', sampleRateHertz: SAMPLE_RATE }
    if (req.voice.rate !== undefined && req.voice.rate !== 1) audioConfig.speakingRate = Math.min(4, Math.max(0.25, req.voice.rate))
    if (req.voice.pitch !== undefined && req.voice.pitch !== 0 && !plainOnly) audioConfig.pitch = Math.min(20, Math.max(-20, req.voice.pitch))
    if (req.voice.volumeGainDb !== undefined && req.voice.volumeGainDb !== 0) audioConfig.volumeGainDb = Math.min(16, Math.max(-96, req.voice.volumeGainDb))
    if (req.voice.effectsProfileId?.length) audioConfig.effectsProfileId = req.voice.effectsProfileId
    return { input, voice, audioConfig }
  }

  async synthesize(req: SynthesisRequest, signal?: AbortSignal): Promise<Clip> {
    throwIfAborted(signal)
    const request = this.buildRequest(req) // refuses bad SSML and long text before any call
    const who = describeVoice(req.voice)
    const [res] = await this.call((opts) => this.client.synthesizeSpeech(request, opts), `synthesizing with voice ${who}`, signal, req.voice)
    const audio = res.audioContent
    const bytes = typeof audio === 'string' ? Buffer.from(audio, 'base64') : Buffer.from(audio ?? new Uint8Array())
    if (bytes.length === 0) throw new AppError('ENGINE_FAILED', `Google returned no audio for voice ${who}.`, { details: { voice: who } })
    // LINEAR16 comes with a WAV header; be lenient if a proxy strips it.
    const { pcm, sampleRate } = readWavHeader(bytes) ? pcmFromWav(bytes, `Google response for voice ${who}`) : { pcm: bytes, sampleRate: SAMPLE_RATE }
    const sent = (request as { input: { text?: string; ssml?: string } }).input
    return { pcm, sampleRate, durationMs: pcmDurationMs(pcm.length, sampleRate), characters: countCharacters(sent.ssml ?? sent.text ?? '') }
  }

  /**
   * Credentials are loaded by the SDK on the first RPC, and each generated
   * method also runs `this.initialize().catch(err => { throw err })`, which
   * leaves an unhandled rejection behind when there are no credentials (it
   * took a whole render process down). So we initialize the client ourselves,
   * once, and never call an RPC on a client whose initialization failed: the
   * caller gets MISSING_CREDENTIALS and nothing is left unhandled. The SDK
   * caches a failed initialization, so the failure sticks until the engine is
   * created again (a restart after fixing the credentials).
   */
  private ready(what: string, signal?: AbortSignal): Promise<void> {
    const init = (this.init ??= (async () => {
      if (!this.client.initialize) return
      try {
        await this.client.initialize()
      } catch (err) {
        this.initFailed = true
        const detail = (err as Error)?.message ?? String(err)
        throw new AppError('MISSING_CREDENTIALS', `Google credentials could not be loaded ${what}: ${detail}`, { cause: err })
      }
    })())
    if (!signal) return init
    throwIfAborted(signal)
    // Loading credentials may probe the metadata server for seconds; an abort does not wait for it.
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new AppError('ABORTED', 'Speech synthesis was cancelled.', { cause: signal.reason }))
      signal.addEventListener('abort', onAbort, { once: true })
      init.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /** One RPC with rate limit, retries with backoff on transient codes, abort and error mapping. */
  private async call<T>(
    invoke: (opts: object) => Promise<T> & { cancel?: () => void },
    what: string,
    signal?: AbortSignal,
    voice?: VoiceSettings,
  ): Promise<T> {
    const maxRetries = this.options.maxRetries ?? 4
    const base = this.options.retryBaseMs ?? 500
    await this.ready(what, signal)
    for (let attempt = 0; ; attempt++) {
      await this.limiter.take(signal)
      throwIfAborted(signal)
      this.calls++
      // Our own retry loop (with RESOURCE_EXHAUSTED and the limiter); the SDK's is switched off.
      const pending = invoke({ retry: { retryCodes: [] }, timeout: this.options.timeoutMs ?? 60_000 })
      let onAbort: (() => void) | undefined
      try {
        const aborted = new Promise<never>((_, reject) => {
          onAbort = () => {
            pending.cancel?.()
            reject(new AppError('ABORTED', 'Speech synthesis was cancelled.', { cause: signal?.reason }))
          }
          signal?.addEventListener('abort', onAbort, { once: true })
        })
        pending.catch(() => {}) // after an abort the cancelled call rejects; nobody is waiting for it
        return await Promise.race([pending, aborted])
      } catch (err) {
        if (err instanceof AppError) throw err
        const code = (err as { code?: unknown }).code
        if (typeof code === 'number' && RETRYABLE.has(code) && attempt < maxRetries) {
          const delay = backoffMs(attempt, base)
          this.options.logger?.warn({ attempt: attempt + 1, code, delayMs: Math.round(delay) }, `Google TTS transient error ${what}; retrying`)
          await sleep(delay, signal)
          continue
        }
        throw mapGoogleError(err, what, voice)
      } finally {
        if (onAbort) signal?.removeEventListener('abort', onAbort)
      }
    }
  }

  async close(): Promise<void> {
    // A client whose initialization failed rejects close() with the same error: nothing is open to close.
    if (this.init) await this.init.catch(() => {})
    if (this.initFailed) return
    await this.client.close()
  }
}

function describeVoice(voice: VoiceSettings): string {
  return voice.name ?? `${voice.language}${voice.gender ? ` ${voice.gender}` : ''}`
}

function mapGoogleError(err: unknown, what: string, voice?: VoiceSettings): AppError {
  const e = err as { code?: unknown; details?: string; message?: string }
  const detail = e.details || e.message || String(err)
  const who = voice ? describeVoice(voice) : undefined
  const details = { grpcCode: e.code, ...(who ? { voice: who } : {}) }
  if (/default credentials|could not load the default credentials|credential/i.test(detail) && typeof e.code !== 'number')
    return new AppError('MISSING_CREDENTIALS', `Google credentials are missing ${what}: ${detail}`, { cause: err, details })
  switch (e.code) {
    case INVALID_ARGUMENT:
      if (/ssml/i.test(detail)) return new AppError('SSML_REJECTED', `Google rejected the SSML ${what}: ${detail}`, { cause: err, details })
      if (/voice/i.test(detail)) return new AppError('UNKNOWN_VOICE', `Google rejected the voice ${what}: ${detail}`, { cause: err, details })
      if (/too long|longer than|limit/i.test(detail)) return new AppError('TEXT_TOO_LONG', `Google refused the input ${what}: ${detail}`, { cause: err, details })
      return new AppError('ENGINE_FAILED', `Google refused the request ${what}: ${detail}`, { cause: err, details })
    case NOT_FOUND:
      return new AppError('UNKNOWN_VOICE', `Google does not know the voice ${what}: ${detail}`, { cause: err, details })
    case UNAUTHENTICATED:
    case PERMISSION_DENIED:
      return new AppError('MISSING_CREDENTIALS', `Google refused the credentials ${what}: ${detail}`, { cause: err, details })
    case RESOURCE_EXHAUSTED:
      return new AppError('RATE_LIMITED', `Google's quota is exhausted ${what}: ${detail}`, { cause: err, details })
    case UNAVAILABLE:
    case DEADLINE_EXCEEDED:
      return new AppError('ENGINE_UNAVAILABLE', `Google TTS is unavailable ${what}: ${detail}`, { cause: err, details })
    default:
      return new AppError('ENGINE_FAILED', `Google TTS failed ${what}: ${detail}`, { cause: err, details })
  }
}

/** Create the engine; loads the SDK now. MISSING_CREDENTIALS when a named key file is absent. */
export async function createGoogleEngine(options: GoogleEngineOptions = {}): Promise<GoogleEngine> {
  const keyFile = options.keyFile ?? undefined
  if (keyFile && !existsSync(keyFile))
    throw new AppError('MISSING_CREDENTIALS', `The Google key file ${keyFile} does not exist.`, { details: { keyFile } })
  if (keyFile) {
    let key: { type?: unknown } | null = null
    try {
      key = JSON.parse(readFileSync(keyFile, 'utf8')) as { type?: unknown }
    } catch {
      key = null
    }
    if (!key || typeof key.type !== 'string')
      throw new AppError('MISSING_CREDENTIALS', `The Google key file ${keyFile} is not a credentials JSON file (no "type" field).`, { details: { keyFile } })
  }
  const adc = process.env.GOOGLE_APPLICATION_CREDENTIALS
  if (!keyFile && adc && !existsSync(adc))
    throw new AppError('MISSING_CREDENTIALS', `GOOGLE_APPLICATION_CREDENTIALS names ${adc}, which does not exist.`, { details: { keyFile: adc } })
  const sdk = await import('@google-cloud/text-to-speech')
  const client = new sdk.v1.TextToSpeechClient({
    ...(keyFile ? { keyFilename: keyFile } : {}),
    ...(options.projectId ? { projectId: options.projectId } : {}),
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
    ...(options.port ? { port: options.port } : {}),
    ...options.clientOptions,
  }) as unknown as TtsClient
  return new GoogleEngine(client, options)
}
