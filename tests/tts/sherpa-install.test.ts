/**
 * `briefcast voices install` of the tiny Piper model (piper-model.ts) from a local HTTP server, as a
 * user runs it, then `briefcast voices` and `briefcast render` with a profile on the model; and the
 * install's errors: a broken download resumed with Range, size limit, checksum, not an archive,
 * an archive that is not a model, a profile whose model is missing.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createFfmpeg } from '../../src/audio/ffmpeg.ts'
import { parseVtt } from '../../src/audio/transcript.ts'
import { loadConfig } from '../../src/config.ts'
import { installModel, listInstalledModels } from '../../src/tts/models.ts'
import { createSpeechService } from '../../src/tts/index.ts'
import { packModelArchive, tinyPiperArchive } from './piper-model.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MODEL = 'vits-piper-en_US-tiny-low'
const fixture = path.resolve(ROOT, 'tests/fixtures/plain/lenovo-nvidia-ai-factories.txt')

let dir: string
let archive: Buffer
let server: http.Server
let base: string
/** Range headers the server saw, per request. */
const ranges: (string | undefined)[] = []
/** When set, the next response is cut off after this many bytes. */
let cutAfter: number | undefined

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-install-'))
  archive = await fs.readFile(await tinyPiperArchive(path.join(dir, 'archives'), MODEL, { speakers: 2, sampleRate: 16000 }))
  const files: Record<string, Buffer> = {
    [`/${MODEL}.tar.bz2`]: archive,
    '/not-an-archive.tar.bz2': Buffer.from('<html>Not found, but a 200 page</html>'),
  }
  // A bzip2'd tar that holds a directory of text files, not a model.
  await fs.mkdir(path.join(dir, 'junk', 'some-dir'), { recursive: true })
  await fs.writeFile(path.join(dir, 'junk', 'some-dir', 'README.txt'), 'hello')
  await packModelArchive(path.join(dir, 'junk'), 'some-dir', path.join(dir, 'some-dir.tar.bz2'))
  files['/some-dir.tar.bz2'] = await fs.readFile(path.join(dir, 'some-dir.tar.bz2'))
  server = http.createServer((req, res) => {
    const body = files[req.url ?? '']
    ranges.push(req.headers.range)
    if (!body) return res.writeHead(404).end()
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    const start = m ? Number(m[1]) : 0
    const part = body.subarray(start)
    res.writeHead(m ? 206 : 200, { 'content-length': part.length, 'content-type': 'application/x-bzip2', ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) })
    if (cutAfter !== undefined) {
      const n = cutAfter
      cutAfter = undefined
      // A FIN after the bytes (not a reset, which may drop bytes the client has not read yet on a busy machine):
      // the client gets all n bytes, then a body shorter than its content-length.
      res.write(part.subarray(0, n), () => res.socket?.end())
      return
    }
    res.end(part)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}, 180_000)

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await fs.rm(dir, { recursive: true, force: true })
})

