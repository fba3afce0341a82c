import { cpSync, mkdtempSync, promises as fs, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadConfig, type Config } from '../../src/config.ts'
import type { Segment } from '../../src/script/types.ts'
import { createLexicon } from '../../src/script/lexicon.ts'
import type { EspeakEngine } from '../../src/tts/espeak.ts'
import { createGoogleEngine } from '../../src/tts/google.ts'
import { checkWavFile, ClipCache, clipKey, createSpeechService, ENGINES, readWavHeader, type BriefcastSpeechService, type EngineCallInfo } from '../../src/tts/index.ts'
import { wavFromPcm } from '../../src/tts/wav.ts'
import { fakeGoogleOptions, startFakeGoogle, type FakeGoogle } from './fake-google.ts'

const VOICES = new URL('../../voices', import.meta.url).pathname
const article = readFileSync(new URL('../fixtures/plain/lenovo-nvidia-ai-factories.txt', import.meta.url), 'utf8')

function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `briefcast-${prefix}-`))
}

function configFor(overrides: Record<string, unknown> = {}): Config {
  const dir = tmp('cfg')
  return loadConfig({ env: {}, cwd: dir, overrides: { cacheDir: path.join(dir, 'cache'), voicesDir: VOICES, 'tts.espeakWorkers': 2, ...overrides } })
}

let n = 0
function segment(text: string, kind: Segment['kind'] = 'paragraph'): Segment {
  return { id: `s${n++}`, kind, text, pauseAfterMs: 500, sectionIndex: 0 }
}

