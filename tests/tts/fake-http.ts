/**
 * What the fake cloud TTS servers share: an HTTP server on 127.0.0.1:0 that
 * records each request (method, path, query, headers, body), answers with
 * queued failures first (status, headers, body: each provider's documented
 * error shape), can answer slowly, and counts requests the client gave up on
 * (the connection closed before the answer: proof that an abort stopped the work).
 */
import http from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import type { TtsEngine, VoiceSettings } from '../../src/tts/engine.ts'
import { engineContract } from './contract.ts'

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: http.IncomingHttpHeaders
  body: string
}

export interface QueuedFailure {
  status: number
  body: object
  headers?: Record<string, string>
}

export interface FakeHttpServer {
  url: string
  port: number
  received: RecordedRequest[]
  failures: QueuedFailure[]
  /** Requests whose client went away before the answer. */
  cancelled: number
  delayMs: number
  close(): Promise<void>
}

export type Answer = { status: number; headers?: Record<string, string>; body: Buffer | string | object }
export type Handler = (req: RecordedRequest) => Answer

const MS_PER_CHAR = 55

/** A 220 Hz tone as long as the text would take to say (55 ms a character, divided by the rate), plus extra silence. */
export function tone(text: string, sampleRate: number, rate = 1, extraSilenceMs = 0): Buffer {
  const speechMs = (text.trim().length * MS_PER_CHAR) / rate
  const speech = Math.max(1, Math.round((speechMs / 1000) * sampleRate))
  const silence = Math.round((extraSilenceMs / 1000) * sampleRate)
  const pcm = Buffer.alloc((speech + silence) * 2)
  for (let i = 0; i < speech; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / sampleRate)), i * 2)
  return pcm
}

export { MS_PER_CHAR }

/** HTTP/1.1, or cleartext HTTP/2 (h2c) for clients that speak only that (the AWS SDK's Polly client). */
export async function startFakeHttp(handler: Handler, options: { http2?: boolean } = {}): Promise<FakeHttpServer> {
  const sockets = new Set<Socket>()
  const state: FakeHttpServer = {
    url: '',
    port: 0,
    received: [],
    failures: [],
    cancelled: 0,
    delayMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  const onRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers as http.IncomingHttpHeaders, body: Buffer.concat(chunks).toString('utf8') }
      state.received.push(recorded)
      let done = false
      res.on('close', () => {
        if (!done) state.cancelled++
      })
      const answer = () => {
        if (res.destroyed) return
        done = true
        const failure = state.failures.shift()
        const a: Answer = failure ? { status: failure.status, headers: failure.headers, body: failure.body as object } : handler(recorded)
        const body = Buffer.isBuffer(a.body) ? a.body : typeof a.body === 'string' ? Buffer.from(a.body) : Buffer.from(JSON.stringify(a.body))
        const type = Buffer.isBuffer(a.body) ? 'application/octet-stream' : typeof a.body === 'string' ? 'text/plain' : 'application/json'
        res.writeHead(a.status, { 'content-type': type, 'content-length': String(body.length), ...a.headers })
        res.end(body)
      }
      if (state.delayMs > 0) setTimeout(answer, state.delayMs)
      else answer()
    })
  }
  const server = options.http2 ? http2.createServer(onRequest) : http.createServer(onRequest)
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.port = (server.address() as AddressInfo).port
  state.url = `http://127.0.0.1:${state.port}`
  return state
}

/** What every fake provider server (HTTP or gRPC) keeps for the tests: requests seen, queued failures, cancellations, a delay. */
export interface FakeProvider {
  received: unknown[]
  failures: unknown[]
  cancelled: number
  delayMs: number
  close(): Promise<void>
}

/** Wait until the server saw a request cancelled by its client (throws after 5 s). */
export async function waitForCancel(fake: FakeProvider): Promise<void> {
  const t = Date.now()
  while (fake.cancelled === 0 && Date.now() - t < 5000) await new Promise((r) => setTimeout(r, 10))
  if (fake.cancelled === 0) throw new Error('the server never saw the request cancelled')
}

/**
 * The shared engine contract (tests/tts/contract.ts) for an engine on a fake provider server: the
 * abort case gets a request still in flight after 100 ms, and passes once the server saw the
 * client give up on it.
 */
export function fakeServerContract<F extends FakeProvider>(
  name: string,
  start: () => Promise<F>,
  create: (fake: F) => Promise<TtsEngine>,
  voice: VoiceSettings,
): void {
  let fake: F | undefined
  engineContract(name, async () => {
    const server = await start()
    fake = server
    return {
      engine: await create(server),
      voice,
      longText: 'A long article paragraph. '.repeat(100),
      async assertWorkStopped() {
        await waitForCancel(server)
        server.delayMs = 0
      },
      close: () => server.close(),
    }
  })
  beforeEach((ctx) => {
    if (fake) fake.delayMs = ctx.task.name.includes('aborted request') ? 3000 : 0
  })
}

/**
 * One fake provider server and one engine on it for a describe block: started before its tests,
 * closed after them, and the server's record, queued failures and delay cleared before each test.
 * Read `fx.fake` and `fx.engine` inside the tests.
 */
export function fakeEngineFixture<F extends FakeProvider, E extends { close(): Promise<void> }>(
  start: () => Promise<F>,
  create: (fake: F) => Promise<E>,
): { readonly fake: F; readonly engine: E } {
  const t = {} as { fake: F; engine: E }
  beforeAll(async () => {
    t.fake = await start()
    t.engine = await create(t.fake)
  })
  afterAll(async () => {
    await t.engine?.close()
    await t.fake?.close()
  })
  beforeEach(() => {
    t.fake.received.length = 0
    t.fake.failures.length = 0
    t.fake.delayMs = 0
  })
  return t
}