function briefcast(args: string[], env: Record<string, string>, cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/briefcast.js'), ...args], {
      cwd,
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

const opts = (modelsDir: string) => ({ modelsDir, maxBytes: 50e6, allowlist: ['127.0.0.1'], timeoutMs: 20_000 })

describe('briefcast voices install, then render with the model', () => {
  test('installs from a local URL, lists it, and renders a normal episode with a profile on it', async () => {
    const modelsDir = path.join(dir, 'cli-models')
    const env = { BRIEFCAST_MODELS_DIR: modelsDir, BRIEFCAST_FETCH_ALLOWLIST: '127.0.0.1' }
    const installed = await briefcast(['voices', 'install', `${base}/${MODEL}.tar.bz2`], env)
    expect(installed.code, installed.stderr).toBe(0)
    expect(installed.stdout).toContain(`installed ${MODEL}`)
    expect(installed.stdout).toMatch(/16000 Hz\s+2 speakers/)
    expect(readdirSync(modelsDir)).toEqual([MODEL]) // no temp or partial files left

    const voicesDir = path.join(dir, 'voices')
    await fs.mkdir(voicesDir, { recursive: true })
    await fs.copyFile(path.join(ROOT, 'voices/default.json'), path.join(voicesDir, 'default.json'))
    await fs.writeFile(
      path.join(voicesDir, 'neural.json'),
      JSON.stringify({ engine: 'sherpa-onnx', language: 'en-US', install: `${base}/${MODEL}.tar.bz2`, voices: { body: { name: MODEL, language: 'en-US', speaker: 1 } } }),
    )
    const listed = await briefcast(['voices', '--engine', 'sherpa-onnx'], { ...env, BRIEFCAST_VOICES_DIR: voicesDir })
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain(`${MODEL}#1`)
    expect(listed.stdout).toMatch(new RegExp(`${MODEL}\\s+piper\\s+en-US\\s+16000 Hz\\s+2 speakers`))

    const work = path.join(dir, 'render')
    await fs.mkdir(work)
    const run = await briefcast(['render', fixture, '-o', 'out.mp3', '--voice', 'neural'], { ...env, BRIEFCAST_VOICES_DIR: voicesDir, BRIEFCAST_CACHE_DIR: path.join(work, 'cache') }, work)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^out\.mp3: \d+:\d\d, [\d.]+ [kM]B, -1[5-7]\.\d LUFS \/ -\d+\.\d dBTP, \d+ chapters, \d+ segments \(\d+ synthesized, 0 cached\), [\d.]+ s\n$/)
    expect(readdirSync(work).sort()).toEqual(['cache', 'out.chapters.json', 'out.mp3', 'out.vtt'])
    const info = await (await createFfmpeg()).probe(path.join(work, 'out.mp3'))
    expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 1 })
    expect(info.chapters.length).toBeGreaterThan(1)
    const cues = parseVtt(readFileSync(path.join(work, 'out.vtt'), 'utf8'))
    expect(cues.length).toBeGreaterThan(10)
    expect(Math.abs(cues[cues.length - 1]!.endMs - info.durationMs)).toBeLessThan(100)
    // The clips in the cache are the model's: its sample rate, a whole number of tokens each.
    const clips = readdirSync(path.join(work, 'cache', 'clips'), { recursive: true }).map(String).filter((f) => f.endsWith('.wav'))
    expect(clips.length).toBeGreaterThan(5)
    const wav = await fs.readFile(path.join(work, 'cache', 'clips', clips[0]!))
    expect(wav.readUInt32LE(24)).toBe(16000)
  }, 400_000)

  test('a profile whose model is not installed stops start-up, naming the install command', async () => {
    const voicesDir = path.join(dir, 'voices-missing')
    await fs.mkdir(voicesDir, { recursive: true })
    await fs.copyFile(path.join(ROOT, 'voices/default.json'), path.join(voicesDir, 'default.json'))
    await fs.copyFile(path.join(ROOT, 'voices/examples/piper-en-us-amy.json'), path.join(voicesDir, 'amy.json'))
    const config = loadConfig({ env: { BRIEFCAST_VOICES_DIR: voicesDir, BRIEFCAST_MODELS_DIR: path.join(dir, 'empty-models'), BRIEFCAST_CACHE_DIR: path.join(dir, 'c1') } })
    const err = await createSpeechService(config, { warmUp: false }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ code: 'INVALID_PROFILE' })
    expect((err as Error).message).toContain('amy.json: voices.body.name: the model "vits-piper-en_US-amy-low" is not installed')
    expect((err as Error).message).toContain('`briefcast voices install vits-piper-en_US-amy-low`')
  })

  test('the shipped example profiles are valid profiles (in voices/examples/, so start-up never needs their models)', async () => {
    const { profileFileSchema } = await import('../../src/tts/voices.ts')
    for (const f of readdirSync(path.join(ROOT, 'voices/examples'))) {
      const profile = profileFileSchema.parse(JSON.parse(readFileSync(path.join(ROOT, 'voices/examples', f), 'utf8')))
      expect(profile.engine).toBe('sherpa-onnx')
      expect(profile.install).toBe(profile.voices.body.name)
      expect(profile.description).toContain(`briefcast voices install ${profile.install}`)
    }
  })
})

