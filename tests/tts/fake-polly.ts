/**
 * A local server speaking Amazon Polly's REST protocol (restJson1:
 * POST /v1/speech, GET /v1/voices; errors as a status, an x-amzn-ErrorType
 * header and {"message"}), driven by the real @aws-sdk/client-polly pointed
 * at it with `endpoint`. Every request must carry a SigV4 Authorization header
 * (AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/polly/aws4_request,
 * SignedHeaders=..., Signature=...), and the signature is recomputed here from
 * the test secret (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html),
 * so a wrong secret fails as it does on AWS. Audio is a tone as long as the
 * text (SSML breaks add silence, prosody rate shortens it); speech marks are
 * one JSON object per line with UTF-8 byte offsets into the text sent.
 */
import { createHash, createHmac } from 'node:crypto'
import { createPollyEngine, type PollyEngine, type PollyEngineOptions } from '../../src/tts/polly.ts'
import { MS_PER_CHAR, startFakeHttp, tone, type FakeHttpServer, type QueuedFailure, type RecordedRequest } from './fake-http.ts'

export const POLLY_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
export const POLLY_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const REGION = 'eu-west-1'

const VOICES = [
  { Id: 'Joanna', Name: 'Joanna', Gender: 'Female', LanguageCode: 'en-US', LanguageName: 'US English', SupportedEngines: ['standard', 'neural', 'long-form', 'generative'] },
  { Id: 'Matthew', Name: 'Matthew', Gender: 'Male', LanguageCode: 'en-US', LanguageName: 'US English', SupportedEngines: ['standard', 'neural', 'generative'] },
  { Id: 'Vicki', Name: 'Vicki', Gender: 'Female', LanguageCode: 'de-DE', LanguageName: 'German', SupportedEngines: ['standard', 'neural', 'generative'] },
]

