import { describe, expect, test } from 'vitest'
import { createOpenAiEngine, streamedWavToPcm } from '../../src/tts/openai.ts'
import { wavFromPcm } from '../../src/tts/wav.ts'
import { fakeEngineFixture, fakeServerContract } from './fake-http.ts'
import { createFakeOpenAiEngine, openAiErrors, startFakeOpenAi } from './fake-openai.ts'

fakeServerContract('openai (local OpenAI-compatible server)', startFakeOpenAi, createFakeOpenAiEngine, { name: 'nova', language: 'en-US' })

describe('OpenAI-compatible engine against a local server', () => {
  const fx = fakeEngineFixture(startFakeOpenAi, createFakeOpenAiEngine)

  test('POSTs model, voice, input, speed and response_format to /v1/audio/speech with the Bearer key', async () => {
    const clip = await fx.engine.synthesize({ text: 'Hello from the newsroom.', voice: { name: 'nova', language: 'en-US', rate: 1.25 } })
    expect(fx.fake.received).toHaveLength(1)
    const req = fx.fake.received[0]!
    expect(req.method).toBe('POST')
    expect(req.path).toBe('/v1/audio/speech')
    expect(req.headers.authorization).toBe('Bearer sk-test-briefcast-0123456789')
    expect(JSON.parse(req.body)).toEqual({ model: 'tts-1', input: 'Hello from the newsroom.', voice: 'nova', speed: 1.25, response_format: 'wav' })
    // The streamed WAV header (sizes 0xFFFFFFFF) is parsed, its samples kept.
    expect(clip.sampleRate).toBe(24000)
    expect(clip.durationMs).toBeCloseTo(('Hello from the newsroom.'.length * 55) / 1.25, -1)
    expect(clip.characters).toBe('Hello from the newsroom.'.length)
  })

  test('a voice may name its own model; pcm answers are read as raw 24 kHz', async () => {
    const pcmEngine = await createFakeOpenAiEngine(fx.fake, { responseFormat: 'pcm' })
    const clip = await pcmEngine.synthesize({ text: 'Raw samples.', voice: { name: 'onyx', language: 'en', model: 'tts-1-hd' } })
    expect(JSON.parse(fx.fake.received[0]!.body)).toMatchObject({ model: 'tts-1-hd', response_format: 'pcm' })
    expect(clip.sampleRate).toBe(24000)
    expect(clip.durationMs).toBeCloseTo('Raw samples.'.length * 55, -1)
  })

  test('SSML is sent as its text (the API takes none)', async () => {
    await fx.engine.synthesize({ text: '<speak>Markets &amp; money. <break time="1s"/> Next.</speak>', ssml: true, voice: { name: 'nova', language: 'en' } })
    expect(JSON.parse(fx.fake.received[0]!.body).input).toBe('Markets & money. Next.')
  })

  test('retries 429 and 5xx with backoff, honouring Retry-After', async () => {
    fx.fake.failures.push(openAiErrors.rateLimited(), openAiErrors.server(), openAiErrors.overloaded())
    const clip = await fx.engine.synthesize({ text: 'Third time lucky.', voice: { name: 'nova', language: 'en' } })
    expect(clip.durationMs).toBeGreaterThan(0)
    expect(fx.fake.received).toHaveLength(4)
    fx.fake.received.length = 0
    fx.fake.failures.push(openAiErrors.rateLimited(1))
    const t = Date.now()
    await fx.engine.synthesize({ text: 'After a second.', voice: { name: 'nova', language: 'en' } })
    expect(Date.now() - t).toBeGreaterThanOrEqual(950)
    expect(fx.fake.received).toHaveLength(2)
  })

  test('gives up after maxRetries: RATE_LIMITED for 429, ENGINE_UNAVAILABLE for 5xx and a server that is gone', async () => {
    const strict = await createFakeOpenAiEngine(fx.fake, { maxRetries: 1 })
    fx.fake.failures.push(openAiErrors.rateLimited(), openAiErrors.rateLimited())
    await expect(strict.synthesize({ text: 'Busy.', voice: { name: 'nova', language: 'en' } })).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    expect(fx.fake.received).toHaveLength(2)
    fx.fake.failures.push(openAiErrors.server(), openAiErrors.server())
    await expect(strict.synthesize({ text: 'Down.', voice: { name: 'nova', language: 'en' } })).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' })
    const gone = await startFakeOpenAi()
    await gone.close()
    const nowhere = await createFakeOpenAiEngine(gone, { maxRetries: 1 })
    await expect(nowhere.synthesize({ text: 'Anyone?', voice: { name: 'nova', language: 'en' } })).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' })
  })

  test('insufficient_quota is QUOTA_EXCEEDED at once (a 429 that no retry fixes)', async () => {
    fx.fake.failures.push(openAiErrors.quota())
    await expect(fx.engine.synthesize({ text: 'Broke.', voice: { name: 'nova', language: 'en' } })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      status: 402,
      help: expect.stringContaining('OPENAI_API_KEY'),
    })
    expect(fx.fake.received).toHaveLength(1)
  })

  test('a wrong key is ENGINE_AUTH_FAILED naming OPENAI_API_KEY, never echoing the key; an unknown voice is UNKNOWN_VOICE', async () => {
    const wrong = await createFakeOpenAiEngine(fx.fake, { apiKey: 'sk-wrong-key-secret-value' })
    const err = (await wrong.synthesize({ text: 'Hello.', voice: { name: 'nova', language: 'en' } }).then(() => undefined, (e: unknown) => e)) as Error & { code: string; help: string }
    expect(err).toMatchObject({ code: 'ENGINE_AUTH_FAILED', help: expect.stringContaining('OPENAI_API_KEY') })
    expect(JSON.stringify({ message: err.message, help: err.help, details: (err as { details?: unknown }).details })).not.toContain('sk-wrong-key-secret-value')
    expect(fx.fake.received).toHaveLength(1)
    await expect(fx.engine.synthesize({ text: 'Hello.', voice: { name: 'galadriel', language: 'en' } })).rejects.toMatchObject({
      code: 'UNKNOWN_VOICE',
      message: expect.stringContaining('galadriel'),
      help: expect.stringContaining('briefcast voices --engine openai'),
    })
  })

  test('a model the server does not have is UNKNOWN_VOICE naming the model setting', async () => {
    await expect(fx.engine.synthesize({ text: 'Hello.', voice: { name: 'nova', language: 'en', model: 'tts-9' } })).rejects.toMatchObject({
      code: 'UNKNOWN_VOICE',
      help: expect.stringContaining('BRIEFCAST_OPENAI_MODEL'),
    })
    expect(fx.fake.received).toHaveLength(1)
  })

  test('api.openai.com without a key is MISSING_CREDENTIALS at start; a self-hosted server needs none', async () => {
    await expect(createOpenAiEngine({ baseUrl: 'https://api.openai.com', model: 'tts-1' })).rejects.toMatchObject({ code: 'MISSING_CREDENTIALS', help: expect.stringContaining('OPENAI_API_KEY') })
    const kokoro = await startFakeOpenAi({ flavour: 'kokoro', apiKey: null })
    try {
      const local = await createOpenAiEngine({ baseUrl: `${kokoro.url}/v1`, model: 'kokoro', retryBaseMs: 5 })
      const voices = await local.listVoices()
      expect(voices.map((v) => v.name)).toEqual(['af_heart', 'af_bella', 'am_adam', 'bf_emma'])
      const clip = await local.synthesize({ text: 'Local voice.', voice: { name: 'af_heart', language: 'en' } })
      expect(kokoro.received.at(-1)!.path).toBe('/v1/audio/speech') // "/v1" in the base URL is not doubled
      expect(kokoro.received.at(-1)!.headers.authorization).toBeUndefined()
      expect(clip.durationMs).toBeGreaterThan(0)
    } finally {
      await kokoro.close()
    }
  })

  test('OpenAI itself has no voice list: its documented voices are listed', async () => {
    const voices = await fx.engine.listVoices()
    expect(voices.map((v) => v.name)).toContain('nova')
    expect(fx.fake.received[0]!.path).toBe('/v1/audio/voices')
  })

  test('keeps to the requests-per-minute limit', async () => {
    const limited = await createFakeOpenAiEngine(fx.fake, { requestsPerMinute: 2, baseUrl: `${fx.fake.url}/` })
    await limited.synthesize({ text: 'One.', voice: { name: 'nova', language: 'en' } })
    await limited.synthesize({ text: 'Two.', voice: { name: 'nova', language: 'en' } })
    await expect(limited.synthesize({ text: 'Three.', voice: { name: 'nova', language: 'en' } }, AbortSignal.timeout(400))).rejects.toMatchObject({ code: 'ABORTED' })
    expect(fx.fake.received).toHaveLength(2)
  })

  test('a WAV with real sizes is read exactly; a non-WAV answer is a clear error', () => {
    const pcm = Buffer.alloc(4800, 1)
    expect(streamedWavToPcm(wavFromPcm(pcm, 22050), 'x')).toEqual({ pcm, sampleRate: 22050 })
    expect(() => streamedWavToPcm(Buffer.from('ID3 mp3 data here'), 'x')).toThrow(/responseFormat/)
  })
})
