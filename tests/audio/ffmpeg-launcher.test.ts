/**
 * The three ffmpeg runners (src/audio/ffmpeg-launcher.ts) give the same results and errors: the
 * in-process spawnRunner, the service's FfmpegSpawner (a helper process) and the CLI's ShellRunner
 * (a long-lived /bin/sh). Run here with /bin/sh commands standing in for ffmpeg (the contract is the
 * binary's exit, output and stderr; tests/audio/ffmpeg.test.ts runs ffmpeg itself).
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FfmpegSpawner, ffmpegProcesses, ShellRunner, spawnRunner, type FfmpegRunner } from '../../src/audio/ffmpeg-launcher.ts'
import { alive, rejection } from '../util/expect.ts'

let dir: string
let spawner: FfmpegSpawner
let shell: ShellRunner

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'launcher-'))
  spawner = new FfmpegSpawner()
  shell = new ShellRunner(dir).start()
})
afterAll(async () => {
  await Promise.all([spawner.close(), shell.close()])
  await fs.rm(dir, { recursive: true, force: true })
})

const runners: Record<string, () => FfmpegRunner> = { spawnRunner: () => spawnRunner, FfmpegSpawner: () => spawner.runner, ShellRunner: () => shell.runner }

describe.each(Object.keys(runners))('%s', (name) => {
  const run = (args: string[], signal?: AbortSignal) => runners[name]!()('/bin/sh', args, { signal })

  it('returns stdout and the stderr tail; reports the pid it started and its exit', async () => {
    const seen: string[] = []
    const onSpawn = (pid: number) => seen.push(`spawn ${pid}`)
    const onExit = (pid: number) => seen.push(`exit ${pid}`)
    ffmpegProcesses.on('spawn', onSpawn).on('exit', onExit)
    try {
      const r = await run(['-c', 'printf "out %s" "$1"; echo report >&2', 'sh', `"quoted" it's`])
      expect(r).toEqual({ stdout: `out "quoted" it's`, stderr: 'report\n' })
    } finally {
      ffmpegProcesses.off('spawn', onSpawn).off('exit', onExit)
    }
    expect(seen).toHaveLength(2)
    expect(seen[1]).toBe(seen[0]!.replace('spawn', 'exit'))
  })

  it('a failing command rejects with FFMPEG_FAILED, exit code and the lines that say what failed', async () => {
    const err = await rejection(run(['-c', 'echo "Stream #0: ok" >&2; echo "Error: invalid data" >&2; exit 3']))
    expect(err.code).toBe('FFMPEG_FAILED')
    expect(err.message).toBe('sh exited with 3: Error: invalid data')
    expect(err.details).toMatchObject({ exitCode: 3, signal: null, stderrTail: 'Error: invalid data' })
  })

  it('a binary that does not exist rejects with FFMPEG_NOT_FOUND', async () => {
    const missing = path.join(dir, 'no-such-ffmpeg')
    const err = await rejection(runners[name]!()(missing, ['-version']))
    expect(err.code).toBe('FFMPEG_NOT_FOUND')
    expect(err.message).toBe(`Cannot run ${missing} (ENOENT).`)
  })

  it('abort kills the process and rejects with ABORTED once it is gone', async () => {
    const controller = new AbortController()
    let pid: number | undefined
    const onSpawn = (p: number) => (pid = p)
    ffmpegProcesses.on('spawn', onSpawn)
    const p = run(['-c', 'exec sleep 30'], controller.signal)
    await expect.poll(() => pid, { timeout: 5000 }).toBeDefined()
    ffmpegProcesses.off('spawn', onSpawn)
    expect(alive(pid!)).toBe(true)
    const t0 = Date.now()
    controller.abort()
    expect((await rejection(p)).code).toBe('ABORTED')
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(alive(pid!)).toBe(false)
  })
})

describe('the helpers', () => {
  it('a helper that dies rejects what it was running, and the next run starts a new one', async () => {
    for (const [runner, pattern] of [
      [spawner.runner, /^The ffmpeg spawner stopped \(exit SIGKILL\)\.$/],
      [shell.runner, /^The ffmpeg launcher shell stopped \(exit SIGKILL\)\.$/],
    ] as const) {
      let pid: number | undefined
      const onSpawn = (p: number) => (pid = p)
      ffmpegProcesses.on('spawn', onSpawn)
      const p = runner('/bin/sh', ['-c', 'exec sleep 30'])
      await expect.poll(() => pid, { timeout: 5000 }).toBeDefined()
      ffmpegProcesses.off('spawn', onSpawn)
      // The helper is the parent of the job (the shell: of a subshell that waits for it).
      const helper = Number((await fs.readFile(`/proc/${pid}/stat`, 'utf8')).split(' ')[3])
      process.kill(runner === shell.runner ? Number((await fs.readFile(`/proc/${helper}/stat`, 'utf8')).split(' ')[3]) : helper, 'SIGKILL')
      const err = await rejection(p)
      expect(err.code).toBe('FFMPEG_FAILED')
      expect(err.message).toMatch(pattern)
      expect((await runner('/bin/sh', ['-c', 'echo again'])).stdout).toBe('again\n')
      if (runner === shell.runner) await expect.poll(() => alive(pid!)).toBe(false)
    }
  })

  it('the shell leaves no job files behind', async () => {
    await shell.runner('/bin/sh', ['-c', 'true'])
    expect(await fs.readdir(dir)).toEqual([])
  })
})