export function pollyError(status: number, type: string, message: string, headers: Record<string, string> = {}): QueuedFailure {
  return { status, headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.tts/`, ...headers }, body: { message } }
}

export const pollyErrors = {
  throttled: () => pollyError(400, 'ThrottlingException', 'Rate exceeded'),
  serviceFailure: () => pollyError(500, 'ServiceFailureException', 'An unknown condition has caused a service failure.'),
  quota: () => pollyError(402, 'ServiceQuotaExceededException', 'Service quota exceeded for SynthesizeSpeech.'),
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest()
const sha256hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex')
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** The SigV4 check AWS makes: null when the request is signed with the test secret, else the error AWS would answer. */
export function checkSigV4(req: RecordedRequest): QueuedFailure | null {
  const auth = String(req.headers.authorization ?? '')
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/polly\/aws4_request, SignedHeaders=([a-z0-9;:-]+), Signature=([0-9a-f]{64})$/.exec(auth)
  if (!m) return pollyError(403, 'IncompleteSignatureException', `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${auth.split(' ')[0]}`)
  const [, keyId, date, region, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string]
  const amzDate = String(req.headers['x-amz-date'] ?? '')
  if (!amzDate.startsWith(date)) return pollyError(403, 'IncompleteSignatureException', 'X-Amz-Date does not match the credential date.')
  if (keyId !== POLLY_KEY_ID) return pollyError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
  const signed = signedHeaders.split(';')
  if (!(signed.includes('host') || signed.includes(':authority')) || !signed.includes('x-amz-date')) return pollyError(403, 'IncompleteSignatureException', 'host and x-amz-date must be signed.')
  const canonicalHeaders = signed.map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('')
  const query = [...req.query.entries()].map(([k, v]) => [uriEncode(k), uriEncode(v)] as const).sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('&')
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? sha256hex(req.body))
  const canonical = [req.method, req.path.split('/').map(uriEncode).join('/'), query, canonicalHeaders, signedHeaders, payloadHash].join('\n')
  const scope = `${date}/${region}/polly/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${POLLY_SECRET}`, date), region), 'polly'), 'aws4_request')
  if (hmac(key, toSign).toString('hex') !== signature)
    return pollyError(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.')
  return null
}

function stripTags(s: string): string {
  return s.replace(/<[^>]*>/g, '')
}

/** Spoken words of the text (outside tags) with their UTF-8 byte offsets and start times. */
function speechMarks(text: string, ssml: boolean, rate: number): { lines: string[]; ms: number } {
  const lines: string[] = [JSON.stringify({ time: 0, type: 'sentence', start: 0, end: Buffer.byteLength(text), value: stripTags(text) })]
  let ms = 0
  const re = ssml ? /<break\b[^>]*time="(\d+(?:\.\d+)?)(ms|s)"[^>]*>|<[^>]*>|[^<\s]+|\s+/g : /[^\s]+|\s+/g
  for (const m of text.matchAll(re)) {
    const tok = m[0]
    if (tok.startsWith('<')) {
      if (m[1]) ms += Number(m[1]) * (m[2] === 's' ? 1000 : 1)
      continue
    }
    if (!/\S/.test(tok)) {
      ms += (tok.length * MS_PER_CHAR) / rate
      continue
    }
    const start = Buffer.byteLength(text.slice(0, m.index))
    lines.push(JSON.stringify({ time: Math.round(ms), type: 'word', start, end: start + Buffer.byteLength(tok), value: tok }))
    ms += (tok.length * MS_PER_CHAR) / rate
  }
  return { lines, ms }
}

export async function startFakePolly(): Promise<FakeHttpServer> {
  return startFakeHttp((req) => {
    const authProblem = checkSigV4(req)
    if (authProblem) return authProblem
    if (req.method === 'GET' && req.path === '/v1/voices') {
      const engine = req.query.get('Engine')
      return { status: 200, body: { Voices: VOICES.filter((v) => !engine || v.SupportedEngines.includes(engine)) } }
    }
    if (req.method !== 'POST' || req.path !== '/v1/speech') return pollyError(404, 'UnknownOperationException', 'Unknown operation')
    const input = JSON.parse(req.body) as { Engine?: string; VoiceId?: string; Text?: string; TextType?: string; OutputFormat?: string; SampleRate?: string; SpeechMarkTypes?: string[] }
    const voice = VOICES.find((v) => v.Id === input.VoiceId)
    if (!voice) return pollyError(400, 'ValidationException', `1 validation error detected: Value '${input.VoiceId}' at 'voiceId' failed to satisfy constraint: Member must satisfy enum value set: [${VOICES.map((v) => v.Id).join(', ')}]`)
    const engine = input.Engine ?? 'standard'
    if (!voice.SupportedEngines.includes(engine)) return pollyError(400, 'EngineNotSupportedException', `This voice does not support the selected engine: ${engine}`)
    const text = input.Text ?? ''
    const ssml = input.TextType === 'ssml'
    if (ssml && !/^\s*<speak\b[\s\S]*<\/speak>\s*$/.test(text)) return pollyError(400, 'InvalidSsmlException', 'Invalid SSML request')
    const billed = [...stripTags(text)].length
    if (billed > 3000 || text.length > 6000) return pollyError(400, 'TextLengthExceededException', 'Maximum text length has been exceeded')
    const rate = ssml ? Number(/<prosody\b[^>]*rate="(\d+)%"/.exec(text)?.[1] ?? 100) / 100 : 1
    const { lines, ms } = speechMarks(text, ssml, rate)
    const headers = { 'x-amzn-requestcharacters': String(billed) }
    if (input.OutputFormat === 'json') {
      if (!input.SpeechMarkTypes?.length) return pollyError(400, 'MarksNotSupportedForFormatException', 'Speech marks need SpeechMarkTypes.')
      const wanted = new Set(input.SpeechMarkTypes)
      const body = lines.filter((l) => wanted.has((JSON.parse(l) as { type: string }).type)).join('\n') + '\n'
      return { status: 200, headers: { ...headers, 'content-type': 'application/x-json-stream' }, body: Buffer.from(body) }
    }
    if (input.OutputFormat !== 'pcm') return pollyError(400, 'ValidationException', 'Only pcm is served by this fake.')
    if (!['8000', '16000'].includes(input.SampleRate ?? '16000')) return pollyError(400, 'InvalidSampleRateException', `Invalid sample rate ${input.SampleRate} for pcm.`)
    const speechMs = [...stripTags(text)].length * MS_PER_CHAR / rate
    const pcm = tone(stripTags(text), Number(input.SampleRate ?? 16000), rate, Math.max(0, ms - speechMs))
    return { status: 200, headers: { ...headers, 'content-type': 'audio/pcm' }, body: pcm }
  }, { http2: true })
}

export function fakePollyOptions(fake: FakeHttpServer, extra: Partial<PollyEngineOptions> = {}): PollyEngineOptions {
  return { region: REGION, endpoint: fake.url, accessKeyId: POLLY_KEY_ID, secretAccessKey: POLLY_SECRET, retryBaseMs: 5, maxRetries: 3, requestsPerMinute: 100_000, ...extra }
}

export function createFakePollyEngine(fake: FakeHttpServer, extra: Partial<PollyEngineOptions> = {}): Promise<PollyEngine> {
  return createPollyEngine(fakePollyOptions(fake, extra))
}