describe('SpeechService with espeak-ng', () => {
  let service: BriefcastSpeechService
  const calls: EngineCallInfo[] = []

  beforeAll(async () => {
    service = await createSpeechService(configFor(), { onEngineCall: (c) => calls.push(c) })
  })
  afterAll(async () => {
    await service.close()
  })

  test('loads the shipped profiles', () => {
    const ids = service.listProfiles().map((p) => p.id)
    for (const id of ['default', 'google-en-us', 'espeak-en', 'espeak-de', 'espeak-fr', 'espeak-es', 'espeak-ru']) expect(ids).toContain(id)
    expect(service.getProfile('default')).toMatchObject({ engine: 'espeak-ng', language: 'en-US' })
    expect(service.getProfile('google-en-us').voices.body.name).toMatch(/^en-US-(Neural2|Chirp3-HD)-/)
    expect(() => service.getProfile('nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_PROFILE' }))
  })

  test('picks a profile per language, falling back to the default engine', () => {
    expect(service.profileForLanguage('de').id).toBe('espeak-de')
    expect(service.profileForLanguage('de-AT').id).toBe('espeak-de')
    expect(service.profileForLanguage('en-US').id).toBe('default')
    expect(service.profileForLanguage('en').id).toBe('default')
    const fi = service.profileForLanguage('fi')
    expect(fi).toMatchObject({ engine: 'espeak-ng', language: 'fi', voices: { body: { language: 'fi' } } })
    expect(service.getProfile(fi.id)).toEqual(fi)
    expect(() => service.profileForLanguage('tlh')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_LANGUAGE' }))
    expect(service.limitsFor(service.getProfile('google-en-us')).maxBytes).toBeLessThanOrEqual(5000)
  })

  test('the second synthesis of a segment is a cache hit with no engine call', async () => {
    const seg = segment('The city council approved the new budget on Tuesday.')
    const before = service.stats.engineCalls
    const first = await service.synthesizeSegment(seg, service.getProfile('default'))
    expect(first.cached).toBe(false)
    expect(service.stats.engineCalls).toBe(before + 1)
    const header = readWavHeader(await fs.readFile(first.wavPath))!
    expect(header).toMatchObject({ format: 1, channels: 1, bitsPerSample: 16, sampleRate: 22050 })
    expect(header.durationMs).toBeCloseTo(first.durationMs, 3)
    expect(first.words!.length).toBeGreaterThan(5)

    const callsBefore = calls.length
    const second = await service.synthesizeSegment({ ...seg, id: 'other-id' }, service.getProfile('default'))
    expect(second).toMatchObject({ cached: true, key: first.key, wavPath: first.wavPath })
    expect(second.words).toEqual(first.words)
    expect(service.stats.engineCalls).toBe(before + 1)
    expect(calls.length).toBe(callsBefore)
  })

  test('hasClip tells whether a segment would come from the cache, without using the clip or calling the engine', async () => {
    const profile = service.getProfile('default')
    const seg = segment(`A sentence for the cache lookup, number ${Date.now()}.`)
    const before = service.stats.engineCalls
    const hits = service.stats.cacheHits
    expect(await service.hasClip(seg, profile)).toBe(false)
    expect(await service.hasClip(segment('   '), profile)).toBe(false)
    expect(service.stats.engineCalls).toBe(before)
    const clip = await service.synthesizeSegment(seg, profile)
    expect(await service.hasClip({ ...seg, id: 'another' }, profile)).toBe(true)
    // The same text in a role with another voice is another clip.
    expect(await service.hasClip({ ...seg, kind: 'heading' }, profile)).toBe(false)
    expect(service.stats.cacheHits).toBe(hits)
    await fs.rm(clip.wavPath)
    expect(await service.hasClip(seg, profile)).toBe(false)
  })

  test('50 concurrent requests for one new key make exactly one engine call', async () => {
    const seg = segment(`A brand new sentence, number ${Date.now()}, that nobody has asked for yet.`)
    const before = service.stats.engineCalls
    const clips = await Promise.all(Array.from({ length: 50 }, () => service.synthesizeSegment(seg, service.getProfile('default'))))
    expect(service.stats.engineCalls - before).toBe(1)
    expect(new Set(clips.map((c) => c.wavPath)).size).toBe(1)
    expect(clips.filter((c) => !c.cached)).toHaveLength(50) // they all shared the one fresh synthesis
  })

  test('roles pick their voices, and each voice has its own clip', async () => {
    const profile = service.getProfile('default')
    expect(service.voiceFor({ kind: 'title' }, profile).name).toBe('en-us+m3')
    expect(service.voiceFor({ kind: 'quote' }, profile).name).toBe('en-us+f3')
    expect(service.voiceFor({ kind: 'paragraph', voiceRole: 'host' }, profile).name).toBe('en-us+f2')
    const body = await service.synthesizeSegment(segment('Same words.'), profile)
    const title = await service.synthesizeSegment(segment('Same words.', 'title'), profile)
    expect(title.key).not.toBe(body.key)
  })

  test('every shipped espeak-ng profile speaks every role (voice names are language tags, not file names)', async () => {
    // espeak-ng loads voices by file name ('gmw/en'), not by language tag ('en-gb'): this once failed for espeak-en.
    const profiles = service.listProfiles().filter((p) => p.engine === 'espeak-ng')
    expect(profiles.length).toBeGreaterThanOrEqual(9)
    for (const profile of profiles) {
      for (const [kind, voiceRole] of [['paragraph', undefined], ['title', undefined], ['quote', undefined], ['paragraph', 'host']] as const) {
        const clip = await service.synthesizeSegment({ ...segment(`Check ${profile.id} ${kind} ${voiceRole ?? ''}.`, kind), ...(voiceRole ? { voiceRole } : {}) }, profile)
        expect(clip.durationMs, `${profile.id} ${kind} ${voiceRole ?? ''}`).toBeGreaterThan(200)
      }
    }
  })

  test('a truncated or corrupt clip is detected and synthesized again', async () => {
    const seg = segment('This clip will be damaged on disk.')
    const profile = service.getProfile('default')
    const good = await service.synthesizeSegment(seg, profile)
    const bytes = await fs.readFile(good.wavPath)
    await fs.writeFile(good.wavPath, bytes.subarray(0, bytes.length - 1000)) // truncated
    const before = service.stats.engineCalls
    const again = await service.synthesizeSegment(seg, profile)
    expect(again.cached).toBe(false)
    expect(service.stats.engineCalls).toBe(before + 1)
    const repaired = await checkWavFile(again.wavPath)
    expect(repaired).not.toBeNull()
    expect(repaired!.durationMs).toBeCloseTo(good.durationMs, -2)
    await fs.writeFile(good.wavPath, 'garbage that is not a wav file')
    const third = await service.synthesizeSegment(seg, profile)
    expect(third.cached).toBe(false)
    expect(service.stats.engineCalls).toBe(before + 2)
  })

  test('an abort by one of two waiters leaves the other served; when all abort the work stops', async () => {
    const profile = service.getProfile('default')
    const espeak = (await service.engine('espeak-ng')) as EspeakEngine
    const seg = segment(article.slice(0, 700))
    const a = new AbortController()
    const pa = service.synthesizeSegment(seg, profile, a.signal)
    const pb = service.synthesizeSegment(seg, profile)
    a.abort()
    await expect(pa).rejects.toMatchObject({ code: 'ABORTED' })
    expect((await pb).durationMs).toBeGreaterThan(10_000)

    const seg2 = segment(article.slice(700, 3700))
    const c = new AbortController()
    const d = new AbortController()
    const pc = service.synthesizeSegment(seg2, profile, c.signal)
    const pd = service.synthesizeSegment(seg2, profile, d.signal)
    await new Promise((r) => setTimeout(r, 50))
    c.abort()
    d.abort()
    await expect(pc).rejects.toMatchObject({ code: 'ABORTED' })
    await expect(pd).rejects.toMatchObject({ code: 'ABORTED' })
    const t = Date.now()
    while (espeak.load.running > 0 && Date.now() - t < 10_000) await new Promise((r) => setTimeout(r, 5))
    expect(espeak.load.running).toBe(0)
    // nothing half-written was left as a clip
    const key = clipKey(espeak, service.voiceFor(seg2, profile), seg2.text, false)
    expect(await service.cache.get(key)).toBeNull()
  })

  test('the event loop stays responsive while the pool synthesizes a long article', async () => {
    const server = http.createServer((_req, res) => res.end('ok'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    const profile = service.getProfile('default')
    const paragraphs = article.split(/\n\s*\n/).filter((p) => p.trim())
    let done = false
    const work = Promise.all(paragraphs.map((p) => service.synthesizeSegment(segment(`${p} (run ${Date.now()})`), profile))).finally(() => (done = true))
    const latencies: number[] = []
    while (!done) {
      const t = performance.now()
      await (await fetch(`http://127.0.0.1:${port}/`)).text()
      latencies.push(performance.now() - t)
      await new Promise((r) => setTimeout(r, 5))
    }
    await work
    server.close()
    latencies.sort((x, y) => x - y)
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!
    expect(latencies.length).toBeGreaterThan(5)
    // Loose bound for a loaded 2-core CI box; bench/tts.bench.ts measures the real figure (< 20 ms).
    expect(p99).toBeLessThan(250)
  })
})

describe('lexicons', () => {
  test("the profile's lexicon is applied; an edit re-synthesizes only the text it changes", async () => {
    const dir = tmp('voices')
    cpSync(path.join(VOICES, 'default.json'), path.join(dir, 'default.json'))
    await fs.mkdir(path.join(dir, 'lexicon'))
    const lexFile = path.join(dir, 'lexicon', 'en.json')
    writeFileSync(lexFile, JSON.stringify({ language: 'en', entries: [{ match: 'Nvidia', say: 'en vidia' }] }))
    const calls: EngineCallInfo[] = []
    const config = loadConfig({ env: {}, cwd: dir, overrides: { cacheDir: path.join(dir, 'cache'), voicesDir: dir, 'tts.espeakWorkers': 1 } })
    const service = await createSpeechService(config, { onEngineCall: (c) => calls.push(c) })
    const first = await service.synthesizeSegment(segment('Nvidia builds chips.'), service.getProfile('default'))
    const gpu1 = await service.synthesizeSegment(segment('A GPU is fast.'), service.getProfile('default'))
    await service.close()
    expect(calls.map((c) => c.text)).toEqual(['en vidia builds chips.', 'A GPU is fast.'])

    writeFileSync(lexFile, JSON.stringify({ language: 'en', entries: [{ match: 'Nvidia', say: 'en vidia' }, { match: 'GPU', say: 'G P U' }] }))
    const service2 = await createSpeechService(config, { onEngineCall: (c) => calls.push(c) })
    const second = await service2.synthesizeSegment(segment('Nvidia builds chips.'), service2.getProfile('default'))
    // hasClip looks the text up as spoken: the new entry changes one segment's clip, not the other's.
    expect(await service2.hasClip(segment('Nvidia builds chips.'), service2.getProfile('default'))).toBe(true)
    expect(await service2.hasClip(segment('A GPU is fast.'), service2.getProfile('default'))).toBe(false)
    const gpu2 = await service2.synthesizeSegment(segment('A GPU is fast.'), service2.getProfile('default'))
    expect(second.key).toBe(first.key) // untouched by the new entry: from the cache
    expect(second.cached).toBe(true)
    expect(gpu2.key).not.toBe(gpu1.key) // changed by it: synthesized again
    expect(calls.map((c) => c.text)).toEqual(['en vidia builds chips.', 'A GPU is fast.', 'A G P U is fast.'])

    // A lexicon handed in at run time (the service's database) wins over the file.
    service2.useLexicon('en', createLexicon('en', [{ match: 'Nvidia', say: 'N video' }]))
    await service2.synthesizeSegment(segment('Nvidia builds chips.'), service2.getProfile('default'))
    await service2.close()
    expect(calls.at(-1)!.text).toBe('N video builds chips.')
  })
})

describe('voice profile validation', () => {
  test('every invalid file is reported at once, with its path and field', async () => {
    const dir = tmp('voices')
    cpSync(path.join(VOICES, 'default.json'), path.join(dir, 'default.json'))
    writeFileSync(path.join(dir, 'broken.json'), '{ "engine": ')
    writeFileSync(path.join(dir, 'bad-fields.json'), JSON.stringify({ engine: 'espeak-ng', language: 'de', voices: { body: { name: 'de' } }, pauses: { paragraph: -5 } }))
    writeFileSync(path.join(dir, 'bad-engine.json'), JSON.stringify({ engine: 'acapela', language: 'en', voices: { body: { language: 'en' } } }))
    writeFileSync(path.join(dir, 'bad-voice.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en', voices: { body: { name: 'xx-nope', language: 'en' } } }))
    writeFileSync(path.join(dir, 'bad-lexicon.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en', lexicon: 'nosuch', voices: { body: { language: 'en' } } }))
    const config = loadConfig({ env: {}, cwd: dir, overrides: { cacheDir: path.join(dir, 'cache'), voicesDir: dir, 'tts.espeakWorkers': 1 } })
    const err = await createSpeechService(config).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; details: { problems: string[] } },
    )
    expect(err).not.toBeNull()
    expect(err!.code).toBe('INVALID_PROFILE')
    const problems = err!.details.problems.join('\n')
    expect(problems).toContain(`${path.join(dir, 'broken.json')}: not valid JSON`)
    expect(problems).toContain(`${path.join(dir, 'bad-fields.json')}: voices.body.language`)
    expect(problems).toContain(`${path.join(dir, 'bad-fields.json')}: pauses.paragraph`)
    expect(problems).toContain(`${path.join(dir, 'bad-engine.json')}: engine: unknown engine "acapela"`)
    expect(problems).toContain(`${path.join(dir, 'bad-voice.json')}: voices.body.name: espeak-ng has no voice "xx-nope"`)
    expect(problems).toContain(`${path.join(dir, 'bad-lexicon.json')}: lexicon:`)
  })

  test('a missing default profile is reported', async () => {
    const dir = tmp('voices')
    cpSync(path.join(VOICES, 'espeak-de.json'), path.join(dir, 'espeak-de.json'))
    const config = loadConfig({ env: {}, cwd: dir, overrides: { cacheDir: path.join(dir, 'cache'), voicesDir: dir, 'tts.espeakWorkers': 1 } })
    await expect(createSpeechService(config)).rejects.toMatchObject({ code: 'INVALID_PROFILE', message: expect.stringContaining('default.json') })
  })
})