describe('installModel', () => {
  test('resumes a broken download with a Range request', async () => {
    const modelsDir = path.join(dir, 'resume')
    ranges.length = 0
    cutAfter = 100_000
    await expect(installModel(`${base}/${MODEL}.tar.bz2`, opts(modelsDir))).rejects.toMatchObject({ code: 'FETCH_FAILED', message: expect.stringContaining('Run the same command again') })
    expect(await listInstalledModels(modelsDir)).toEqual([])
    const model = await installModel(`${base}/${MODEL}.tar.bz2`, opts(modelsDir))
    // The second request asks for the rest of what the first delivered (up to the cut), and the result is the whole archive.
    expect(ranges).toHaveLength(2)
    expect(ranges[0]).toBeUndefined()
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1])
    expect(resumedAt).toBeGreaterThan(0)
    expect(resumedAt).toBeLessThanOrEqual(100_000)
    expect(model).toMatchObject({ name: MODEL, layout: 'piper', sampleRate: 16000, numSpeakers: 2, languages: ['en-US'] })
    expect(model.fingerprint).toBe(createHash('sha256').update(archive).digest('hex'))
    expect(readdirSync(modelsDir)).toEqual([MODEL])
  })

  test('checks the sha256 when one is given', async () => {
    const modelsDir = path.join(dir, 'sha')
    await expect(installModel(`${base}/${MODEL}.tar.bz2`, { ...opts(modelsDir), sha256: '0'.repeat(64) })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' })
    expect(existsSync(path.join(modelsDir, MODEL))).toBe(false)
    const good = createHash('sha256').update(archive).digest('hex')
    await expect(installModel(`${base}/${MODEL}.tar.bz2`, { ...opts(modelsDir), sha256: good })).resolves.toMatchObject({ name: MODEL })
  })

  test('refuses an archive over the size limit before downloading it', async () => {
    const modelsDir = path.join(dir, 'big')
    await expect(installModel(`${base}/${MODEL}.tar.bz2`, { ...opts(modelsDir), maxBytes: 10_000 })).rejects.toMatchObject({
      code: 'INPUT_TOO_LARGE',
      message: expect.stringContaining('BRIEFCAST_MODELS_MAX_BYTES'),
    })
    expect(readdirSync(modelsDir)).toEqual([])
  })

  test('refuses what is not a model archive, leaving nothing behind', async () => {
    const modelsDir = path.join(dir, 'bad')
    await expect(installModel(`${base}/not-an-archive.tar.bz2`, opts(modelsDir))).rejects.toMatchObject({ code: 'INVALID_MODEL_ARCHIVE' })
    await expect(installModel(`${base}/some-dir.tar.bz2`, opts(modelsDir))).rejects.toMatchObject({ code: 'UNKNOWN_MODEL_LAYOUT', message: expect.stringContaining('tokens.txt') })
    // A truncated archive (a local file this time).
    const truncated = path.join(dir, `${MODEL}-cut.tar.bz2`)
    await fs.writeFile(truncated, archive.subarray(0, archive.length >> 1))
    await expect(installModel(truncated, opts(modelsDir))).rejects.toMatchObject({ code: 'INVALID_MODEL_ARCHIVE' })
    await expect(installModel(`${base}/nothing-here.tar.bz2`, opts(modelsDir))).rejects.toMatchObject({ code: 'FETCH_FAILED' })
    expect(await listInstalledModels(modelsDir)).toEqual([])
    expect(readdirSync(modelsDir).filter((f) => f !== '.install')).toEqual([])
  })

  test('a private address is refused unless allowlisted (the SSRF-safe fetcher)', async () => {
    await expect(installModel(`${base}/${MODEL}.tar.bz2`, { ...opts(path.join(dir, 'ssrf')), allowlist: [] })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' })
  })
})
