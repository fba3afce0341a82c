import { describe, expect, test } from 'vitest'
import * as grpc from '@grpc/grpc-js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createGoogleEngine, GOOGLE_MAX_INPUT_BYTES } from '../../src/tts/google.ts'
import { fakeEngineFixture, fakeServerContract } from './fake-http.ts'
import { createFakeGoogleEngine, startFakeGoogle } from './fake-google.ts'

fakeServerContract('google (local gRPC server)', startFakeGoogle, createFakeGoogleEngine, { name: 'en-US-Neural2-F', language: 'en-US' })

describe('Google engine against a local TextToSpeech server', () => {
  const fx = fakeEngineFixture(startFakeGoogle, createFakeGoogleEngine)

  test('sends voice name, LINEAR16 and every audio setting the voice accepts', async () => {
    const clip = await fx.engine.synthesize({
      text: 'Hello from the newsroom.',
      voice: { name: 'en-US-Neural2-F', language: 'en-US', rate: 1.25, pitch: -2, volumeGainDb: 3, effectsProfileId: ['headphone-class-device'] },
    })
    expect(fx.fake.received).toHaveLength(1)
    const req = fx.fake.received[0]!
    expect(req.input).toMatchObject({ text: 'Hello from the newsroom.' })
    expect(req.input.ssml).toBeUndefined()
    expect(req.voice).toEqual({ languageCode: 'en-US', name: 'en-US-Neural2-F' })
    expect(req.audioConfig).toMatchObject({ audioEncoding: 'LINEAR16', speakingRate: 1.25, pitch: -2, volumeGainDb: 3, effectsProfileId: ['headphone-class-device'] })
    // The WAV header of the LINEAR16 response is parsed, not played as samples.
    expect(clip.sampleRate).toBe(24000)
    expect(clip.pcm.subarray(0, 4).toString('ascii')).not.toBe('RIFF')
    expect(clip.durationMs).toBeCloseTo(('Hello from the newsroom.'.length * 55) / 1.25, -1)
  })

  test('language + gender when no voice name is given; SSML goes as ssml', async () => {
    await fx.engine.synthesize({ text: '<speak>Hi <break time="300ms"/> there</speak>', ssml: true, voice: { language: 'de-DE', gender: 'female' } })
    const req = fx.fake.received[0]!
    expect(req.voice).toEqual({ languageCode: 'de-DE', ssmlGender: 'FEMALE' })
    expect(req.input.ssml).toBe('<speak>Hi <break time="300ms"/> there</speak>')
    expect(req.input.text).toBeUndefined()
  })

  test('Chirp 3: HD voices get plain text and no pitch', async () => {
    await fx.engine.synthesize({
      text: '<speak>Markets &amp; money. <break time="1s"/> Next.</speak>',
      ssml: true,
      voice: { name: 'en-US-Chirp3-HD-Charon', language: 'en-US', pitch: 3, rate: 1.1 },
    })
    const req = fx.fake.received[0]!
    expect(req.input.ssml).toBeUndefined()
    expect(req.input.text).toBe('Markets & money. Next.')
    expect(req.audioConfig.pitch).toBeUndefined()
    expect(req.audioConfig.speakingRate).toBeCloseTo(1.1)
  })

  test('input over 5000 bytes is refused before any call', async () => {
    const text = 'é'.repeat(GOOGLE_MAX_INPUT_BYTES / 2 + 1) // 5002 bytes, 2501 characters
    await expect(fx.engine.synthesize({ text, voice: { name: 'en-US-Neural2-F', language: 'en-US' } })).rejects.toMatchObject({
      code: 'TEXT_TOO_LONG',
      message: expect.stringContaining('en-US-Neural2-F'),
    })
    expect(fx.fake.received).toHaveLength(0)
  })

  test('retries UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED with backoff', async () => {
    fx.fake.failures.push({ code: grpc.status.UNAVAILABLE }, { code: grpc.status.DEADLINE_EXCEEDED }, { code: grpc.status.RESOURCE_EXHAUSTED })
    const clip = await fx.engine.synthesize({ text: 'Third time lucky.', voice: { name: 'en-US-Neural2-F', language: 'en-US' } })
    expect(clip.durationMs).toBeGreaterThan(0)
    expect(fx.fake.received).toHaveLength(4)
  })

  test('never retries INVALID_ARGUMENT; maps it to a code naming the voice', async () => {
    fx.fake.failures.push({ code: grpc.status.INVALID_ARGUMENT, details: 'Voice en-US-Nope-X does not exist.' })
    await expect(fx.engine.synthesize({ text: 'Hello.', voice: { name: 'en-US-Nope-X', language: 'en-US' } })).rejects.toMatchObject({
      code: 'UNKNOWN_VOICE',
      details: expect.objectContaining({ voice: 'en-US-Nope-X' }),
    })
    expect(fx.fake.received).toHaveLength(1)
    fx.fake.failures.push({ code: grpc.status.INVALID_ARGUMENT, details: 'Invalid SSML: unexpected tag' })
    await expect(fx.engine.synthesize({ text: '<speak>x</speak>', ssml: true, voice: { name: 'en-US-Neural2-F', language: 'en-US' } })).rejects.toMatchObject({
      code: 'SSML_REJECTED',
    })
    expect(fx.fake.received).toHaveLength(2)
  })

  test('malformed SSML is refused locally, before any call', async () => {
    await expect(fx.engine.synthesize({ text: '<speak>a <b>c</speak>', ssml: true, voice: { name: 'en-US-Neural2-F', language: 'en-US' } })).rejects.toMatchObject({
      code: 'SSML_REJECTED',
    })
    expect(fx.fake.received).toHaveLength(0)
  })

  test('gives up after maxRetries with ENGINE_UNAVAILABLE / RATE_LIMITED', async () => {
    const strict = await createFakeGoogleEngine(fx.fake, { maxRetries: 1 })
    try {
      fx.fake.failures.push({ code: grpc.status.UNAVAILABLE }, { code: grpc.status.UNAVAILABLE })
      await expect(strict.synthesize({ text: 'Down.', voice: { language: 'en-US' } })).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' })
      expect(fx.fake.received).toHaveLength(2)
      fx.fake.failures.push({ code: grpc.status.RESOURCE_EXHAUSTED }, { code: grpc.status.RESOURCE_EXHAUSTED })
      await expect(strict.synthesize({ text: 'Busy.', voice: { language: 'en-US' } })).rejects.toMatchObject({ code: 'RATE_LIMITED' })
      fx.fake.failures.push({ code: grpc.status.UNAUTHENTICATED })
      await expect(strict.synthesize({ text: 'Who?', voice: { language: 'en-US' } })).rejects.toMatchObject({ code: 'MISSING_CREDENTIALS' })
    } finally {
      await strict.close()
    }
  })

  test('keeps to the per-process requests-per-minute limit', async () => {
    const limited = await createFakeGoogleEngine(fx.fake, { requestsPerMinute: 2 })
    try {
      await limited.synthesize({ text: 'One.', voice: { language: 'en-US' } })
      await limited.synthesize({ text: 'Two.', voice: { language: 'en-US' } })
      // The third must wait for the window (a minute): it is still waiting when we give up on it.
      await expect(limited.synthesize({ text: 'Three.', voice: { language: 'en-US' } }, AbortSignal.timeout(400))).rejects.toMatchObject({ code: 'ABORTED' })
      expect(fx.fake.received).toHaveLength(2)
    } finally {
      await limited.close()
    }
  })

  test('no credentials at all: MISSING_CREDENTIALS on the call, no unhandled rejection, close() resolves', async () => {
    // Application Default Credentials from nowhere: no env key, an empty home, not on Google Cloud.
    const saved = { ...process.env }
    const home = mkdtempSync(path.join(os.tmpdir(), 'briefcast-nohome-'))
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS
    delete process.env.CLOUDSDK_CONFIG
    process.env.HOME = home
    process.env.METADATA_SERVER_DETECTION = 'none'
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      // A real client (no sslCreds override), pointed at the fx.fake server: it must never get that far.
      const bare = await createGoogleEngine({ apiEndpoint: '127.0.0.1', port: fx.fake.port, maxRetries: 0 })
      await expect(bare.synthesize({ text: 'Anyone?', voice: { language: 'en-US' } })).rejects.toMatchObject({
        code: 'MISSING_CREDENTIALS',
        message: expect.stringContaining('credentials'),
      })
      // Again (the SDK caches the failed initialization), and through listVoices.
      await expect(bare.synthesize({ text: 'Still?', voice: { language: 'en-US' } })).rejects.toMatchObject({ code: 'MISSING_CREDENTIALS' })
      await expect(bare.listVoices()).rejects.toMatchObject({ code: 'MISSING_CREDENTIALS' })
      await bare.close()
      // Unhandled rejections are reported after the microtask queue drains: give them a few turns of the loop.
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20))
      expect(unhandled).toEqual([])
      expect(fx.fake.received).toHaveLength(0)
    } finally {
      process.off('unhandledRejection', onUnhandled)
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })

  test('a named key file that does not exist or is not a key is MISSING_CREDENTIALS', async () => {
    await expect(createGoogleEngine({ keyFile: '/nonexistent/briefcast-key.json' })).rejects.toMatchObject({
      code: 'MISSING_CREDENTIALS',
      message: expect.stringContaining('/nonexistent/briefcast-key.json'),
    })
    const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-key-'))
    const bad = path.join(dir, 'key.json')
    writeFileSync(bad, 'not json')
    await expect(createGoogleEngine({ keyFile: bad })).rejects.toMatchObject({ code: 'MISSING_CREDENTIALS' })
  })
})
