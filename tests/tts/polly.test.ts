import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { createPollyEngine, pollyInput } from '../../src/tts/polly.ts'
import { fakeEngineFixture, fakeServerContract } from './fake-http.ts'
import { createFakePollyEngine, POLLY_KEY_ID, pollyErrors, startFakePolly } from './fake-polly.ts'

fakeServerContract('polly (local Polly REST server, real AWS SDK)', startFakePolly, createFakePollyEngine, { name: 'Joanna', language: 'en-US' })

describe('Polly engine against a local Polly server', () => {
  const fx = fakeEngineFixture(startFakePolly, createFakePollyEngine)

  test('signs with SigV4 and asks for pcm audio, then word + sentence speech marks', async () => {
    const text = 'Good morning. The council met today.'
    const clip = await fx.engine.synthesize({ text, voice: { name: 'Joanna', language: 'en-US', model: 'long-form' } })
    expect(fx.fake.received.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/speech', 'POST /v1/speech'])
    for (const r of fx.fake.received)
      expect(r.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${POLLY_KEY_ID}/\\d{8}/eu-west-1/polly/aws4_request, SignedHeaders=[^ ]*x-amz-date[^ ]*, Signature=[0-9a-f]{64}$`))
    expect(JSON.parse(fx.fake.received[0]!.body)).toEqual({ Engine: 'long-form', VoiceId: 'Joanna', Text: text, TextType: 'text', OutputFormat: 'pcm', SampleRate: '16000' })
    expect(JSON.parse(fx.fake.received[1]!.body)).toEqual({ Engine: 'long-form', VoiceId: 'Joanna', Text: text, TextType: 'text', OutputFormat: 'json', SpeechMarkTypes: ['word', 'sentence'] })
    expect(clip.sampleRate).toBe(16000)
    expect(clip.words?.map((w) => text.slice(w.offset, w.offset + w.length))).toEqual(['Good', 'morning.', 'The', 'council', 'met', 'today.'])
    expect(clip.words![1]!.startMs).toBe(5 * 55)
    // Both calls are billed: the characters Polly reported (x-amzn-RequestCharacters) for each.
    expect(clip.characters).toBe(2 * text.length)
  })

  test('a rate goes as SSML prosody; word offsets still point into the request text (UTF-8 too)', async () => {
    const text = 'Café & crème for Zoë.'
    const clip = await fx.engine.synthesize({ text, voice: { name: 'Joanna', language: 'en-US', rate: 1.25 } })
    const sent = JSON.parse(fx.fake.received[0]!.body) as { Text: string; TextType: string }
    expect(sent).toMatchObject({ TextType: 'ssml', Text: '<speak><prosody rate="125%">Café &amp; crème for Zoë.</prosody></speak>' })
    expect(clip.words?.map((w) => text.slice(w.offset, w.offset + w.length))).toEqual(['Café', '&', 'crème', 'for', 'Zoë.'])
    const input = pollyInput({ text: 'Zoë says hi', voice: { language: 'en' } }, 'x')
    expect(input.toRequestOffset(Buffer.byteLength('Zoë '))).toBe(4)
  })

  test('SSML goes as SSML; no voice name picks a voice for the language and gender', async () => {
    await fx.engine.synthesize({ text: '<speak>Hallo <break time="300ms"/> Welt</speak>', ssml: true, voice: { language: 'de-DE', gender: 'female' } })
    expect(fx.fake.received.map((r) => r.path)).toEqual(['/v1/voices', '/v1/speech', '/v1/speech'])
    expect(JSON.parse(fx.fake.received[1]!.body)).toMatchObject({ VoiceId: 'Vicki', Engine: 'neural', TextType: 'ssml', Text: '<speak>Hallo <break time="300ms"/> Welt</speak>' })
    await expect(fx.engine.synthesize({ text: 'Bonjour', voice: { language: 'fr-FR' } })).rejects.toMatchObject({ code: 'UNKNOWN_VOICE' })
  })

  test('lists voices with languages, genders and engines', async () => {
    const voices = await fx.engine.listVoices()
    expect(voices.find((v) => v.name === 'Joanna')).toMatchObject({ engine: 'polly', languages: ['en-US'], gender: 'female', description: expect.stringContaining('generative') })
  })

  test('retries ThrottlingException and ServiceFailureException; gives up with RATE_LIMITED', async () => {
    fx.fake.failures.push(pollyErrors.throttled(), pollyErrors.serviceFailure())
    await fx.engine.synthesize({ text: 'Busy.', voice: { name: 'Joanna', language: 'en-US' } })
    expect(fx.fake.received).toHaveLength(4) // 2 failures, audio, marks
    const strict = await createFakePollyEngine(fx.fake, { maxRetries: 1 })
    fx.fake.received.length = 0
    fx.fake.failures.push(pollyErrors.throttled(), pollyErrors.throttled())
    await expect(strict.synthesize({ text: 'Busy.', voice: { name: 'Joanna', language: 'en-US' } })).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    expect(fx.fake.received).toHaveLength(2)
    await strict.close()
  })

  test('wrong secret, unknown key id, unknown voice, unsupported engine, quota: each mapped, none retried', async () => {
    const wrongSecret = await createFakePollyEngine(fx.fake, { secretAccessKey: 'not-the-secret' })
    const err = (await wrongSecret.synthesize({ text: 'Hi.', voice: { name: 'Joanna', language: 'en-US' } }).then(() => undefined, (e: unknown) => e)) as Error & { code: string; help: string }
    expect(err).toMatchObject({ code: 'ENGINE_AUTH_FAILED', message: expect.stringContaining('InvalidSignatureException'), help: expect.stringContaining('AWS_SECRET_ACCESS_KEY') })
    expect(`${err.message} ${err.help}`).not.toContain('not-the-secret')
    const wrongId = await createFakePollyEngine(fx.fake, { accessKeyId: 'AKIANOTAKEY' })
    await expect(wrongId.synthesize({ text: 'Hi.', voice: { name: 'Joanna', language: 'en-US' } })).rejects.toMatchObject({ code: 'ENGINE_AUTH_FAILED', message: expect.stringContaining('UnrecognizedClientException') })
    expect(fx.fake.received).toHaveLength(2)
    await expect(fx.engine.synthesize({ text: 'Hi.', voice: { name: 'Nobody', language: 'en-US' } })).rejects.toMatchObject({ code: 'UNKNOWN_VOICE', help: expect.stringContaining('briefcast voices --engine polly') })
    await expect(fx.engine.synthesize({ text: 'Hi.', voice: { name: 'Matthew', language: 'en-US', model: 'long-form' } })).rejects.toMatchObject({ code: 'UNKNOWN_VOICE', message: expect.stringContaining('EngineNotSupportedException') })
    await expect(fx.engine.synthesize({ text: 'Hi.', voice: { name: 'Joanna', language: 'en-US', model: 'turbo' } })).rejects.toMatchObject({ code: 'UNKNOWN_VOICE' })
    fx.fake.failures.push(pollyErrors.quota())
    await expect(fx.engine.synthesize({ text: 'Hi.', voice: { name: 'Joanna', language: 'en-US' } })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    await Promise.all([wrongSecret.close(), wrongId.close()])
  })

  test('no keys and nothing in the AWS default chain: MISSING_CREDENTIALS naming the settings, nothing sent', async () => {
    const saved = { ...process.env }
    const home = mkdtempSync(path.join(os.tmpdir(), 'briefcast-nohome-'))
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k]
    process.env.HOME = home
    process.env.AWS_EC2_METADATA_DISABLED = 'true'
    try {
      const bare = await createPollyEngine({ region: 'eu-west-1', endpoint: fx.fake.url, maxRetries: 0 })
      await expect(bare.synthesize({ text: 'Anyone?', voice: { name: 'Joanna', language: 'en-US' } })).rejects.toMatchObject({
        code: 'MISSING_CREDENTIALS',
        help: expect.stringContaining('AWS_ACCESS_KEY_ID'),
      })
      await bare.close()
      expect(fx.fake.received).toHaveLength(0)
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })

  test('half a key pair is MISSING_CREDENTIALS naming both settings', async () => {
    await expect(createPollyEngine({ region: 'eu-west-1', accessKeyId: POLLY_KEY_ID })).rejects.toMatchObject({
      code: 'MISSING_CREDENTIALS',
      help: expect.stringContaining('AWS_SECRET_ACCESS_KEY'),
    })
  })
})
