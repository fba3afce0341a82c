import { spawn } from 'node:child_process'
import { mkdtempSync, promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { checkWavFile } from '../../src/tts/wav.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function briefcast(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, BRIEFCAST_CONFIG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

describe('briefcast say / voices', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-cli-'))
  const env = { BRIEFCAST_CACHE_DIR: path.join(dir, 'cache') }

  test('say writes a WAV file, and the second time comes from the cache', async () => {
    const out = path.join(dir, 'hello.wav')
    const first = await briefcast(['say', 'Hello from the briefcast command line.', '-o', out], env)
    expect(first.stderr).toContain('wrote')
    expect(first.code).toBe(0)
    const header = await checkWavFile(out)
    expect(header).toMatchObject({ sampleRate: 22050, channels: 1, bitsPerSample: 16 })
    expect(header!.durationMs).toBeGreaterThan(1000)
    const out2 = path.join(dir, 'hello-de.wav')
    const second = await briefcast(['say', 'Hello from the briefcast command line.', '-o', out2], env)
    expect(second.code).toBe(0)
    expect(second.stderr).toContain('from cache')
    expect((await fs.readFile(out2)).equals(await fs.readFile(out))).toBe(true)
  })

  test('say picks a profile by --voice and refuses bad input with a code', async () => {
    const out = path.join(dir, 'de.wav')
    const ok = await briefcast(['say', 'Guten Morgen.', '-o', out, '--voice', 'espeak-de'], env)
    expect(ok.code).toBe(0)
    expect(ok.stderr).toContain('espeak-de')
    const unknown = await briefcast(['say', 'Hi', '-o', out, '--voice', 'no-such-profile'], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('UNKNOWN_PROFILE')
    const noOut = await briefcast(['say', 'Hi'], env)
    expect(noOut.code).toBe(2)
    expect(noOut.stderr).toContain('missing --output FILE')
  })

  test('voices lists profiles and engine voices, filtered', async () => {
    const fr = await briefcast(['voices', '--engine', 'espeak-ng', '--language', 'fr'], env)
    expect(fr.code).toBe(0)
    expect(fr.stdout).toContain('espeak-fr')
    expect(fr.stdout).toMatch(/^\s+fr-fr\s+fr-fr, fr/m)
    expect(fr.stdout).not.toContain('espeak-de')
    const json = await briefcast(['voices', '--json'], env)
    const parsed = JSON.parse(json.stdout) as { profiles: { id: string }[]; engines: { id: string; voices: unknown[] }[] }
    expect(parsed.profiles.map((p) => p.id)).toContain('default')
    expect(parsed.engines.find((e) => e.id === 'espeak-ng')!.voices.length).toBeGreaterThan(100)
    const bad = await briefcast(['voices', '--engine', 'acapela'], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('UNKNOWN_ENGINE')
  })

  test('the Google SDK is loaded only when a Google profile is used', async () => {
    const script = `
      import { createRequire } from 'node:module'
      import { loadConfig } from './src/config.ts'
      import { createSpeechService } from './src/tts/index.ts'
      const require = createRequire(import.meta.url)
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('@google-cloud/text-to-speech'))
      const service = await createSpeechService(loadConfig({ overrides: { 'tts.espeakWorkers': 1 } }))
      await service.synthesizeText('Offline only.', service.getProfile('default'))
      const before = loaded()
      await service.engine('google').catch(() => {})
      console.log(JSON.stringify({ before, after: loaded() }))
      await service.close()
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, ...env, BRIEFCAST_CONFIG: '', GOOGLE_APPLICATION_CREDENTIALS: '' },
    })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    await new Promise((r) => child.on('close', r))
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ before: false, after: true })
  })
})
