/**
 * The request channel (src/util/channel.ts) over a real worker thread, a real child process's IPC
 * channel and a real child's stdin/stdout: answers by id, concurrency, events, abort (with and without
 * a cancel message), a crash rejecting everything pending, and an idle channel not keeping a process alive.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { Channel, ipcEndpoint, lineEndpoint, workerEndpoint, type CloseCause } from '../../src/util/channel.ts'
import { rejection } from './expect.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')

// Answers {id, op:'echo', value, delayMs} with {id, value} after delayMs; {op:'progress', n} sends n
// events first; {op:'crash'} exits the thread/process; {op:'hang'} never answers; {cancel:id} answers id
// with {id, cancelled:true}; {op:'sum', buf} answers the sum of a transferred ArrayBuffer's bytes.
const SERVER = `
const timers = new Map()
const handle = (msg, reply) => {
  if (msg.cancel !== undefined) {
    clearTimeout(timers.get(msg.cancel))
    timers.delete(msg.cancel)
    return reply({ id: msg.cancel, cancelled: true })
  }
  if (msg.op === 'crash') process.exit(3)
  if (msg.op === 'hang') return
  if (msg.op === 'hello') return reply({ hello: true })
  if (msg.op === 'sum') return reply({ id: msg.id, value: new Uint8Array(msg.buf).reduce((a, b) => a + b, 0), length: msg.buf.byteLength })
  for (let i = 0; i < (msg.n ?? 0); i++) reply({ id: msg.id, event: i })
  timers.set(msg.id, setTimeout(() => { timers.delete(msg.id); reply({ id: msg.id, value: msg.value }) }, msg.delayMs ?? 0))
}
`
const WORKER = `${SERVER}
const { parentPort } = require('node:worker_threads')
parentPort.on('message', (m) => handle(m, (r) => parentPort.postMessage(r)))
`
const IPC_CHILD = `${SERVER}
process.on('message', (m) => handle(m, (r) => process.send(r)))
process.on('disconnect', () => process.exit(0))
`
const LINE_CHILD = `${SERVER}
const rl = require('node:readline').createInterface({ input: process.stdin })
rl.on('line', (l) => handle(JSON.parse(l), (r) => process.stdout.write(JSON.stringify(r) + '\\n')))
`

type Reply = { id?: number; value?: unknown; event?: number; cancelled?: boolean; hello?: boolean; length?: number }
const closedError = (cause: CloseCause) => new AppError('UNEXPECTED_ERROR', `The other side stopped (${cause.description}).`)
const isFinal = (m: Reply) => m.event === undefined

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

function worker(): { channel: Channel<object, Reply>; worker: Worker } {
  const w = new Worker(WORKER, { eval: true })
  cleanups.push(() => w.terminate())
  return { worker: w, channel: new Channel<object, Reply>(workerEndpoint(w), { closedError, isFinal, cancel: (id) => ({ cancel: id }) }) }
}
function ipcChild(): { channel: Channel<object, Reply>; child: ChildProcess } {
  const child = spawn(process.execPath, ['-e', IPC_CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  cleanups.push(() => child.kill('SIGKILL'))
  return { child, channel: new Channel<object, Reply>(ipcEndpoint(child), { closedError, isFinal, cancel: (id) => ({ cancel: id }) }) }
}
function lineChild(options: { abort?: 'now' | 'answer' } = {}): { channel: Channel<object, Reply>; child: ChildProcess } {
  const child = spawn(process.execPath, ['-e', LINE_CHILD], { stdio: ['pipe', 'pipe', 'inherit'] })
  cleanups.push(() => child.kill('SIGKILL'))
  const endpoint = lineEndpoint<object, Reply>(child, { encode: (m) => JSON.stringify(m), decode: (l) => JSON.parse(l) as Reply })
  return { child, channel: new Channel<object, Reply>(endpoint, { closedError, isFinal, cancel: (id) => ({ cancel: id }), ...options }) }
}

const transports = { 'worker thread': worker, 'child process (IPC)': ipcChild, 'child process (lines)': lineChild }

describe.each(Object.entries(transports))('Channel over a %s', (_name, make) => {
  it('answers each request by its id, many at once and out of order', async () => {
    const { channel } = make()
    const delays = [60, 0, 30, 10, 45, 5, 20, 0]
    const replies = await Promise.all(delays.map((delayMs, i) => channel.request({ op: 'echo', value: `v${i}`, delayMs })))
    expect(replies.map((r) => r.value)).toEqual(delays.map((_, i) => `v${i}`))
    expect(channel.pending).toBe(0)
  })

  it('routes events to their request before the final reply', async () => {
    const { channel } = make()
    const a: number[] = []
    const b: number[] = []
    const [ra, rb] = await Promise.all([
      channel.request({ op: 'echo', value: 'a', n: 3, delayMs: 10 }, { onEvent: (m) => a.push(m.event!) }),
      channel.request({ op: 'echo', value: 'b', n: 2 }, { onEvent: (m) => b.push(m.event!) }),
    ])
    expect([ra.value, rb.value, a, b]).toEqual(['a', 'b', [0, 1, 2], [0, 1]])
  })

  it('abort rejects with ABORTED at once, tells the other side, and leaves the other requests alone', async () => {
    const { channel } = make()
    const controller = new AbortController()
    const slow = channel.request({ op: 'echo', value: 'slow', delayMs: 5000 }, { signal: controller.signal })
    const other = channel.request({ op: 'echo', value: 'other', delayMs: 50 })
    const t0 = Date.now()
    setTimeout(() => controller.abort(), 20)
    const err = await rejection(slow)
    expect(err.code).toBe('ABORTED')
    expect(Date.now() - t0).toBeLessThan(1000)
    expect((await other).value).toBe('other')
    // The cancel message reached the other side: it answered the cancelled id (dropped), so nothing is pending.
    await expect.poll(() => channel.pending).toBe(0)
    // Already aborted: rejected without sending.
    await expect(channel.request({ op: 'echo' }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('a crash rejects every pending request with the close error, and every later one', async () => {
    const { channel } = make()
    const pending = [1, 2, 3].map(() => channel.request({ op: 'hang' }))
    const crash = channel.request({ op: 'crash' })
    const errors = await Promise.all([...pending, crash].map(rejection))
    for (const e of errors) expect(e.message).toMatch(/^The other side stopped \((exit code 3|killed by .*)\)\.$/)
    expect(channel.pending).toBe(0)
    expect(channel.closed).toBe(true)
    expect((await rejection(channel.request({ op: 'echo' }))).message).toBe(errors[0]!.message)
  })
})

describe('Channel details', () => {
  it("abort 'answer' tells the other side and settles with its answer; never sent: rejects with ABORTED", async () => {
    const { channel } = lineChild({ abort: 'answer' })
    const controller = new AbortController()
    const events: string[] = []
    const p = channel.request({ op: 'echo', delayMs: 5000 }, { signal: controller.signal, onAbort: () => events.push('onAbort') })
    void p.then((r) => events.push(`answered ${JSON.stringify(r)}`))
    await new Promise((r) => setTimeout(r, 50))
    controller.abort()
    events.push('aborted')
    expect(channel.pending).toBe(1)
    const answer = await p
    expect(answer).toEqual({ id: answer.id, cancelled: true })
    expect(events).toEqual(['onAbort', 'aborted', `answered ${JSON.stringify(answer)}`])
    expect(channel.pending).toBe(0)
    // Aborted while its message was still being made: never sent, nothing to wait for.
    const late = new AbortController()
    const unsent = channel.request(
      async (id) => {
        late.abort()
        await new Promise((r) => setTimeout(r, 10))
        return { op: 'echo', id }
      },
      { signal: late.signal },
    )
    expect((await rejection(unsent)).code).toBe('ABORTED')
    expect(channel.pending).toBe(0)
  })

  it('unsolicited messages reach onMessage; onReply sees every final reply, also an aborted one', async () => {
    const w = new Worker(WORKER, { eval: true })
    cleanups.push(() => w.terminate())
    const other: Reply[] = []
    const replies: number[] = []
    const channel = new Channel<object, Reply>(workerEndpoint(w), { closedError, cancel: (id) => ({ cancel: id }), onMessage: (m) => other.push(m), onReply: (_m, id) => replies.push(id) })
    channel.post({ op: 'hello' })
    const controller = new AbortController()
    const aborted = channel.request({ op: 'echo', delayMs: 5000 }, { signal: controller.signal })
    controller.abort()
    await rejection(aborted)
    await channel.request({ op: 'echo', value: 1 })
    await expect.poll(() => replies.length).toBe(2)
    expect(other).toEqual([{ hello: true }])
    expect(replies.sort()).toEqual([1, 2])
  })

  it('a request made by a function of its id, sent once it resolves; transfer lists move buffers', async () => {
    const { channel } = worker()
    const buf = new Uint8Array([1, 2, 3, 4]).buffer
    const r = await channel.request(
      async (id) => {
        await new Promise((res) => setTimeout(res, 10))
        return { op: 'sum', id, buf }
      },
      { transfer: [buf] },
    )
    expect([r.value, r.length, buf.byteLength]).toEqual([10, 4, 0])
    // A factory that fails rejects the request with its error.
    await expect(channel.request(() => Promise.reject(new AppError('FFMPEG_FAILED', 'cannot write the job')))).rejects.toMatchObject({ code: 'FFMPEG_FAILED' })
    expect(channel.pending).toBe(0)
  })

  it('close() rejects what is pending with the given error', async () => {
    const { channel } = ipcChild()
    const p = channel.request({ op: 'hang' })
    channel.close(new AppError('ABORTED', 'Closed.'))
    expect((await rejection(p)).message).toBe('Closed.')
    expect((await rejection(channel.request({ op: 'echo' }))).message).toBe('Closed.')
  })

  it('keeps a process alive only while a request is pending', () => {
    // A process with a worker and a child that each answer one slow request, then sit idle: it must print both
    // answers (pending requests hold it open) and then exit by itself (idle channels do not).
    const script = `
      import { spawn } from 'node:child_process'
      import { Worker } from 'node:worker_threads'
      import { Channel, ipcEndpoint, workerEndpoint } from './src/util/channel.ts'
      const closedError = () => new Error('closed')
      const w = new Channel(workerEndpoint(new Worker(${JSON.stringify(WORKER)}, { eval: true, execArgv: [] })), { closedError })
      const c = new Channel(ipcEndpoint(spawn(process.execPath, ['-e', ${JSON.stringify(IPC_CHILD)}], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })), { closedError })
      w.request({ op: 'echo', value: 'worker', delayMs: 300 }).then((r) => console.log(r.value))
      c.request({ op: 'echo', value: 'child', delayMs: 400 }).then((r) => console.log(r.value))
    `
    const t0 = Date.now()
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 })
    expect(r.error).toBeUndefined()
    expect(r.signal).toBeNull()
    expect(r.stderr).toBe('')
    expect(r.stdout.trim().split('\n')).toEqual(['worker', 'child'])
    expect(r.status).toBe(0)
    expect(Date.now() - t0).toBeLessThan(15_000)
  }, 30_000)

  it('stopping() holds a process open until the other side has gone, even if an answer arrives meanwhile', () => {
    // The worker answers while the main thread is busy, so the answer is delivered only after terminate() began:
    // settling it must not unref the worker that terminate() ref'd. Without stopping() the process ends before the
    // exit it awaits, with exit code 13 (unsettled top-level await): the CLI flake of `briefcast voices`.
    const script = `
      import { Worker } from 'node:worker_threads'
      import { Channel, workerEndpoint } from './src/util/channel.ts'
      const w = new Worker(${JSON.stringify(WORKER)}, { eval: true, execArgv: [] })
      const c = new Channel(workerEndpoint(w), { closedError: () => new Error('closed') })
      await c.request({ op: 'echo', value: 'started' })
      let late = 'pending'
      c.request({ op: 'echo', value: 'answered' }).then((r) => (late = r.value), (e) => (late = e.message))
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300)
      c.stopping()
      const code = await w.terminate()
      console.log(late, code)
    `
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 })
    expect(r.error).toBeUndefined()
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe('answered 1')
    expect(r.status).toBe(0)
  }, 30_000)
})
