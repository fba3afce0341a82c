/**
 * Amazon Polly engine through @aws-sdk/client-polly (imported only when this
 * engine is created). Audio: SynthesizeSpeech with OutputFormat pcm at
 * 16 kHz (the highest rate Polly offers for pcm); word timings: a second
 * SynthesizeSpeech with OutputFormat json and SpeechMarkTypes word+sentence
 * (https://docs.aws.amazon.com/polly/latest/dg/speechmarks.html), whose
 * start/end are UTF-8 byte offsets into the text sent.
 *
 * Voices name a Polly VoiceId ("Joanna"); `model` picks the Polly engine
 * (standard, neural, long-form, generative; default polly.engine). A rate
 * other than 1 goes as SSML <prosody rate>. The SDK's own retries are off:
 * the shared policy in cloud.ts retries throttling and 5xx with the limiter.
 */
import { AppError, throwIfAborted } from '../errors.ts'
import { countCharacters, limiterFor, retryAfterMs, type EngineLogger, type RetryPolicy, withRetries, type Verdict } from './cloud.ts'
import type { Clip, EngineCapabilities, SynthesisRequest, TtsEngine, Voice, VoiceSettings, WordTiming } from './engine.ts'
import { ENGINES } from './registry.ts'
import { checkSsml, escapeXmlWithMap } from './ssml.ts'
import { pcmDurationMs } from './wav.ts'
import { primaryLanguage } from '../script/language.ts'

export type PollyEngineKind = 'standard' | 'neural' | 'long-form' | 'generative'
const ENGINE_KINDS: readonly PollyEngineKind[] = ['standard', 'neural', 'long-form', 'generative']

export interface PollyEngineOptions {
  region: string
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  endpoint?: string
  engine?: PollyEngineKind
  requestsPerMinute?: number
  maxRetries?: number
  retryBaseMs?: number
  timeoutMs?: number
  logger?: EngineLogger
}

const SAMPLE_RATE = 16_000
const KEY_SETTING = 'AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (polly.accessKeyId / polly.secretAccessKey)'

interface PollyApi {
  synthesize(input: Record<string, unknown>, signal?: AbortSignal): Promise<{ audio: Uint8Array; requestCharacters?: number }>
  describeVoices(input: Record<string, unknown>, signal?: AbortSignal): Promise<{ Voices?: PollyVoice[]; NextToken?: string }>
  destroy(): void
}

interface PollyVoice {
  Id?: string
  Gender?: string
  LanguageCode?: string
  AdditionalLanguageCodes?: string[]
  SupportedEngines?: string[]
}

/** The text as sent, and how to map a UTF-8 byte offset in it back to a character offset in the request text. */
export interface PollyInput {
  text: string
  textType: 'text' | 'ssml'
  toRequestOffset(byteOffset: number): number | undefined
}

function byteToCharIndex(text: string): Int32Array {
  const map = new Int32Array(Buffer.byteLength(text, 'utf8') + 1).fill(-1)
  let byte = 0
  let i = 0
  for (const ch of text) {
    map[byte] = i
    byte += Buffer.byteLength(ch, 'utf8')
    i += ch.length
  }
  map[byte] = i
  return map
}

/** Plain text, the caller's SSML, or plain text wrapped in <prosody rate> when the voice sets a rate. */
export function pollyInput(req: SynthesisRequest, who: string): PollyInput {
  const rate = req.voice.rate !== undefined && req.voice.rate !== 1 ? Math.round(Math.min(2, Math.max(0.2, req.voice.rate)) * 100) : undefined
  if (req.ssml) {
    let ssml = checkSsml(req.text, `Polly voice ${who}`)
    if (rate) ssml = ssml.replace(/^(\s*<speak\b[^>]*>)([\s\S]*)(<\/speak>\s*)$/, `$1<prosody rate="${rate}%">$2</prosody>$3`)
    const map = byteToCharIndex(ssml)
    return { text: ssml, textType: 'ssml', toRequestOffset: (b) => (rate ? undefined : map[b] !== undefined && map[b]! >= 0 ? map[b] : undefined) }
  }
  if (!rate) {
    const map = byteToCharIndex(req.text)
    return { text: req.text, textType: 'text', toRequestOffset: (b) => (map[b] !== undefined && map[b]! >= 0 ? map[b] : undefined) }
  }
  const prefix = `<speak><prosody rate="${rate}%">`
  const { escaped, map: esc } = escapeXmlWithMap(req.text)
  const text = `${prefix}${escaped}</prosody></speak>`
  const bytes = byteToCharIndex(text)
  return {
    text,
    textType: 'ssml',
    toRequestOffset: (b) => {
      const c = bytes[b]
      if (c === undefined || c < prefix.length || c - prefix.length > escaped.length) return undefined
      return esc[c - prefix.length]
    },
  }
}

