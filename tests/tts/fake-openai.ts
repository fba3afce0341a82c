/**
 * A local server speaking OpenAI's speech API (POST /v1/audio/speech,
 * https://platform.openai.com/docs/api-reference/audio/createSpeech): it checks
 * the Bearer key, the model, the voice and the input length as OpenAI does and
 * answers with OpenAI's error bodies ({"error": {message, type, param, code}});
 * WAV answers are streamed-style (RIFF and data sizes 0xFFFFFFFF), pcm answers
 * raw 24 kHz. The 'kokoro' flavour also lists its voices at GET
 * /v1/audio/voices, as Kokoro-FastAPI does; OpenAI answers that path with 404.
 */
import { createOpenAiEngine, OPENAI_VOICES, type OpenAiEngine, type OpenAiEngineOptions } from '../../src/tts/openai.ts'
import { wavFromPcm } from '../../src/tts/wav.ts'
import { startFakeHttp, tone, type FakeHttpServer, type QueuedFailure } from './fake-http.ts'

export const OPENAI_TEST_KEY = 'sk-test-briefcast-0123456789'
const KOKORO_VOICES = ['af_heart', 'af_bella', 'am_adam', 'bf_emma']

export interface FakeOpenAi extends FakeHttpServer {
  flavour: 'openai' | 'kokoro'
}

function error(status: number, message: string, type: string, code: string | null, param: string | null = null): QueuedFailure {
  return { status, body: { error: { message, type, param, code } } }
}

/** OpenAI's answers to common failures. */
export const openAiErrors = {
  badKey: () => error(401, 'Incorrect API key provided: sk-wrong***. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key'),
  rateLimited: (retryAfterS?: number): QueuedFailure => ({
    ...error(429, 'Rate limit reached for tts-1 in organization org-test on requests per min (RPM): Limit 3, Used 3, Requested 1.', 'requests', 'rate_limit_exceeded'),
    ...(retryAfterS !== undefined ? { headers: { 'retry-after': String(retryAfterS) } } : {}),
  }),
  quota: () => error(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'),
  server: () => error(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null),
  overloaded: () => error(503, 'The engine is currently overloaded, please try again later.', 'server_error', null),
}

function streamedWav(pcm: Buffer, rate: number): Buffer {
  const wav = wavFromPcm(pcm, rate)
  // A streaming server does not know the sizes yet.
  wav.writeUInt32LE(0xffffffff, 4)
  wav.writeUInt32LE(0xffffffff, 40)
  return wav
}

export async function startFakeOpenAi(options: { apiKey?: string | null; flavour?: 'openai' | 'kokoro' } = {}): Promise<FakeOpenAi> {
  const flavour = options.flavour ?? 'openai'
  const key = options.apiKey === undefined ? OPENAI_TEST_KEY : options.apiKey
  const voices = flavour === 'kokoro' ? KOKORO_VOICES : OPENAI_VOICES
  const fake = await startFakeHttp((req) => {
    if (key !== null && req.headers.authorization !== `Bearer ${key}`)
      return req.headers.authorization
        ? openAiErrors.badKey()
        : error(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'invalid_request_error', null)
    if (req.method === 'GET' && req.path === '/v1/audio/voices') {
      if (flavour === 'openai') return error(404, 'Invalid URL (GET /v1/audio/voices)', 'invalid_request_error', null)
      return { status: 200, body: { voices: KOKORO_VOICES } }
    }
    if (req.method !== 'POST' || req.path !== '/v1/audio/speech') return error(404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error', null)
    if (!String(req.headers['content-type']).startsWith('application/json')) return error(400, 'Content-Type must be application/json', 'invalid_request_error', null)
    const body = JSON.parse(req.body) as { model?: string; input?: string; voice?: string; speed?: number; response_format?: string }
    if (!body.model || !['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts', 'kokoro'].includes(body.model))
      return error(404, `The model \`${body.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found')
    if (typeof body.input !== 'string' || body.input.length === 0) return error(400, "Missing required parameter: 'input'.", 'invalid_request_error', 'missing_required_parameter', 'input')
    if (body.input.length > 4096) return error(400, "Invalid 'input': string too long. Expected a string with maximum length 4096.", 'invalid_request_error', 'string_above_max_length', 'input')
    if (!body.voice || !voices.includes(body.voice))
      return error(400, `Invalid value for 'voice': '${body.voice}'. Supported values are: ${voices.map((v) => `'${v}'`).join(', ')}.`, 'invalid_request_error', 'invalid_value', 'voice')
    if (body.speed !== undefined && (body.speed < 0.25 || body.speed > 4)) return error(400, "Invalid 'speed'.", 'invalid_request_error', 'invalid_value', 'speed')
    const pcm = tone(body.input, 24_000, body.speed ?? 1)
    if (body.response_format === 'pcm') return { status: 200, headers: { 'content-type': 'audio/pcm' }, body: pcm }
    if (body.response_format === 'wav') return { status: 200, headers: { 'content-type': 'audio/wav' }, body: streamedWav(pcm, 24_000) }
    return error(400, `Invalid value for 'response_format': '${body.response_format}'.`, 'invalid_request_error', 'invalid_value', 'response_format')
  })
  return Object.assign(fake, { flavour })
}

export function fakeOpenAiOptions(fake: FakeHttpServer, extra: Partial<OpenAiEngineOptions> = {}): OpenAiEngineOptions {
  return { baseUrl: fake.url, apiKey: OPENAI_TEST_KEY, model: 'tts-1', responseFormat: 'wav', retryBaseMs: 5, maxRetries: 3, requestsPerMinute: 100_000, ...extra }
}

export function createFakeOpenAiEngine(fake: FakeHttpServer, extra: Partial<OpenAiEngineOptions> = {}): Promise<OpenAiEngine> {
  return createOpenAiEngine(fakeOpenAiOptions(fake, extra))
}
