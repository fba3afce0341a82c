/**
 * A TCP proxy that a test can cut and restore, to put a network outage between the service and a dependency
 * (PostgreSQL, Redis) without stopping the shared server other suites use.
 * cut(): every open connection is destroyed, and new ones are closed as soon as they arrive (the client sees its
 * connection end during the handshake, as when a server is restarting). restore(): new connections go through again.
 */
import { once } from 'node:events'
import net from 'node:net'

export interface TcpProxy {
  /** 127.0.0.1:<port> the clients connect to. */
  readonly port: number
  readonly connections: number
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>()
  let down = false
  const track = (s: net.Socket) => {
    open.add(s)
    s.once('close', () => open.delete(s))
    s.on('error', () => {})
  }
  const server = net.createServer((client) => {
    track(client)
    if (down) {
      client.destroy()
      return
    }
    const upstream = net.connect(target.port, target.host)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.once('close', () => upstream.destroy())
    upstream.once('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    get connections() {
      return open.size
    },
    cut() {
      down = true
      for (const s of open) s.destroy()
    },
    restore() {
      down = false
    },
    async close() {
      for (const s of open) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
