/**
 * A fleet on one machine for tests and benches: API nodes (`briefcast serve
 * --no-render`) and `briefcast worker` processes, each its own process,
 * sharing Redis (a prefix of their own), the SQLite file and the cache
 * directory (fleet.singleMachine).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import path from 'node:path'
import readline from 'node:readline'
import { expect } from 'vitest'

export const ROOT = path.resolve(import.meta.dirname, '../..')
export const KEY = 'fleet-test-key-0123456789abcdef'

export interface Node {
  name: string
  proc: ChildProcess
  /** API nodes: the service URL; workers: the health URL. */
  url: string
  /** pino JSON lines, parsed. */
  log: Record<string, unknown>[]
  /** Emits 'log' with each entry as it is parsed (wait on it instead of polling `log`). */
  events: EventEmitter
  exited: Promise<unknown>
  kill(signal?: NodeJS.Signals): Promise<void>
}

export interface FleetEnv {
  dir: string
  redisUrl: string
  prefix: string
  extra?: Record<string, string>
}

export function fleetEnv(f: FleetEnv): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    PORT: '0',
    BRIEFCAST_HOST: '127.0.0.1',
    BRIEFCAST_API_KEY: KEY,
    BRIEFCAST_DATA_DIR: path.join(f.dir, 'data'),
    BRIEFCAST_CACHE_DIR: path.join(f.dir, 'cache'),
    BRIEFCAST_REDIS_URL: f.redisUrl,
    BRIEFCAST_REDIS_PREFIX: f.prefix,
    BRIEFCAST_FLEET_SINGLE_MACHINE: 'true',
    BRIEFCAST_JOB_CONCURRENCY: '1',
    BRIEFCAST_LOG_LEVEL: 'info',
    ...f.extra,
  }
}

/**
 * Start `briefcast serve --no-render` or `briefcast worker --health-port 0`; resolves once it is ready.
 * `ownSession`: the node runs in a session of its own (setsid), as a service of its own would (systemd unit,
 * container). With Linux's autogroup scheduling every session shares the CPU fairly with the others, so nodes
 * in the caller's session would together get one session's share of a busy machine.
 */
export async function startNode(
  kind: 'api' | 'worker',
  name: string,
  env: Record<string, string>,
  opts: { prefix?: string[]; timeoutMs?: number; ownSession?: boolean } = {},
): Promise<Node> {
  const args = kind === 'api' ? ['serve', '--no-render'] : ['worker', '--health-port', '0']
  const cmd = [...(opts.prefix ?? []), process.execPath, path.join(ROOT, 'bin/briefcast.js'), ...args]
  const proc = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.ownSession ?? false })
  const log: Record<string, unknown>[] = []
  const events = new EventEmitter()
  const raw: string[] = []
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => raw.push(l))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${raw.slice(-20).join('\n')}`)), opts.timeoutMs ?? 120_000)
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      raw.push(line)
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      log.push(entry)
      events.emit('log', entry)
      if (entry.msg === 'briefcast listening') {
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${entry.port as number}`)
      } else if (entry.msg === 'briefcast worker ready') {
        clearTimeout(timer)
        resolve(entry.healthUrl as string)
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${String(code)}) before it was ready:\n${raw.slice(-20).join('\n')}`))
    })
  })
  return {
    name,
    proc,
    url,
    log,
    events,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      await exited
    },
  }
}

/** Log entries of a node about one job subject (article id). */
export const jobLines = (n: Node, subject: string, msg: string) => n.log.filter((e) => e.subject === subject && e.msg === msg)

export const auth = { authorization: `Bearer ${KEY}` }

export async function postArticle(url: string, body: Record<string, unknown>): Promise<string> {
  const r = await fetch(`${url}/api/articles`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (r.status !== 201) throw new Error(`POST /api/articles: ${r.status} ${await r.text()}`)
  return ((await r.json()) as { id: string }).id
}

export async function article(url: string, id: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${url}/api/articles/${id}`, { headers: auth })).json()) as Record<string, unknown>
}

export async function waitReady(url: string, id: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const a = await article(url, id)
    if (a.status === 'ready') return a
    if (a.status === 'failed') throw new Error(`render failed: ${JSON.stringify(a.error)}`)
    if (Date.now() > end) throw new Error(`not ready in ${timeoutMs} ms: ${JSON.stringify({ status: a.status, progress: a.progress })}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Post an article to node `to` and listen to it on node `on` while a worker renders it: a progressive stream whose
 * first bytes arrive while the article is still rendering. Returns the streamed bytes and the article once ready.
 */
export async function listenWhileRendering(to: Node, on: Node, body: Record<string, unknown>): Promise<{ id: string; streamed: Buffer; ready: Record<string, unknown> }> {
  const id = await postArticle(to.url, body)
  const res = await fetch(`${on.url}/listen/${id}`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('audio/mpeg')
  expect(res.headers.get('x-briefcast-progressive')).toBe('1')
  const reader = res.body!.getReader()
  const chunks: Buffer[] = []
  const first = await reader.read()
  expect(first.done).toBe(false)
  chunks.push(Buffer.from(first.value!))
  // The first bytes arrive while the render is still under way.
  expect((await article(to.url, id)).status).toBe('rendering')
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(Buffer.from(value))
  }
  const ready = await waitReady(on.url, id)
  return { id, streamed: Buffer.concat(chunks), ready }
}

/** The streamed pieces are the episode's audio frames, all of them, in order (the file adds its tags). */
export function expectStreamIsEpisode(streamed: Buffer, file: Buffer): void {
  expect(file.indexOf(streamed)).toBeGreaterThanOrEqual(0)
  expect(streamed.length).toBeGreaterThan(file.length * 0.9)
}

/**
 * Waits until one of `workers` is well into rendering article `id` (a job started, the article
 * rendering past 5%, never ready first), kills it with SIGKILL, and waits until the other worker
 * starts the job (throws after 30 s). Returns both and the take-over time.
 */
export async function killHolderMidRender(apiUrl: string, id: string, workers: [Node, Node]): Promise<{ holder: Node; other: Node; takeoverMs: number }> {
  const deadline = Date.now() + 120_000
  let holder: Node | undefined
  for (;;) {
    holder = workers.find((w) => jobLines(w, id, 'job started').length > 0)
    const s = await article(apiUrl, id)
    if (holder && s.status === 'rendering' && (s.progress as number) > 0.05) break
    expect(s.status).not.toBe('ready') // long enough to be caught mid-render
    if (Date.now() > deadline) throw new Error('the render never started')
    await new Promise((r) => setTimeout(r, 50))
  }
  const other = holder === workers[0] ? workers[1] : workers[0]
  const killedAt = Date.now()
  await holder.kill('SIGKILL')
  const takeoverBy = Date.now() + 30_000
  while (jobLines(other, id, 'job started').length === 0) {
    if (Date.now() > takeoverBy) throw new Error('no worker took the job over within 30 s')
    await new Promise((r) => setTimeout(r, 100))
  }
  const takeoverMs = Date.now() - killedAt
  console.log(`job taken over ${takeoverMs} ms after kill -9`)
  return { holder, other, takeoverMs }
}
