/**
 * Cloud engines inside the real service (render process, SQLite, HTTP on port
 * 0) against local fake provider servers: articles spoken by OpenAI-compatible
 * and ElevenLabs voices, their characters counted per engine and month, voice
 * samples, and the failures a site meets (unknown voice, wrong key, quota),
 * each ending one article with its code while the service keeps serving and
 * other articles keep rendering.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { addUser, signIn } from '../admin/helpers.ts'
import { postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { ELEVENLABS_TEST_KEY, RACHEL, startFakeElevenLabs } from './fake-elevenlabs.ts'
import type { FakeHttpServer } from './fake-http.ts'
import { OPENAI_TEST_KEY, openAiErrors, startFakeOpenAi } from './fake-openai.ts'

// Generous: the first render starts the render process, and the test machine is shared.
const RENDER_WAIT_MS = 240_000
const pauses = { title: 300, byline: 200, heading: 200, paragraph: 200, quote: 200, 'list-item': 100 }
const profile = (engine: string, name: string, extra: object = {}) => JSON.stringify({ engine, language: 'en-US', description: `${engine} ${name}`, voices: { body: { name, language: 'en-US', ...extra } }, pauses })

describe('cloud engines in the service', () => {
  let svc: TestService
  let openai: FakeHttpServer
  let eleven: FakeHttpServer
  let voicesDir: string

  beforeAll(async () => {
    ;[openai, eleven] = await Promise.all([startFakeOpenAi(), startFakeElevenLabs()])
    voicesDir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-voices-'))
    cpSync(path.resolve(import.meta.dirname, '../../voices'), voicesDir, { recursive: true })
    writeFileSync(path.join(voicesDir, 'openai-nova.json'), profile('openai', 'nova'))
    writeFileSync(path.join(voicesDir, 'openai-nobody.json'), profile('openai', 'galadriel'))
    writeFileSync(path.join(voicesDir, 'eleven-rachel.json'), profile('elevenlabs', RACHEL))
    svc = await startTestService({
      voicesDir,
      'openai.baseUrl': openai.url,
      'openai.apiKey': OPENAI_TEST_KEY,
      'openai.model': 'tts-1',
      'elevenlabs.baseUrl': eleven.url,
      // A key ElevenLabs does not know: every ElevenLabs call is refused.
      'elevenlabs.apiKey': `${ELEVENLABS_TEST_KEY}-revoked`,
      'jobs.maxAttempts': 2,
    })
  }, 120_000)
  afterAll(async () => {
    await svc?.stop()
    await Promise.all([openai?.close(), eleven?.close()])
    rmSync(voicesDir, { recursive: true, force: true })
  })

  const add = async (title: string, voice?: string) => {
    const r = await postJson(svc, '/api/articles', { title, text: `${title}. The council met on Tuesday and agreed the budget for next year.`, ...(voice ? { voice } : {}) })
    expect(r.status).toBe(201)
    return ((await r.json()) as { id: string }).id
  }

  test('an article with an OpenAI voice renders, and its characters are counted for the month', async () => {
    const id = await add('Budget agreed', 'openai-nova')
    const a = await waitForArticle(svc, id, ready, RENDER_WAIT_MS)
    expect(a).toMatchObject({ status: 'ready', profile: 'openai-nova' })
    const sent = openai.received.filter((r) => r.path === '/v1/audio/speech').map((r) => (JSON.parse(r.body) as { input: string }).input)
    expect(sent.length).toBeGreaterThan(0)
    const chars = sent.reduce((n, s) => n + [...s].length, 0)
    const usage = (await (await svc.api('/api/usage')).json()) as { month: string; usage: { engine: string; characters: number; requests: number }[] }
    expect(usage.month).toBe(new Date().toISOString().slice(0, 7))
    expect(usage.usage).toEqual([{ engine: 'openai', month: usage.month, characters: chars, requests: sent.length }])
    expect((await fetch(`${svc.url}/api/usage`)).status).toBe(401)
    expect((await svc.api('/api/usage?month=2026-13')).status).toBe(400)
    // The article names its profile; the dashboard's voices page has every profile with a sample, and the month's characters.
    expect(((await (await svc.api(`/api/articles/${id}`)).json()) as { profile: string }).profile).toBe('openai-nova')
    const { password } = await addUser(svc, 'voices-viewer', 'viewer')
    const session = await signIn(svc, 'voices-viewer', password)
    const voicesPage = await (await fetch(`${svc.url}/admin/voices`, { headers: { cookie: session.cookie } })).text()
    expect(voicesPage).toContain('data-sample="openai-nova"')
    expect(voicesPage).toMatch(new RegExp(`<td data-label="Engine">openai</td><td data-label="Characters" class="num">${chars.toLocaleString('en')}</td>`))
  }, 300_000)

  test('unknown voice, wrong key and an exhausted quota each fail their article with a code; the others still render', async () => {
    const nobody = await add('Unknown voice', 'openai-nobody')
    const revoked = await add('Revoked key', 'eleven-rachel')
    const fine = await add('Offline voice') // espeak-ng, by language
    const [a, b, c] = await Promise.all([nobody, revoked, fine].map((id) => waitForArticle(svc, id, (x) => ready(x) && (x.status === 'ready' || (x.error as { code?: string } | null)?.code !== undefined), RENDER_WAIT_MS)))
    expect(a).toMatchObject({ status: 'failed', error: { code: 'UNKNOWN_VOICE', message: expect.stringContaining('galadriel') } })
    expect(b).toMatchObject({ status: 'failed', error: { code: 'ENGINE_AUTH_FAILED', message: expect.stringContaining('ElevenLabs') } })
    expect(c).toMatchObject({ status: 'ready' })
    openai.failures.push(openAiErrors.quota(), openAiErrors.quota(), openAiErrors.quota(), openAiErrors.quota())
    const broke = await add('No credit left', 'openai-nova')
    expect(await waitForArticle(svc, broke, ready, RENDER_WAIT_MS)).toMatchObject({ status: 'failed', error: { code: 'QUOTA_EXCEEDED' } })
    openai.failures.length = 0
    // The service still serves, and the same voice works again once the provider does.
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200)
    const again = await add('Credit topped up', 'openai-nova')
    expect(await waitForArticle(svc, again, ready, RENDER_WAIT_MS)).toMatchObject({ status: 'ready' })
  }, 600_000)

  test('voice samples: spoken once, cached, listed in /api/voices; unknown profiles are a clear error', async () => {
    const before = openai.received.length
    const r1 = await fetch(`${svc.url}/voices/openai-nova/sample.wav`)
    expect(r1.status).toBe(200)
    expect(r1.headers.get('content-type')).toBe('audio/wav')
    expect(r1.headers.get('cache-control')).toContain('max-age')
    const wav = Buffer.from(await r1.arrayBuffer())
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF')
    expect(wav.length).toBeGreaterThan(24_000)
    const r2 = await fetch(`${svc.url}/voices/openai-nova/sample.wav`)
    expect(Buffer.from(await r2.arrayBuffer()).equals(wav)).toBe(true)
    expect(openai.received.length - before).toBe(1)
    const espeak = await fetch(`${svc.url}/voices/default/sample.wav`)
    expect(espeak.status).toBe(200)
    const missing = await fetch(`${svc.url}/voices/nope/sample.wav`)
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_PROFILE')
    const revoked = await fetch(`${svc.url}/voices/eleven-rachel/sample.wav`)
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe('ENGINE_AUTH_FAILED')
    const list = (await (await svc.api('/api/voices')).json()) as { profiles: { id: string; engine: string; cloud: boolean; sampleUrl: string }[] }
    expect(list.profiles.find((p) => p.id === 'openai-nova')).toMatchObject({ engine: 'openai', cloud: true, sampleUrl: `${svc.url}/voices/openai-nova/sample.wav` })
    expect(list.profiles.find((p) => p.id === 'default')).toMatchObject({ engine: 'espeak-ng', cloud: false })
  }, 120_000)
})