describe('SpeechService with Google (local gRPC server)', () => {
  let fake: FakeGoogle
  beforeAll(async () => {
    fake = await startFakeGoogle()
  })
  afterAll(async () => {
    await fake.close()
  })

  function googleEntry(extra = {}) {
    return { google: { limits: ENGINES.google.limits, create: () => createGoogleEngine(fakeGoogleOptions(fake, extra)) } }
  }

  test('speaks each role with the profile voice and caches the clip', async () => {
    const warnings: unknown[] = []
    const service = await createSpeechService(configFor({ 'tts.espeakWorkers': 1 }), { engines: googleEntry(), logger: { warn: (o) => warnings.push(o) } })
    try {
      fake.received.length = 0
      const profile = service.getProfile('google-en-us')
      const clip = await service.synthesizeSegment(segment('Markets rallied on Friday.', 'title'), profile)
      expect(fake.received).toHaveLength(1)
      expect(fake.received[0]!.voice).toEqual({ languageCode: 'en-US', name: profile.voices.title!.name })
      expect(fake.received[0]!.input.text).toBe('Markets rallied on Friday.')
      expect(clip.sampleRate).toBe(24000)
      const again = await service.synthesizeSegment(segment('Markets rallied on Friday.', 'title'), profile)
      expect(again.cached).toBe(true)
      expect(fake.received).toHaveLength(1)
    } finally {
      await service.close()
    }
  })

  test('a failing cloud engine is an error naming the profile, unless a fallback is configured', async () => {
    const warnings: { msg?: string; obj: object }[] = []
    const logger = { warn: (obj: object, msg?: string) => warnings.push({ obj, msg }) }
    const strict = await createSpeechService(configFor({ 'tts.espeakWorkers': 1 }), { engines: googleEntry({ maxRetries: 0 }), logger })
    try {
      fake.failures.push({ code: grpc.status.UNAVAILABLE })
      await expect(strict.synthesizeSegment(segment('Outage one.'), strict.getProfile('google-en-us'))).rejects.toMatchObject({
        code: 'ENGINE_UNAVAILABLE',
        message: expect.stringContaining('"google-en-us"'),
      })
    } finally {
      await strict.close()
    }
    const lenient = await createSpeechService(configFor({ 'tts.espeakWorkers': 1, 'tts.fallbackEngine': 'espeak-ng' }), {
      engines: googleEntry({ maxRetries: 0 }),
      logger,
    })
    try {
      fake.failures.push({ code: grpc.status.UNAVAILABLE })
      const clip = await lenient.synthesizeSegment(segment('Outage two.'), lenient.getProfile('google-en-us'))
      expect(clip.sampleRate).toBe(22050) // espeak-ng made it
      expect(lenient.stats.fallbacks).toBe(1)
      expect(warnings.some((w) => w.msg?.includes('fallback'))).toBe(true)
      // The fallback clip is cached under espeak's key, so Google is asked again next time.
      fake.received.length = 0
      const retry = await lenient.synthesizeSegment(segment('Outage two.'), lenient.getProfile('google-en-us'))
      expect(retry.sampleRate).toBe(24000)
      expect(fake.received).toHaveLength(1)
    } finally {
      await lenient.close()
    }
  })

  test('missing Google credentials name the profile', async () => {
    const service = await createSpeechService(configFor({ 'tts.espeakWorkers': 1, 'google.keyFile': '/nonexistent/key.json' }))
    try {
      await expect(service.synthesizeSegment(segment('Hello.'), service.getProfile('google-en-us'))).rejects.toMatchObject({
        code: 'MISSING_CREDENTIALS',
        message: expect.stringMatching(/"google-en-us".*\/nonexistent\/key\.json/),
      })
    } finally {
      await service.close()
    }
  })
})