/** Word timings from Polly's speech marks (one JSON object per line). */
export function wordsFromSpeechMarks(marks: string, input: PollyInput, requestText: string): WordTiming[] {
  const words: WordTiming[] = []
  for (const line of marks.split('\n')) {
    if (!line.trim()) continue
    let m: { time?: number; type?: string; start?: number; end?: number; value?: string }
    try {
      m = JSON.parse(line) as typeof m
    } catch {
      continue
    }
    if (m.type !== 'word' || typeof m.start !== 'number' || typeof m.end !== 'number') continue
    const start = input.toRequestOffset(m.start)
    const end = input.toRequestOffset(m.end)
    if (start === undefined || end === undefined || end <= start || end > requestText.length) continue
    words.push({ offset: start, length: end - start, startMs: Math.round(m.time ?? 0) })
  }
  return words
}

export class PollyEngine implements TtsEngine {
  readonly id = 'polly'
  readonly version: string
  readonly capabilities: EngineCapabilities = { ...ENGINES.polly.limits, languages: [...ENGINES.polly.languages], sampleRate: SAMPLE_RATE }
  private readonly policy: RetryPolicy
  private readonly defaultKind: PollyEngineKind
  private voices: Promise<PollyVoice[]> | undefined

  constructor(
    private readonly api: PollyApi,
    private readonly options: PollyEngineOptions,
  ) {
    this.defaultKind = options.engine ?? 'neural'
    this.version = `polly-v1 ${options.region} ${this.defaultKind}`
    this.policy = {
      engine: this.id,
      limiter: limiterFor(this.id, options.requestsPerMinute ?? 400),
      maxRetries: options.maxRetries ?? 4,
      retryBaseMs: options.retryBaseMs ?? 500,
      logger: options.logger,
    }
  }

  private call<T>(what: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>, voice?: string): Promise<T> {
    return withRetries(this.policy, signal, fn, (err) => judgePollyError(err, what, voice))
  }

  private allVoices(signal?: AbortSignal): Promise<PollyVoice[]> {
    const p = (this.voices ??= (async () => {
      const out: PollyVoice[] = []
      let token: string | undefined
      do {
        const page = await this.call('listing voices', signal, (s) => this.api.describeVoices({ IncludeAdditionalLanguageCodes: true, ...(token ? { NextToken: token } : {}) }, s))
        out.push(...(page.Voices ?? []))
        token = page.NextToken
      } while (token)
      return out
    })())
    p.catch(() => this.voices === p && (this.voices = undefined))
    return p
  }

  async listVoices(signal?: AbortSignal): Promise<Voice[]> {
    return (await this.allVoices(signal))
      .filter((v) => v.Id)
      .map((v) => ({
        engine: this.id,
        name: v.Id!,
        languages: [v.LanguageCode, ...(v.AdditionalLanguageCodes ?? [])].filter((l): l is string => !!l),
        gender: v.Gender === 'Female' ? 'female' : v.Gender === 'Male' ? 'male' : 'neutral',
        sampleRate: SAMPLE_RATE,
        description: `engines: ${(v.SupportedEngines ?? []).join(', ')}`,
      }))
  }

  /** A voice profile without a name: the first Polly voice for its language (and gender) on the engine kind. */
  private async pickVoice(voice: VoiceSettings, kind: PollyEngineKind, signal?: AbortSignal): Promise<string> {
    const lang = voice.language.toLowerCase()
    const all = (await this.allVoices(signal)).filter((v) => v.Id && (v.SupportedEngines ?? []).includes(kind))
    const speaks = (v: PollyVoice, exact: boolean) =>
      [v.LanguageCode, ...(v.AdditionalLanguageCodes ?? [])].some((l) => !!l && (exact ? l.toLowerCase() === lang : primaryLanguage(l) === primaryLanguage(lang)))
    const gender = voice.gender === 'female' ? 'Female' : voice.gender === 'male' ? 'Male' : undefined
    const found =
      all.find((v) => speaks(v, true) && (!gender || v.Gender === gender)) ?? all.find((v) => speaks(v, true)) ?? all.find((v) => speaks(v, false) && (!gender || v.Gender === gender)) ?? all.find((v) => speaks(v, false))
    if (!found)
      throw new AppError('UNKNOWN_VOICE', `Polly has no ${kind} voice for ${voice.language}.`, {
        details: { language: voice.language, engine: kind },
        help: 'Name a voice listed by `briefcast voices --engine polly` in the profile, or choose another Polly engine (model).',
      })
    return found.Id!
  }

