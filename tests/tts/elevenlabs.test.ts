import { describe, expect, test } from 'vitest'
import { createElevenLabsEngine, wordsFromAlignment } from '../../src/tts/elevenlabs.ts'
import { fakeEngineFixture, fakeServerContract } from './fake-http.ts'
import { createFakeElevenLabsEngine, elevenLabsErrors, RACHEL, startFakeElevenLabs } from './fake-elevenlabs.ts'

fakeServerContract('elevenlabs (local ElevenLabs server)', startFakeElevenLabs, createFakeElevenLabsEngine, { name: RACHEL, language: 'en-US' })

describe('ElevenLabs engine against a local server', () => {
  const fx = fakeEngineFixture(startFakeElevenLabs, createFakeElevenLabsEngine)

  test('POSTs text and model_id to /with-timestamps with output_format=pcm_* and the xi-api-key header', async () => {
    const text = 'Good morning. The council met today.'
    const clip = await fx.engine.synthesize({ text, voice: { name: RACHEL, language: 'en-US', rate: 1.1 } })
    const req = fx.fake.received[0]!
    expect(req.path).toBe(`/v1/text-to-speech/${RACHEL}/with-timestamps`)
    expect(req.query.get('output_format')).toBe('pcm_22050')
    expect(req.headers['xi-api-key']).toBe('xi-test-key-0123456789')
    expect(JSON.parse(req.body)).toEqual({ text, model_id: 'eleven_multilingual_v2', voice_settings: { speed: 1.1 } })
    expect(clip.sampleRate).toBe(22050)
    expect(clip.characters).toBe(text.length)
    // Character timings grouped into words, at the offsets of the words in the text.
    expect(clip.words?.map((w) => text.slice(w.offset, w.offset + w.length))).toEqual(['Good', 'morning.', 'The', 'council', 'met', 'today.'])
    const per = 55 / 1.1
    expect(clip.words![1]!.startMs).toBeCloseTo(5 * per, -1)
    expect(clip.words![5]!.startMs).toBeCloseTo(text.indexOf('today') * per, -1)
  })

  test('another output format and a model of the voice\'s own', async () => {
    const hi = await createFakeElevenLabsEngine(fx.fake, { outputFormat: 'pcm_44100' })
    expect(hi.capabilities.sampleRate).toBe(44100)
    const clip = await hi.synthesize({ text: 'Fast model.', voice: { name: RACHEL, language: 'de-DE', model: 'eleven_flash_v2_5' } })
    const req = fx.fake.received[0]!
    expect(req.query.get('output_format')).toBe('pcm_44100')
    expect(JSON.parse(req.body)).toMatchObject({ model_id: 'eleven_flash_v2_5', language_code: 'de' })
    expect(clip.sampleRate).toBe(44100)
  })

  test('lists voices by id, with their names, genders and verified languages', async () => {
    const voices = await fx.engine.listVoices()
    expect(voices[0]).toMatchObject({ engine: 'elevenlabs', name: RACHEL, description: 'Rachel', gender: 'female', languages: ['en'] })
    expect(voices[1]!.languages).toContain('de') // no verified languages: the model's
  })

  test('retries 429 and 5xx; quota, bad key and unknown voice are mapped at once', async () => {
    fx.fake.failures.push(elevenLabsErrors.busy(), elevenLabsErrors.server())
    await fx.engine.synthesize({ text: 'Busy then fine.', voice: { name: RACHEL, language: 'en' } })
    expect(fx.fake.received).toHaveLength(3)
    fx.fake.received.length = 0
    fx.fake.failures.push(elevenLabsErrors.quota())
    await expect(fx.engine.synthesize({ text: 'No credits.', voice: { name: RACHEL, language: 'en' } })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      help: expect.stringContaining('ELEVENLABS_API_KEY'),
    })
    expect(fx.fake.received).toHaveLength(1)
    const wrong = await createFakeElevenLabsEngine(fx.fake, { apiKey: 'xi-wrong' })
    await expect(wrong.synthesize({ text: 'Who?', voice: { name: RACHEL, language: 'en' } })).rejects.toMatchObject({ code: 'ENGINE_AUTH_FAILED', help: expect.stringContaining('ELEVENLABS_API_KEY') })
    await expect(fx.engine.synthesize({ text: 'Who?', voice: { name: 'NoSuchVoice', language: 'en' } })).rejects.toMatchObject({
      code: 'UNKNOWN_VOICE',
      help: expect.stringContaining('briefcast voices --engine elevenlabs'),
    })
  })

  test('gives up after maxRetries with RATE_LIMITED', async () => {
    const strict = await createFakeElevenLabsEngine(fx.fake, { maxRetries: 1 })
    fx.fake.failures.push(elevenLabsErrors.busy(), elevenLabsErrors.busy())
    await expect(strict.synthesize({ text: 'Busy.', voice: { name: RACHEL, language: 'en' } })).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    expect(fx.fake.received).toHaveLength(2)
  })

  test('no key: MISSING_CREDENTIALS naming ELEVENLABS_API_KEY before any request', async () => {
    await expect(createElevenLabsEngine({ baseUrl: fx.fake.url, model: 'eleven_multilingual_v2' })).rejects.toMatchObject({
      code: 'MISSING_CREDENTIALS',
      help: expect.stringContaining('ELEVENLABS_API_KEY'),
    })
    expect(fx.fake.received).toHaveLength(0)
  })

  test('word timings survive characters the server dropped or changed', () => {
    const text = 'Hi — there now'
    const alignment = {
      characters: ['H', 'i', ' ', '-', ' ', 't', 'h', 'e', 'r', 'e', ' ', 'n', 'o', 'w'],
      character_start_times_seconds: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3],
      character_end_times_seconds: [],
    }
    const words = wordsFromAlignment(text, alignment)
    expect(words.map((w) => [text.slice(w.offset, w.offset + w.length), w.startMs])).toEqual([
      ['Hi', 0],
      ['there', 500],
      ['now', 1100],
    ])
  })
})
