/**
 * Durability: SIGKILL the service in the middle of a render, start it again
 * on the same data and cache directories, and the job completes with a whole,
 * playable file.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createFfmpeg } from '../../src/audio/ffmpeg.ts'
import { paragraphs } from '../http/helpers.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const KEY = 'restart-test-key-0123456789'
const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-restart-'))
const children: ChildProcess[] = []

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

function start(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      BRIEFCAST_HOST: '127.0.0.1',
      BRIEFCAST_API_KEY: KEY,
      BRIEFCAST_DATA_DIR: path.join(dir, 'data'),
      BRIEFCAST_CACHE_DIR: path.join(dir, 'cache'),
      BRIEFCAST_LOG_LEVEL: 'info',
      BRIEFCAST_JOB_CONCURRENCY: '1',
      // The subject is resuming after SIGKILL, not CPU priority: under SCHED_IDLE a render on a machine
      // saturated by other work may not get a cycle before the deadline below.
      BRIEFCAST_RENDER_CPU: 'nice',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${out}`)), 60_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"briefcast listening"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ child, url: m[1]! })
      }
    })
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`service exited with ${code}:\n${out}`))
    })
  })
}

const auth = { authorization: `Bearer ${KEY}` }

async function article(url: string, id: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${url}/api/articles/${id}`, { headers: auth })).json()) as Record<string, unknown>
}

describe('restart after SIGKILL', () => {
  it('resumes the interrupted render and serves a whole file', async () => {
    let { child, url } = await start()
    const r = await fetch(`${url}/api/articles`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Killed mid-render', text: paragraphs(30, 'The service was killed while rendering this') }),
    })
    expect(r.status).toBe(201)
    const { id } = (await r.json()) as { id: string }

    // Wait until the render is under way (some progress), then kill without warning.
    const deadline = Date.now() + 60_000
    for (;;) {
      const a = await article(url, id)
      if (a.status === 'rendering' && (a.progress as number) > 0.05) break
      expect(a.status).not.toBe('ready') // the article must be long enough to catch mid-render
      if (Date.now() > deadline) throw new Error('render never started')
      await new Promise((res) => setTimeout(res, 20))
    }
    const exited = new Promise((res) => child.once('exit', res))
    child.kill('SIGKILL')
    await exited

    ;({ child, url } = await start())
    const end = Date.now() + 120_000
    let a: Record<string, unknown>
    for (;;) {
      a = await article(url, id)
      if (a.status === 'ready' || a.status === 'failed') break
      if (Date.now() > end) throw new Error(`not ready after restart: ${JSON.stringify(a)}`)
      await new Promise((res) => setTimeout(res, 200))
    }
    expect(a.status).toBe('ready')
    expect((a.job as unknown) ?? null).toBeNull()

    const res = await fetch(a.audioUrl as string)
    expect(res.status).toBe(200)
    const body = Buffer.from(await res.arrayBuffer())
    const episode = a.episode as { hash: string; bytes: number; durationMs: number }
    expect(body.length).toBe(episode.bytes)
    const onDisk = readFileSync(path.join(dir, 'cache', 'episodes', `${episode.hash}.mp3`))
    expect(body.equals(onDisk)).toBe(true)
    // Whole and playable: ffprobe reads the full duration.
    const ffmpeg = await createFfmpeg()
    const probe = await ffmpeg.probe(path.join(dir, 'cache', 'episodes', `${episode.hash}.mp3`))
    expect(Math.abs(probe.durationMs - episode.durationMs)).toBeLessThan(500)
    expect(probe.durationMs).toBeGreaterThan(60_000)
    // No half-written episode file is left where files are served from.
    expect(readdirSync(path.join(dir, 'cache', 'episodes')).filter((f) => f.endsWith('.mp3') && !f.startsWith(episode.hash))).toEqual([])

    const stopped = new Promise<number | null>((res) => child.once('exit', (code) => res(code)))
    child.kill('SIGTERM')
    expect(await stopped).toBe(0)
  }, 300_000)
})
