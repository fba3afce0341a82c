/**
 * Serving 64 KiB ranges of a ready episode: our service vs Node's plain
 * `http` + `fs.createReadStream` on the same file, in the same run, then our
 * service again while two renders run in the background (renders must not
 * block the event loop). Servers run in child processes so autocannon does
 * not share their event loop.
 *
 * Goals: >= 0.8x the plain server's req/s; p99 < 50 ms while rendering.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import autocannon from 'autocannon'

const RANGE = 64 * 1024
const DURATION = Number(process.env.BENCH_DURATION ?? 6)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16)

// Child mode: the plain baseline server.
if (process.argv[2] === '--plain') {
  const file = process.argv[3]!
  const size = statSync(file).size
  const server = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    let start = 0
    let end = size - 1
    if (m) {
      start = Number(m[1])
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1
      res.statusCode = 206
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`)
    }
    res.setHeader('Content-Type', 'audio/mpeg')
    res.setHeader('Content-Length', end - start + 1)
    createReadStream(file, { start, end }).pipe(res)
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PLAIN ${(server.address() as AddressInfo).port}\n`))
} else {
  await main()
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-bench-http-'))
  const key = 'bench-key-0123456789abcdef'
  const children: ChildProcess[] = []
  const cleanup = async () => {
    // SIGTERM: the service stops its render process (and its ffmpeg children) before the directory goes away.
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return
        const exited = new Promise((r) => c.once('exit', r))
        c.kill('SIGTERM')
        const t = setTimeout(() => c.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(t)
      }),
    )
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
  }
  try {
    const service = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', BRIEFCAST_HOST: '127.0.0.1', BRIEFCAST_API_KEY: key, BRIEFCAST_DATA_DIR: path.join(dir, 'data'), BRIEFCAST_CACHE_DIR: path.join(dir, 'cache'), BRIEFCAST_LOG_LEVEL: 'info', BRIEFCAST_JOB_CONCURRENCY: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(service)
    const base = await waitForListening(service)
    const auth = { authorization: `Bearer ${key}` }
    const post = async (title: string, text: string) => {
      const r = await fetch(`${base}/api/articles`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ title, text }) })
      if (r.status !== 201) throw new Error(`POST failed: ${r.status} ${await r.text()}`)
      return ((await r.json()) as { id: string }).id
    }
    const waitReady = async (id: string) => {
      for (;;) {
        const a = (await (await fetch(`${base}/api/articles/${id}`, { headers: auth })).json()) as { status: string; audioUrl: string; episode: { hash: string } | null }
        if (a.status === 'ready') return a
        if (a.status === 'failed') throw new Error(`render failed: ${JSON.stringify(a)}`)
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    const id = await post('Bench episode', article(25, 'bench'))
    const ready = await waitReady(id)
    const file = path.join(dir, 'cache', 'episodes', `${ready.episode!.hash}.mp3`)
    const size = statSync(file).size
    process.stdout.write(`episode: ${(size / 1024).toFixed(0)} KiB; ${CONNECTIONS} connections, ${DURATION}s per run, 64 KiB ranges\n`)

    const plain = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--plain', file], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(plain)
    const plainPort = await new Promise<number>((resolve) => {
      plain.stdout!.on('data', (d: Buffer) => {
        const m = /PLAIN (\d+)/.exec(d.toString())
        if (m) resolve(Number(m[1]))
      })
    })

    const ranges = Array.from({ length: 16 }, (_, i) => {
      const start = Math.floor(((size - RANGE) * i) / 16)
      return { method: 'GET' as const, headers: { range: `bytes=${start}-${start + RANGE - 1}` } }
    })
    const run = (url: string, overallRate?: number) =>
      autocannon({ url, connections: CONNECTIONS, duration: DURATION, requests: ranges, ...(overallRate ? { overallRate } : {}) })
    const fmt = (r: autocannon.Result) => `${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`

    await run(`http://127.0.0.1:${plainPort}/`) // warm-up both
    await run(ready.audioUrl)
    // Alternate the two servers over several rounds and compare medians: the machine is shared, load comes and goes.
    const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
    const plainRuns: autocannon.Result[] = []
    const ourRuns: autocannon.Result[] = []
    for (let i = 0; i < rounds; i++) {
      plainRuns.push(await run(`http://127.0.0.1:${plainPort}/`))
      ourRuns.push(await run(ready.audioUrl))
    }
    const median = (rs: autocannon.Result[]) => [...rs].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(rs.length / 2)]!
    const plainR = median(plainRuns)
    const ours = median(ourRuns)
    process.stdout.write(`plain http + createReadStream (median of ${rounds}): ${fmt(plainR)}\n`)
    process.stdout.write(`briefcast /audio (median of ${rounds}):             ${fmt(ours)}\n`)
    process.stdout.write(`per round briefcast/plain: ${ourRuns.map((r, i) => (r.requests.average / plainRuns[i]!.requests.average).toFixed(2)).join(', ')}\n`)
    process.stdout.write(`ratio req/s briefcast/plain: ${(ours.requests.average / plainR.requests.average).toFixed(2)}x (goal >= 0.8x)\n`)

    // Latency at a fixed request rate (closed-loop saturation measures queueing, not service time): idle, then during two renders.
    const rate = Number(process.env.BENCH_RATE ?? 200)
    const loop = async () => ((await (await fetch(`${base}/readyz`)).json()) as { eventLoop: { p99Ms: number; maxMs: number } }).eventLoop
    // The client's own event-loop delay: autocannon times requests on this loop, so a starved client inflates p99 too.
    const client = monitorEventLoopDelay({ resolution: 1 })
    client.enable()
    const clientLag = () => {
      const r = { p99Ms: Math.round(client.percentile(99) / 1e5) / 10, maxMs: Math.round(client.max / 1e5) / 10 }
      client.reset()
      return r
    }
    await loop() // resets the service's event-loop delay histogram
    clientLag()
    const idle = await run(ready.audioUrl, rate)
    const idleLag = await loop()
    const idleClient = clientLag()
    process.stdout.write(`briefcast /audio at ${rate} req/s, idle:          ${fmt(idle)}\n`)

    // Two renders in the background.
    const r1 = await post('Background one', article(40, 'one'))
    const r2 = await post('Background two', article(40, 'two'))
    const rendering = async () => {
      const s = await Promise.all([r1, r2].map(async (i) => ((await (await fetch(`${base}/api/articles/${i}`, { headers: auth })).json()) as { status: string }).status))
      return s.filter((x) => x === 'rendering' || x === 'queued').length
    }
    while ((await rendering()) < 2) await new Promise((r) => setTimeout(r, 50))
    await loop()
    clientLag()
    const busy = await run(ready.audioUrl, rate)
    const lag = await loop()
    const busyClient = clientLag()
    const still = await rendering()
    process.stdout.write(`briefcast /audio at ${rate} req/s, 2 renders:     ${fmt(busy)} (renders still running at the end: ${still}/2)\n`)
    process.stdout.write(`service event-loop delay (10 ms resolution): idle run p99 ${idleLag.p99Ms} ms, max ${idleLag.maxMs} ms; during renders p99 ${lag.p99Ms} ms, max ${lag.maxMs} ms\n`)
    process.stdout.write(`client (autocannon) event-loop delay: idle run p99 ${idleClient.p99Ms} ms, max ${idleClient.maxMs} ms; during renders p99 ${busyClient.p99Ms} ms, max ${busyClient.maxMs} ms\n`)
    process.stdout.write(`p99 while rendering: ${busy.latency.p99} ms (goal < 50 ms); idle p99 ${idle.latency.p99} ms; ratio ${(busy.latency.p99 / Math.max(1, idle.latency.p99)).toFixed(2)}x\n`)
  } finally {
    await cleanup()
  }
}

function article(paragraphs: number, seed: string): string {
  const words = ['council', 'budget', 'river', 'school', 'market', 'energy', 'harbour', 'transport', 'museum', 'festival', 'election', 'library']
  return Array.from({ length: paragraphs }, (_, i) => {
    const w = (k: number) => words[(i * 7 + k * 3 + seed.length) % words.length]
    return `In paragraph ${i + 1} of the ${seed} story, the ${w(1)} committee reviewed the ${w(2)} plan. Officials said the ${w(3)} project would cost ${1000 + i * 37} thousand euros and finish in ${2027 + (i % 5)}.`
  }).join('\n\n')
}

/** The service logs its URL in the "briefcast listening" line (JSON, info level); stdout keeps being drained afterwards. */
async function waitForListening(child: ChildProcess): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    let out = ''
    let found = false
    child.stdout!.on('data', (d: Buffer) => {
      if (found) return // keep draining the pipe, without keeping (or scanning) the log
      out += d.toString()
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out)
      if (m) {
        found = true
        out = ''
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => reject(new Error(`service exited ${code}: ${out}`)))
  })
}
