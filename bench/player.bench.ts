/**
 * Serving player.js (gzip, from memory) and its daily revalidation (304): the
 * service vs a plain `http` server sending the same gzipped buffer, alternated
 * over a few rounds in the same run. Both servers run in child processes so
 * autocannon does not share their event loop. Also prints the script's sizes.
 *
 * Express routing through the app's routers costs most of the difference; the
 * service's own /healthz (tiny JSON) is printed as context. Goal: >= 0.4x the
 * plain server for the 200 (browsers then keep the script a day; a CDN in
 * front takes the rest).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { playerBundle } from '../src/http/player/bundle.ts'

const DURATION = Number(process.env.BENCH_DURATION ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

if (process.argv[2] === '--plain') {
  const b = playerBundle()
  const server = http.createServer((req, res) => {
    if (req.headers['if-none-match'] === `"${b.hash}"`) {
      res.writeHead(304)
      return res.end()
    }
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Content-Encoding': 'gzip', 'Content-Length': b.gzip.length, ETag: `"${b.hash}"` })
    res.end(b.gzip)
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PLAIN ${(server.address() as AddressInfo).port}\n`))
} else {
  await main()
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-bench-player-'))
  const children: ChildProcess[] = []
  try {
    const b = playerBundle()
    process.stdout.write(`player.js: ${b.code.length} B minified, ${b.gzip.length} B gzip, ${b.brotli.length} B brotli (budget 15360 B gzip)\n`)
    const service = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', BRIEFCAST_HOST: '127.0.0.1', BRIEFCAST_API_KEY: 'bench-key-0123456789abcdef', BRIEFCAST_DATA_DIR: path.join(dir, 'data'), BRIEFCAST_CACHE_DIR: path.join(dir, 'cache'), BRIEFCAST_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(service)
    const plain = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--plain'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(plain)
    const [base, plainPort] = await Promise.all([
      waitFor(service, /"url":"(http:\/\/[^"]+)"/),
      waitFor(plain, /PLAIN (\d+)/),
    ])
    const plainUrl = `http://127.0.0.1:${plainPort}/player.js`
    const ourUrl = `${base.replace('localhost', '127.0.0.1')}/player.js`
    const etag = `"${b.hash}"`
    let ours200: autocannon.Result | undefined

    const run = (url: string, headers: Record<string, string>) => autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers })
    const fmt = (r: autocannon.Result) => `${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`
    const median = (rs: autocannon.Result[]) => [...rs].sort((x, y) => x.requests.average - y.requests.average)[Math.floor(rs.length / 2)]!

    for (const [label, headers] of [
      ['200 gzip', { 'accept-encoding': 'gzip' }],
      ['304 revalidation', { 'accept-encoding': 'gzip', 'if-none-match': etag }],
    ] as const) {
      await run(plainUrl, headers) // warm-up
      await run(ourUrl, headers)
      const plainRuns: autocannon.Result[] = []
      const ourRuns: autocannon.Result[] = []
      for (let i = 0; i < ROUNDS; i++) {
        plainRuns.push(await run(plainUrl, headers))
        ourRuns.push(await run(ourUrl, headers))
      }
      const p = median(plainRuns)
      const o = median(ourRuns)
      process.stdout.write(`${label}: plain http (median of ${ROUNDS}): ${fmt(p)}\n`)
      process.stdout.write(`${label}: briefcast /player.js:        ${fmt(o)}\n`)
      process.stdout.write(`${label}: ratio req/s briefcast/plain: ${(o.requests.average / p.requests.average).toFixed(2)}x${label === '200 gzip' ? ' (goal >= 0.4x)' : ''}\n`)
      if (label === '200 gzip') ours200 = o
    }
    const floorRuns: autocannon.Result[] = []
    for (let i = 0; i < ROUNDS; i++) floorRuns.push(await run(`${base.replace('localhost', '127.0.0.1')}/healthz`, {}))
    const floor = median(floorRuns)
    process.stdout.write(`context: briefcast /healthz: ${fmt(floor)}; player.js 200 / healthz: ${(ours200!.requests.average / floor.requests.average).toFixed(2)}x\n`)
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

async function waitFor(child: ChildProcess, re: RegExp): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = re.exec(out)
      if (m) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)))
  })
}