describe('ClipCache', () => {
  const clip = (seconds: number) => ({ pcm: Buffer.alloc(Math.round(seconds * 8000) * 2, 1), sampleRate: 8000, durationMs: seconds * 1000 })

  test('evicts the least recently used clips over the size cap', async () => {
    const dir = tmp('clips')
    const one = wavFromPcm(clip(1).pcm, 8000).length // 16 044 bytes
    const cache = new ClipCache({ dir, maxBytes: one * 3 + 100 })
    await cache.put('aa01', clip(1))
    await new Promise((r) => setTimeout(r, 5))
    await cache.put('aa02', clip(1))
    await new Promise((r) => setTimeout(r, 5))
    await cache.put('aa03', clip(1))
    await new Promise((r) => setTimeout(r, 5))
    expect(await cache.get('aa01')).not.toBeNull() // aa01 is now the most recently used
    await cache.put('aa04', clip(1))
    const usage = await cache.usage()
    expect(usage.files).toBe(3)
    expect(usage.bytes).toBeLessThanOrEqual(one * 3 + 100)
    expect(await cache.get('aa02')).toBeNull() // least recently used went first
    expect(await cache.get('aa01')).not.toBeNull()
    expect(await cache.get('aa04')).not.toBeNull()

    // A fresh process rebuilds the order from the files (mtime = last use).
    const reopened = new ClipCache({ dir, maxBytes: one * 2 + 100 })
    await reopened.put('aa05', clip(1))
    const after = await reopened.usage()
    expect(after.files).toBe(2)
    expect(await reopened.get('aa05')).not.toBeNull()
  })

  test('leaves no temp files and never exposes a partial clip', async () => {
    const dir = tmp('clips')
    const cache = new ClipCache({ dir, maxBytes: 10_000_000 })
    await Promise.all(Array.from({ length: 20 }, (_, i) => cache.put(`bb${String(i).padStart(2, '0')}`, clip(0.5))))
    const files = await fs.readdir(path.join(dir, 'bb'))
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(files.filter((f) => f.endsWith('.wav'))).toHaveLength(20)
  })

  test('temp files of a writer that died (kill -9 mid-write) go at the next scan; those of a live writer stay', async () => {
    const dir = tmp('clips')
    await fs.mkdir(path.join(dir, 'cc'), { recursive: true })
    // A pid that ran and is gone: a child that has exited.
    const { spawnSync } = await import('node:child_process')
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!
    const dead = `.cc01.json.${deadPid}.1746117a.tmp`
    const live = `.cc02.wav.${process.pid}.0badcafe.tmp`
    const unknown = '.cc03.wav.tmp'
    for (const f of [dead, live, unknown]) writeFileSync(path.join(dir, 'cc', f), 'partial')
    const cache = new ClipCache({ dir, maxBytes: 10_000_000 })
    await cache.usage()
    const left = await fs.readdir(path.join(dir, 'cc'))
    expect(left).not.toContain(dead)
    expect(left).toContain(live)
    expect(left).toContain(unknown)
  })

  test('the key covers engine, version, voice and the spoken text', () => {
    const e = { id: 'espeak-ng', version: '1' }
    const v = { language: 'en', name: 'en-us' }
    const base = clipKey(e, v, 'Hello', false)
    expect(clipKey(e, { name: 'en-us', language: 'en' }, 'Hello', false)).toBe(base) // key order does not matter
    expect(clipKey({ ...e, version: '2' }, v, 'Hello', false)).not.toBe(base)
    expect(clipKey({ ...e, id: 'google' }, v, 'Hello', false)).not.toBe(base)
    expect(clipKey(e, { ...v, rate: 1.1 }, 'Hello', false)).not.toBe(base)
    expect(clipKey(e, v, 'Hello!', false)).not.toBe(base)
    expect(clipKey(e, v, 'Hello', true)).not.toBe(base)
  })
})
