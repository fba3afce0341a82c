/**
 * Slow and greedy clients: explicit header/request timeouts, sockets closed
 * after an early answer instead of draining a slow body, a connection limit
 * per client.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestService, type TestService } from '../http/helpers.ts'

let svc: TestService
let port: number
beforeAll(async () => {
  svc = await startTestService({ 'server.headersTimeoutMs': 1000, 'server.requestTimeoutMs': 2000, 'server.maxConnectionsPerClient': 8 })
  port = Number(new URL(svc.url).port)
})
afterAll(async () => {
  await svc?.stop()
})

/** Resolves with what the server sent and how long until it closed the socket. */
function connect(): { socket: net.Socket; closed: Promise<{ ms: number; text: string }> } {
  const socket = net.connect(port, '127.0.0.1')
  const t = performance.now()
  let text = ''
  socket.on('data', (d) => (text += String(d)))
  socket.on('error', () => {})
  const closed = new Promise<{ ms: number; text: string }>((resolve) => socket.once('close', () => resolve({ ms: performance.now() - t, text })))
  return { socket, closed }
}

describe('slow clients', () => {
  it('drops a client that never finishes its headers (headers timeout)', { timeout: 20_000 }, async () => {
    const { socket, closed } = connect()
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
    const timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 200)
    const { ms } = await closed
    clearInterval(timer)
    expect(ms).toBeLessThan(4000)
  })

  it('drops a slow body on the public listen-events route (request timeout)', { timeout: 20_000 }, async () => {
    const { socket, closed } = connect()
    socket.write('POST /listen/abc/events HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n{')
    const timer = setInterval(() => socket.write(' '), 200)
    const { ms } = await closed
    clearInterval(timer)
    expect(ms).toBeLessThan(5000)
  })

  it('closes the connection soon after an early 401 instead of draining a slow body until the request timeout', { timeout: 20_000 }, async () => {
    const { socket, closed } = connect()
    socket.write('POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"text":"')
    const timer = setInterval(() => socket.write('x'.repeat(100)), 100)
    const { ms, text } = await closed
    clearInterval(timer)
    expect(text).toMatch(/^HTTP\/1\.1 401 /)
    // One second to finish the body (src/http/limits.ts), not the two-second request timeout set above.
    expect(ms).toBeLessThan(1900)
  })

  it('limits connections per client address', { timeout: 20_000 }, async () => {
    const conns = Array.from({ length: 12 }, () => connect())
    await Promise.all(conns.map((c) => new Promise((r) => c.socket.once('connect', r))))
    // Over the limit of 8: the extra connections are closed at once; the others stay open and are served.
    await new Promise((r) => setTimeout(r, 300))
    const open = conns.filter((c) => !c.socket.destroyed && c.socket.readyState === 'open')
    expect(open.length).toBe(8)
    open[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    const { text } = await open[0]!.closed
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    for (const c of conns) c.socket.destroy()
    // A new connection is accepted once the others are gone.
    await new Promise((r) => setTimeout(r, 100))
    const again = connect()
    again.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect((await again.closed).text).toMatch(/^HTTP\/1\.1 200 /)
  })
  // Last: fetch keeps these connections open in its pool, which would count against the limit above.
  it('lets a client that is still sending a small body read an early 404', async () => {
    for (let i = 0; i < 20; i++) {
      const form = new FormData()
      form.set('file', new Blob([new Uint8Array(200_000)]), 'x.bin')
      const r = await fetch(`${svc.url}/player/render`, { method: 'POST', body: form })
      expect(r.status).toBe(404)
      await r.arrayBuffer()
    }
  })
})
