/**
 * A local server speaking ElevenLabs' REST API: GET /v1/voices and
 * POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=pcm_*
 * (https://elevenlabs.io/docs/api-reference/text-to-speech/convert-with-timestamps),
 * authenticated by the xi-api-key header, answering {audio_base64, alignment:
 * {characters, character_start_times_seconds, character_end_times_seconds}}
 * and ElevenLabs' error bodies ({"detail": {"status", "message"}}).
 */
import { createElevenLabsEngine, type ElevenLabsEngine, type ElevenLabsEngineOptions } from '../../src/tts/elevenlabs.ts'
import { MS_PER_CHAR, startFakeHttp, tone, type FakeHttpServer, type QueuedFailure } from './fake-http.ts'

export const ELEVENLABS_TEST_KEY = 'xi-test-key-0123456789'
export const RACHEL = '21m00Tcm4TlvDq8ikWAM'
const VOICES = [
  { voice_id: RACHEL, name: 'Rachel', category: 'premade', labels: { gender: 'female', accent: 'american' }, verified_languages: [{ language: 'en', model_id: 'eleven_multilingual_v2', accent: 'american' }] },
  { voice_id: 'pNInz6obpgDQGcFmaJgB', name: 'Adam', category: 'premade', labels: { gender: 'male', accent: 'american' }, verified_languages: [] },
]
const MODELS = ['eleven_multilingual_v2', 'eleven_flash_v2_5', 'eleven_turbo_v2_5', 'eleven_v3']
const FORMATS: Record<string, number> = { pcm_16000: 16000, pcm_22050: 22050, pcm_24000: 24000, pcm_44100: 44100 }

function detail(status: number, kind: string, message: string, headers?: Record<string, string>): QueuedFailure {
  return { status, body: { detail: { status: kind, message } }, ...(headers ? { headers } : {}) }
}

export const elevenLabsErrors = {
  badKey: () => detail(401, 'invalid_api_key', 'Invalid API key'),
  quota: () => detail(401, 'quota_exceeded', 'This request exceeds your quota of 10000. You have 35 credits remaining, while 120 credits are required for this request.'),
  busy: (retryAfterS?: number) => detail(429, 'too_many_concurrent_requests', 'Too many concurrent requests for your subscription.', retryAfterS !== undefined ? { 'retry-after': String(retryAfterS) } : undefined),
  server: () => ({ status: 500, body: { detail: { status: 'internal_error', message: 'An internal error occurred.' } } }),
}

export async function startFakeElevenLabs(): Promise<FakeHttpServer> {
  return startFakeHttp((req) => {
    if (req.headers['xi-api-key'] !== ELEVENLABS_TEST_KEY) return elevenLabsErrors.badKey()
    if (req.method === 'GET' && req.path === '/v1/voices') return { status: 200, body: { voices: VOICES } }
    const m = /^\/v1\/text-to-speech\/([^/]+)\/with-timestamps$/.exec(req.path)
    if (req.method !== 'POST' || !m) return { status: 404, body: { detail: 'Not Found' } }
    const voiceId = decodeURIComponent(m[1]!)
    if (!VOICES.some((v) => v.voice_id === voiceId)) return detail(400, 'voice_not_found', `A voice for the voice_id ${voiceId} was not found.`)
    const format = req.query.get('output_format') ?? 'mp3_44100_128'
    const rate = FORMATS[format]
    if (!rate) return { status: 422, body: { detail: [{ loc: ['query', 'output_format'], msg: `unsupported output format ${format}`, type: 'value_error' }] } }
    const body = JSON.parse(req.body) as { text?: string; model_id?: string; voice_settings?: { speed?: number } }
    if (!body.text) return { status: 422, body: { detail: [{ loc: ['body', 'text'], msg: 'field required', type: 'value_error.missing' }] } }
    if (body.model_id && !MODELS.includes(body.model_id)) return detail(400, 'model_not_found', `A model with model ID ${body.model_id} does not exist.`)
    const speed = body.voice_settings?.speed ?? 1
    const chars = [...body.text]
    const per = MS_PER_CHAR / speed / 1000
    return {
      status: 200,
      body: {
        audio_base64: tone(body.text, rate, speed).toString('base64'),
        alignment: { characters: chars, character_start_times_seconds: chars.map((_, i) => i * per), character_end_times_seconds: chars.map((_, i) => (i + 1) * per) },
        normalized_alignment: null,
      },
    }
  })
}

export function createFakeElevenLabsEngine(fake: FakeHttpServer, extra: Partial<ElevenLabsEngineOptions> = {}): Promise<ElevenLabsEngine> {
  return createElevenLabsEngine({ baseUrl: fake.url, apiKey: ELEVENLABS_TEST_KEY, model: 'eleven_multilingual_v2', retryBaseMs: 5, maxRetries: 3, requestsPerMinute: 100_000, ...extra })
}
