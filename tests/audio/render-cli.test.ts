/**
 * `briefcast render` as a user runs it: a real process, real espeak-ng and
 * ffmpeg. Interrupted runs (SIGTERM, SIGKILL) must leave no output and no
 * temp files once the process has exited.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg } from '../../src/audio/ffmpeg.ts'
import { parseVtt } from '../../src/audio/transcript.ts'
import { tempDir } from './helpers.ts'
import { availableCores } from '../../src/util/cores.ts'

const bin = path.resolve('bin/briefcast.js')
const fixture = path.resolve('tests/fixtures/plain/lenovo-nvidia-ai-factories.txt')

let dir: string
let voicesDir: string
let longInput: string

beforeAll(async () => {
  dir = await tempDir('briefcast-cli-')
  voicesDir = path.join(dir, 'voices')
  await fs.mkdir(voicesDir)
  await fs.writeFile(path.join(voicesDir, 'default.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en-US', voices: { body: { language: 'en-US' } } }))
  // Long enough that a kill lands mid-render: the page four times, each copy numbered so no clip repeats.
  const text = readFileSync(fixture, 'utf8')
  longInput = path.join(dir, 'long.txt')
  await fs.writeFile(longInput, [1, 2, 3, 4].map((n) => text.replace(/\n\n/g, ` Part ${n}.\n\n`)).join('\n\n'))
})

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

function startCli(args: string[], cacheDir: string, cwd: string, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, 'render', ...args], {
    cwd,
    env: { ...process.env, BRIEFCAST_CACHE_DIR: cacheDir, BRIEFCAST_VOICES_DIR: voicesDir, BRIEFCAST_ESPEAK_WORKERS: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, out: () => out, err: () => err, exit }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return check()
}

const count = (d: string) => (existsSync(d) ? readdirSync(d).length : 0)

/** ffmpeg processes whose command line mentions this directory. */
function ffmpegUnder(d: string): number[] {
  const pids: number[] = []
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8')
      if (cmd.includes('ffmpeg') && cmd.includes(d)) pids.push(Number(p))
    } catch {}
  }
  return pids
}

async function interrupted(signal: NodeJS.Signals, name: string) {
  const work = path.join(dir, name)
  const cache = path.join(work, 'cache')
  await fs.mkdir(work, { recursive: true })
  const run = startCli([longInput, '-o', 'out.mp3'], cache, work)
  // Halfway: some pieces encoded, most not.
  const started = await waitFor(() => count(path.join(cache, 'pieces')) >= 4, 120_000)
  expect(started, run.err()).toBe(true)
  run.child.kill(signal)
  const code = await run.exit
  // The watchdog (SIGKILL) needs a moment after the exit; nothing should remain once it is done.
  const clean = () => readdirSync(work).filter((f) => f !== 'cache').length === 0 && count(path.join(cache, 'tmp')) === 0 && ffmpegUnder(cache).length === 0
  expect(await waitFor(clean, 10_000), `left: ${readdirSync(work).join(', ')} / tmp: ${count(path.join(cache, 'tmp'))}`).toBe(true)
  expect(count(path.join(cache, 'episodes'))).toBe(0)
  return { code, err: run.err() }
}