  async synthesize(req: SynthesisRequest, signal?: AbortSignal): Promise<Clip> {
    throwIfAborted(signal)
    const kind = (req.voice.model ?? this.defaultKind) as PollyEngineKind
    if (!ENGINE_KINDS.includes(kind))
      throw new AppError('UNKNOWN_VOICE', `"${kind}" is not a Polly engine (use ${ENGINE_KINDS.join(', ')}).`, { details: { model: kind }, help: 'Set the voice\'s "model" to standard, neural, long-form or generative.' })
    const who = req.voice.name ?? `${req.voice.language}${req.voice.gender ? ` ${req.voice.gender}` : ''}`
    const input = pollyInput(req, who)
    const bytes = Buffer.byteLength(input.textType === 'ssml' ? stripTags(input.text) : input.text, 'utf8')
    const limit = this.capabilities.maxInputBytes
    if (bytes > limit || Buffer.byteLength(input.text, 'utf8') > 2 * limit)
      throw new AppError('TEXT_TOO_LONG', `The text for Polly voice ${who} is ${bytes} bytes; Polly takes at most ${limit} billed characters.`, { details: { voice: who, bytes, limit } })
    const voiceId = req.voice.name ?? (await this.pickVoice(req.voice, kind, signal))
    const base = { Engine: kind, VoiceId: voiceId, Text: input.text, TextType: input.textType }
    const what = `synthesizing with voice ${voiceId} (${kind})`
    const audio = await this.call(what, signal, (s) => this.api.synthesize({ ...base, OutputFormat: 'pcm', SampleRate: String(SAMPLE_RATE) }, s), voiceId)
    const marks = await this.call(`${what}, speech marks`, signal, (s) => this.api.synthesize({ ...base, OutputFormat: 'json', SpeechMarkTypes: ['word', 'sentence'] }, s), voiceId)
    let pcm = Buffer.from(audio.audio)
    if (pcm.length % 2) pcm = pcm.subarray(0, pcm.length - 1)
    if (pcm.length === 0) throw new AppError('ENGINE_FAILED', `Polly returned no audio ${what}.`, { details: { voice: voiceId } })
    const words = wordsFromSpeechMarks(Buffer.from(marks.audio).toString('utf8'), input, req.text)
    // Both calls are billed; Polly reports the billed characters of each (x-amzn-RequestCharacters).
    const characters = (audio.requestCharacters ?? countCharacters(stripTags(input.text))) + (marks.requestCharacters ?? countCharacters(stripTags(input.text)))
    return { pcm, sampleRate: SAMPLE_RATE, durationMs: pcmDurationMs(pcm.length, SAMPLE_RATE), ...(words.length ? { words } : {}), characters }
  }

  async close(): Promise<void> {
    this.api.destroy()
  }
}

function stripTags(ssml: string): string {
  return ssml.replace(/<[^>]*>/g, '')
}

type SdkError = { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> }; $fault?: string }

