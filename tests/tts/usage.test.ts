import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { openStore } from '../../src/store/index.ts'
import { backoffMs, MAX_RETRY_DELAY_MS, retryAfterMs } from '../../src/tts/cloud.ts'
import { createSpeechService, type EngineUsage } from '../../src/tts/index.ts'
import { usageMonth } from '../../src/tts/usage.ts'
import { fakeOpenAiOptions, startFakeOpenAi } from './fake-openai.ts'

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), `briefcast-${p}-`))

describe('engine usage', () => {
  test('is kept per engine and UTC calendar month in SQLite, across a reopen', async () => {
    const file = path.join(tmp('usage'), 'briefcast.db')
    let store = await openStore({ file })
    const usage = store.usage
    await usage.add('openai', 120, new Date('2026-11-30T23:59:59Z'))
    await usage.add('openai', 30, new Date('2026-12-01T00:00:00Z'))
    await usage.add('openai', 12, new Date('2026-12-15T10:00:00Z'))
    await usage.add('polly', 500, new Date('2026-12-02T10:00:00Z'))
    await usage.add('polly', 0, new Date('2026-12-02T10:00:00Z')) // nothing billed: no request counted
    await store.close()
    store = await openStore({ file })
    const again = store.usage
    expect(await again.list('2026-12')).toEqual([
      { engine: 'openai', month: '2026-12', characters: 42, requests: 2 },
      { engine: 'polly', month: '2026-12', characters: 500, requests: 1 },
    ])
    expect(await again.list('2026-11')).toEqual([{ engine: 'openai', month: '2026-11', characters: 120, requests: 1 }])
    expect((await again.list('all')).map((r) => r.month)).toEqual(['2026-12', '2026-12', '2026-11'])
    expect(usageMonth(new Date('2027-01-01T00:00:00Z'))).toBe('2027-01')
    await store.close()
  })

  test('the speech service reports characters for cloud engine calls only, not for clip-cache hits', async () => {
    const fake = await startFakeOpenAi()
    const voicesDir = tmp('voices')
    const pauses = { title: 300, byline: 200, heading: 200, paragraph: 200, quote: 200, 'list-item': 100 }
    writeFileSync(path.join(voicesDir, 'default.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en', voices: { body: { name: 'en', language: 'en' } }, pauses }))
    writeFileSync(path.join(voicesDir, 'nova.json'), JSON.stringify({ engine: 'openai', language: 'en', voices: { body: { name: 'nova', language: 'en' } }, pauses }))
    const o = fakeOpenAiOptions(fake)
    const config = loadConfig({
      env: {},
      cwd: tmp('cfg'),
      overrides: { voicesDir, cacheDir: path.join(tmp('cache'), 'c'), 'tts.espeakWorkers': 1, 'openai.baseUrl': o.baseUrl, 'openai.apiKey': o.apiKey, 'openai.model': 'tts-1' },
    })
    const seen: EngineUsage[] = []
    const service = await createSpeechService(config, { warmUp: false, onUsage: (u) => seen.push(u) })
    try {
      await service.synthesizeText('Twelve chars', service.getProfile('nova'))
      await service.synthesizeText('Twelve chars', service.getProfile('nova')) // from the clip cache
      await service.synthesizeText('Offline words.', service.getProfile('default'))
      expect(seen).toEqual([{ engine: 'openai', characters: 12 }])
      expect(fake.received).toHaveLength(1)
    } finally {
      await service.close()
      await fake.close()
    }
  }, 60_000)
})

describe('retry timing', () => {
  test('Retry-After as seconds, as an HTTP date, and OpenAI\'s retry-after-ms', () => {
    const now = Date.parse('2026-12-03T10:00:00Z')
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), now)).toBe(7000)
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 03 Dec 2026 10:00:30 GMT' }), now)).toBe(30_000)
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250)
    expect(retryAfterMs({ 'Retry-After': '2' }, now)).toBe(2000)
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined()
    expect(retryAfterMs(undefined)).toBeUndefined()
  })

  test('backoff doubles with ±25 % jitter, never undercuts Retry-After, and is capped', () => {
    for (let i = 0; i < 50; i++) {
      const d0 = backoffMs(0, 100)
      const d3 = backoffMs(3, 100)
      expect(d0).toBeGreaterThanOrEqual(75)
      expect(d0).toBeLessThanOrEqual(125)
      expect(d3).toBeGreaterThanOrEqual(600)
      expect(d3).toBeLessThanOrEqual(1000)
    }
    expect(backoffMs(0, 100, 5000)).toBe(5000)
    expect(backoffMs(20, 1000)).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS)
    expect(backoffMs(0, 100, 10 * 60_000)).toBe(MAX_RETRY_DELAY_MS)
  })
})