describe('briefcast render', () => {
  it('renders a page to out.mp3, out.vtt and out.chapters.json with a one-line summary', async () => {
    const work = path.join(dir, 'ok')
    await fs.mkdir(work)
    const run = startCli([fixture, '-o', 'out.mp3', '--verbose'], path.join(work, 'cache'), work)
    const code = await run.exit
    expect(code, run.err()).toBe(0)
    // Every clip is new: enough speech to pay for V8's optimizing tier (src/cli/wasm-tier.ts).
    const newChars = Number(/WebAssembly tiered up \((\d+) new characters of speech\)/.exec(run.err())?.[1])
    expect(newChars, run.err()).toBeGreaterThan(5000)
    expect(run.out()).toMatch(/^out\.mp3: \d+:\d\d, [\d.]+ [kM]B, -1[5-7]\.\d LUFS \/ -\d+\.\d dBTP, \d+ chapters, \d+ segments \(\d+ synthesized, 0 cached\), [\d.]+ s\n$/)
    expect(readdirSync(work).sort()).toEqual(['cache', 'out.chapters.json', 'out.mp3', 'out.vtt'])
    const ffmpeg = await createFfmpeg()
    const info = await ffmpeg.probe(path.join(work, 'out.mp3'))
    expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 1 })
    expect(info.chapters.length).toBeGreaterThan(1)
    const cues = parseVtt(readFileSync(path.join(work, 'out.vtt'), 'utf8'))
    expect(Math.abs(cues[cues.length - 1]!.endMs - info.durationMs)).toBeLessThan(100)
    expect(count(path.join(work, 'cache', 'tmp'))).toBe(0)
  }, 400_000)

  it('renders a URL (fetched with the configured limits) and reports fetch failures', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/story.txt') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        res.end(readFileSync(fixture))
      } else {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    try {
      const work = path.join(dir, 'url')
      await fs.mkdir(work)
      // Same cache as the first test: the clips are there, so this checks fetching, not synthesis.
      const run = startCli([`http://127.0.0.1:${port}/story.txt`, '-o', 'story.mp3', '--verbose'], path.join(dir, 'ok', 'cache'), work)
      expect(await run.exit, run.err()).toBe(0)
      // Its size was unknown at start: the short script, once converted, gets an encoder thread per core.
      expect(run.err()).toContain(`on up to ${availableCores()} encoder threads`)
      // Every clip is cached: nothing to speak, so the render stays on Liftoff.
      expect(run.err()).toContain('WebAssembly on Liftoff alone (0 new characters of speech)')
      expect(readdirSync(work).sort()).toEqual(['story.chapters.json', 'story.mp3', 'story.vtt'])
      const missing = startCli([`http://127.0.0.1:${port}/missing`, '-o', 'missing.mp3'], path.join(dir, 'ok', 'cache'), work)
      expect(await missing.exit).toBe(1)
      expect(missing.err()).toMatch(/FETCH_FAILED.*404/)
      expect(existsSync(path.join(work, 'missing.mp3'))).toBe(false)
    } finally {
      server.close()
    }
  }, 400_000)

  it('needs no ffmpeg for an MP3 episode; an M4A one reports a missing ffmpeg and writes nothing', async () => {
    const work = path.join(dir, 'no-ffmpeg')
    await fs.mkdir(work)
    const missing = { FFMPEG_PATH: path.join(work, 'no-such-ffmpeg'), FFPROBE_PATH: path.join(work, 'no-such-ffprobe') }
    // Same cache as the first test (its clips are there), but not its ffmpeg-check.json: a fresh one.
    const cache = path.join(work, 'cache')
    await fs.cp(path.join(dir, 'ok', 'cache', 'clips'), path.join(cache, 'clips'), { recursive: true })
    const mp3 = startCli([fixture, '-o', 'out.mp3'], cache, work, missing)
    expect(await mp3.exit, mp3.err()).toBe(0)
    const info = await (await createFfmpeg()).probe(path.join(work, 'out.mp3'))
    expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 1 })
    expect(info.chapters.length).toBeGreaterThan(1)
    const m4a = startCli([fixture, '-o', 'out.m4a'], cache, work, missing)
    expect(await m4a.exit).toBe(1)
    expect(m4a.err()).toMatch(/FFMPEG_NOT_FOUND/)
    expect(readdirSync(work).sort()).toEqual(['cache', 'out.chapters.json', 'out.mp3', 'out.vtt'])
    expect(count(path.join(cache, 'tmp'))).toBe(0)
  }, 400_000)

  it('leaves no output and no temp files when killed with SIGKILL halfway', async () => {
    const { code } = await interrupted('SIGKILL', 'kill')
    expect(code).toBe(null)
  }, 400_000)

  it('stops cleanly on SIGTERM: exit 130, no output, no temp files', async () => {
    const { code, err } = await interrupted('SIGTERM', 'term')
    expect(code).toBe(130)
    expect(err).toMatch(/ABORTED/)
  }, 400_000)

  it('refuses an output path it cannot write before doing any work', async () => {
    const run = startCli([fixture, '-o', path.join(dir, 'no', 'such', 'dir', 'out.mp3')], path.join(dir, 'nw-cache'), dir)
    expect(await run.exit).toBe(1)
    expect(run.err()).toMatch(/OUTPUT_NOT_WRITABLE/)
    expect(count(path.join(dir, 'nw-cache', 'pieces'))).toBe(0)
  }, 60_000)
})
