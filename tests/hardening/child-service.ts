/**
 * The service as its own process (`node bin/briefcast.js serve`, the way
 * `npm start` runs it), for tests that must see it crash, kill it with
 * SIGKILL and start it again on the same data.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'

export const ROOT = path.resolve(import.meta.dirname, '../..')

export interface ChildService {
  url: string
  proc: ChildProcess
  /** Lines the service logged (pino JSON), most recent last; capped. */
  log: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  alive(): boolean
  /** Direct children of the service: the render process, the ffmpeg spawner. */
  children(): { pid: number; args: string }[]
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function spawnService(env: Record<string, string>, timeoutMs = 120_000): Promise<ChildService> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/briefcast.js'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', BRIEFCAST_HOST: '127.0.0.1', ...env, BRIEFCAST_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  const keep = (line: string) => {
    log.push(line)
    if (log.length > 2000) log.splice(0, log.length - 2000)
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  readline.createInterface({ input: proc.stderr! }).on('line', keep)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start in ${timeoutMs} ms:\n${log.slice(-20).join('\n')}`)), timeoutMs)
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      keep(line)
      if (!line.includes('briefcast listening')) return
      try {
        const { port } = JSON.parse(line) as { port: number }
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${port}`)
      } catch {}
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`service exited (${code ?? signal}) before listening:\n${log.slice(-20).join('\n')}`))
    })
  })
  return {
    url,
    proc,
    log,
    exited,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    children() {
      try {
        const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(proc.pid)], { encoding: 'utf8' })
        return out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const m = /^\s*(\d+)\s+(.*)$/.exec(l)!
            return { pid: Number(m[1]), args: m[2]! }
          })
      } catch {
        return []
      }
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      await exited
    },
  }
}
