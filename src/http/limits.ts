/**
 * Connection-level limits of the HTTP server (docs/security.md): explicit
 * header/request/keep-alive timeouts, a total and a per-client connection
 * limit, and no slow body drained after an early answer.
 */
import type http from 'node:http'
import type net from 'node:net'
import type { Config } from '../config.ts'

/** Timeouts and the total connection limit, set on the server before it listens. */
export function serverOptions(config: Config): http.ServerOptions {
  return {
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    headersTimeout: config.server.headersTimeoutMs,
    requestTimeout: config.server.requestTimeoutMs,
    // Node checks the two timeouts above on this interval (default 30 s, which would add up to 30 s to each).
    connectionsCheckingInterval: Math.min(1000, config.server.headersTimeoutMs),
  }
}

/**
 * Close new connections beyond `max` per client address. Addresses for which
 * `isTrustedProxy` holds are exempt: behind a reverse proxy every reader
 * arrives from the proxy's address.
 */
export function limitConnectionsPerClient(server: http.Server, max: number, isTrustedProxy: (address: string) => boolean): void {
  const open = new Map<string, number>()
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress
    if (!address || isTrustedProxy(address)) return
    const n = (open.get(address) ?? 0) + 1
    if (n > max) {
      socket.destroy()
      return
    }
    open.set(address, n)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
}

/** How long the rest of a request body may take after an early answer before the connection is cut. */
export const EARLY_ANSWER_DRAIN_MS = 1000

/**
 * After an answer sent before the request body was read in full (an error,
 * a 401), the rest of the body is read and dropped for at most
 * EARLY_ANSWER_DRAIN_MS, then the connection is cut: a client still sending
 * a small body gets to read the answer (cutting at once makes it fail with
 * EPIPE), a slow or endless body no longer holds the socket (Node would
 * drain it until the request timeout). Call before the response is written.
 */
export function closeAfterEarlyAnswer(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.once('finish', () => {
    if (req.complete || req.socket.destroyed) return
    const timer = setTimeout(() => req.socket.destroy(), EARLY_ANSWER_DRAIN_MS)
    timer.unref()
    req.once('end', () => clearTimeout(timer))
    req.socket.once('close', () => clearTimeout(timer))
    req.resume()
  })
}
