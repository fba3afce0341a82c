/** `briefcast voices` with the cloud engines: listed when configured, each against its local fake server. */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ELEVENLABS_TEST_KEY, RACHEL, startFakeElevenLabs } from './fake-elevenlabs.ts'
import type { FakeHttpServer } from './fake-http.ts'
import { startFakeOpenAi } from './fake-openai.ts'
import { POLLY_KEY_ID, POLLY_SECRET, startFakePolly } from './fake-polly.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
// Nothing from the developer's own environment: no real keys, no real endpoints.
const CLEAN = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OPENAI_|AWS_|ELEVENLABS_|GOOGLE_|BRIEFCAST_)/.test(k)),
) as Record<string, string>

function voices(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'voices', ...args], { cwd: ROOT, env: { ...CLEAN, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

describe('briefcast voices: cloud engines', () => {
  let openai: FakeHttpServer
  let polly: FakeHttpServer
  let eleven: FakeHttpServer
  const cache = { BRIEFCAST_CACHE_DIR: path.join(mkdtempSync(path.join(os.tmpdir(), 'briefcast-cloud-cli-')), 'cache') }

  beforeAll(async () => {
    ;[openai, polly, eleven] = await Promise.all([startFakeOpenAi({ flavour: 'kokoro', apiKey: null }), startFakePolly(), startFakeElevenLabs()])
  })
  afterAll(async () => {
    await Promise.all([openai?.close(), polly?.close(), eleven?.close()])
  })

  test('unconfigured cloud engines are named with the setting to set, not called', async () => {
    const r = await voices([], cache)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Engine elevenlabs: not configured (set ELEVENLABS_API_KEY)')
    expect(r.stdout).toContain('Engine openai: not configured (set OPENAI_API_KEY')
    expect(r.stdout).toContain('Engine polly: not configured (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
  }, 60_000)

  test('configured ones list their voices from their servers', async () => {
    const env = {
      ...cache,
      BRIEFCAST_OPENAI_BASE_URL: openai.url,
      ELEVENLABS_API_KEY: ELEVENLABS_TEST_KEY,
      BRIEFCAST_ELEVENLABS_BASE_URL: eleven.url,
      AWS_ACCESS_KEY_ID: POLLY_KEY_ID,
      AWS_SECRET_ACCESS_KEY: POLLY_SECRET,
      AWS_REGION: 'eu-west-1',
      BRIEFCAST_POLLY_ENDPOINT: polly.url,
    }
    const r = await voices(['--json'], env)
    expect(r.code).toBe(0)
    const parsed = JSON.parse(r.stdout) as { engines: { id: string; voices: { name: string; description?: string }[]; error?: string }[] }
    const byId = Object.fromEntries(parsed.engines.map((e) => [e.id, e]))
    expect(byId.openai!.voices.map((v) => v.name)).toEqual(['af_heart', 'af_bella', 'am_adam', 'bf_emma'])
    expect(byId.polly!.voices.map((v) => v.name)).toEqual(['Joanna', 'Matthew', 'Vicki'])
    expect(byId.elevenlabs!.voices[0]).toMatchObject({ name: RACHEL, description: 'Rachel' })
    const text = await voices(['--engine', 'elevenlabs'], env)
    expect(text.stdout).toMatch(new RegExp(`^\\s+${RACHEL}\\s+en\\s+female\\s+\\(Rachel\\)`, 'm'))
    const wrong = await voices(['--engine', 'elevenlabs'], { ...env, ELEVENLABS_API_KEY: 'xi-wrong' })
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toContain('ENGINE_AUTH_FAILED')
    expect(wrong.stdout).not.toContain('xi-wrong')
  }, 90_000)
})
