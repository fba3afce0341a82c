/** The service reaps every child process it starts: none is left <defunct> (a zombie). */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestService, type TestService } from '../http/helpers.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
})
afterAll(async () => {
  await svc?.stop()
})

function children(): { pid: number; stat: string; comm: string }[] {
  const out = execFileSync('ps', ['-o', 'pid=,stat=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).trim()
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, stat, ...comm] = line.trim().split(/\s+/)
      return { pid: Number(pid), stat: stat!, comm: comm.join(' ') }
    })
}

describe('child processes', () => {
  it('leaves no zombie child after start-up (esbuild, ffmpeg probes, the render child)', async () => {
    // The player bundle is built on start-up; a request makes sure of it.
    expect((await fetch(svc.url + '/player.js')).status).toBe(200)
    await new Promise((r) => setTimeout(r, 500))
    const list = children()
    const zombies = list.filter((c) => c.stat.startsWith('Z'))
    expect(zombies, JSON.stringify(list)).toEqual([])
  })
})