/** Polly's (and the AWS SDK's) errors: what to retry, and what each ends in. */
export function judgePollyError(err: unknown, what: string, voice?: string): Verdict {
  const e = (err ?? {}) as SdkError
  const name = e.name ?? ''
  const status = e.$metadata?.httpStatusCode
  const detail = `${name}: ${e.message ?? String(err)}`.slice(0, 500)
  const details = { ...(status ? { status } : {}), error: name, ...(voice ? { voice } : {}) }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message ?? ''))
    return { retry: false, final: new AppError('MISSING_CREDENTIALS', `AWS credentials could not be loaded ${what}: ${e.message}`, { cause: err, details, help: `Set ${KEY_SETTING}, or AWS_PROFILE for a shared config profile.` }) }
  if (/^(UnrecognizedClient|InvalidSignature|InvalidClientTokenId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|MissingAuthenticationToken|IncompleteSignature|NotAuthorized)/.test(name) || status === 401 || status === 403)
    return {
      retry: false,
      final: new AppError('ENGINE_AUTH_FAILED', `Amazon Polly refused the credentials ${what} (${detail})`, { cause: err, details: { ...details, setting: KEY_SETTING }, help: `Check ${KEY_SETTING} (and AWS_SESSION_TOKEN for temporary keys): the key must be valid and allowed polly:SynthesizeSpeech.` }),
    }
  if (name === 'ServiceQuotaExceededException')
    return { retry: false, final: new AppError('QUOTA_EXCEEDED', `Amazon Polly's service quota is exceeded ${what} (${detail})`, { cause: err, details, help: 'Ask AWS for a higher Polly quota, or set BRIEFCAST_FALLBACK_ENGINE=espeak-ng.' }) }
  if (name === 'InvalidSsmlException' || name === 'SsmlMarksNotSupportedForTextTypeException')
    return { retry: false, final: new AppError('SSML_REJECTED', `Amazon Polly rejected the SSML ${what} (${detail})`, { cause: err, details }) }
  if (name === 'TextLengthExceededException') return { retry: false, final: new AppError('TEXT_TOO_LONG', `Amazon Polly refused the input ${what} (${detail})`, { cause: err, details }) }
  if (name === 'EngineNotSupportedException' || name === 'LanguageNotSupportedException' || (name === 'ValidationException' && /voice/i.test(e.message ?? '')))
    return {
      retry: false,
      final: new AppError('UNKNOWN_VOICE', `Amazon Polly does not offer this voice ${what} (${detail})`, { cause: err, details, help: 'Use a voice and engine (model) pair listed by `briefcast voices --engine polly`.' }),
    }
  const throttled = name === 'ThrottlingException' || name === 'TooManyRequestsException' || status === 429
  if (throttled || name === 'ServiceFailureException' || name === 'ServiceUnavailableException' || (status !== undefined && status >= 500) || e.$fault === 'server')
    return {
      retry: true,
      retryAfterMs: retryAfterMs(e.$response?.headers),
      reason: name || `HTTP ${status}`,
      final: throttled
        ? new AppError('RATE_LIMITED', `Amazon Polly kept throttling ${what} (${detail})`, { cause: err, details, help: 'Retry later, or lower polly.requestsPerMinute (BRIEFCAST_POLLY_REQUESTS_PER_MINUTE).' })
        : new AppError('ENGINE_UNAVAILABLE', `Amazon Polly is unavailable ${what} (${detail})`, { cause: err, details }),
    }
  if (status === undefined)
    // No HTTP answer at all: refused, reset, timed out.
    return { retry: true, reason: e.code ?? name, final: new AppError('ENGINE_UNAVAILABLE', `Amazon Polly could not be reached ${what} (${detail})`, { cause: err, details }) }
  return { retry: false, final: new AppError('ENGINE_FAILED', `Amazon Polly refused the request ${what} (${detail})`, { cause: err, details }) }
}

export async function createPollyEngine(options: PollyEngineOptions): Promise<PollyEngine> {
  if (!!options.accessKeyId !== !!options.secretAccessKey)
    throw new AppError('MISSING_CREDENTIALS', `Amazon Polly needs both an access key id and a secret access key; only ${options.accessKeyId ? 'the key id' : 'the secret'} is set.`, {
      details: { setting: KEY_SETTING },
      help: `Set both of ${KEY_SETTING}.`,
    })
  const sdk = await import('@aws-sdk/client-polly')
  const client = new sdk.PollyClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}) } }
      : {}),
    // Our retry policy (with the per-engine limiter and Retry-After) replaces the SDK's.
    maxAttempts: 1,
    requestHandler: { requestTimeout: options.timeoutMs ?? 60_000, connectionTimeout: 10_000 },
  })
  const api: PollyApi = {
    async synthesize(input, signal) {
      const out = await client.send(new sdk.SynthesizeSpeechCommand(input as unknown as ConstructorParameters<typeof sdk.SynthesizeSpeechCommand>[0]), { abortSignal: signal })
      const audio = out.AudioStream ? await out.AudioStream.transformToByteArray() : new Uint8Array()
      return { audio, ...(out.RequestCharacters !== undefined ? { requestCharacters: out.RequestCharacters } : {}) }
    },
    describeVoices: (input, signal) => client.send(new sdk.DescribeVoicesCommand(input), { abortSignal: signal }),
    destroy: () => client.destroy(),
  }
  return new PollyEngine(api, options)
}

