/**
 * Response compression on the busiest text resource, the article feed
 * (/feeds/articles.xml, 100 items, excerpts from the test corpus so the text
 * compresses like real text): its size identity vs gzip vs br, and the req/s
 * of the service sending it identity vs gzip vs br, in the same run, rounds
 * alternated (the machine is shared). The compressed feed is encoded once per
 * feed version and kept beside the XML, so compressed polls should cost no
 * more than identity ones; the last lines show what compressing per request
 * would cost instead.
 *
 * The service runs in a child process (real service, SQLite; episodes are
 * inserted as rows, no rendering) so autocannon does not share its event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import autocannon from 'autocannon'

const DURATION = Number(process.env.BENCH_DURATION ?? 4)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const ITEMS = 100
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

if (process.argv[2] === '--serve') await serve(process.argv[3]!)
else await main()

/** Child: the real service with ITEMS published articles. */
async function serve(dir: string): Promise<void> {
  const { pino } = await import('pino')
  const { startService } = await import('../src/main.ts')
  const svc = await startService({
    env: {},
    cwd: root,
    logger: pino({ level: 'warn' }),
    overrides: { port: 0, host: '127.0.0.1', apiKey: 'bench-key-0123456789abcdef', dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache') },
  })
  // Words drawn at random from the test corpus: unique text per item, so it compresses like a real feed, not like 4 repeated stories.
  const words = ['story-1.txt', 'story-2.txt', 'story-3.txt', 'lenovo-nvidia-ai-factories.txt'].flatMap((f) => readFileSync(path.join(root, 'tests/fixtures/plain', f), 'utf8').split(/\s+/)).filter(Boolean)
  let seed = 42
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const sentence = (n: number) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]!).join(' ')
  const { store } = svc.deps
  for (let i = 0; i < ITEMS; i++) {
    const id = `bench${String(i).padStart(4, '0')}`
    const excerpt = `${sentence(40)}. ${sentence(45)}.`
    const title = sentence(8)
    await store.articles.insert({
      id,
      externalId: `cms-${i}`,
      url: `https://news.example.com/2026/11/${id}`,
      title,
      author: ['Jane Editor', 'Sam Reporter', 'Alex Writer'][i % 3]!,
      publishedAt: new Date(Date.UTC(2026, 10, 1) + i * 3_600_000).toISOString(),
      language: 'en',
      voice: null,
      profileId: 'en-default',
      source: Buffer.from(excerpt),
      sourceFormat: 'text',
      contentHash: `h${i}`,
      script: { title, language: 'en', sourceHash: `h${i}`, segments: [] },
      excerpt,
    })
    // A content hash per episode, as renders make (incompressible, like the real URLs).
    const hex = createHash('sha256').update(id).digest('hex').slice(0, 32)
    const ep = await store.episodes.insert({
      articleId: id,
      revision: 1,
      hash: hex,
      format: 'mp3',
      mimeType: 'audio/mpeg',
      audioFile: `episodes/${hex}.mp3`,
      vttFile: `episodes/${hex}.vtt`,
      chaptersFile: `episodes/${hex}.chapters.json`,
      timingsFile: `episodes/${hex}.timings.json`,
      bytes: 1_500_000 + i * 7919,
      durationMs: 180_000 + i * 1234,
      chapters: [
        { title, startMs: 0, endMs: 60_000 },
        { title: 'Context', startMs: 60_000, endMs: 180_000 + i * 1234 },
      ],
      loudness: { integratedLufs: -16, truePeakDb: -1.2 },
      stats: {},
    })
    await store.articles.publishEpisode(id, 1, ep.id)
  }
  process.stdout.write(`SERVE ${svc.url}\n`)
  process.once('SIGTERM', () => void svc.close().then(() => process.exit(0)))
}

function get(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
      })
      .on('error', reject)
  })
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-bench-compress-'))
  let child: ChildProcess | undefined
  try {
    child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', dir], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    const base = await new Promise<string>((resolve, reject) => {
      let out = ''
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /SERVE (\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      child!.once('exit', (code) => reject(new Error(`service exited (${code})`)))
    })
    const url = `${base}/feeds/articles.xml`
    const identity = await get(url, {})
    const gz = await get(url, { 'accept-encoding': 'gzip' })
    const br = await get(url, { 'accept-encoding': 'gzip, deflate, br' })
    if (gz.headers['content-encoding'] !== 'gzip' || br.headers['content-encoding'] !== 'br') throw new Error('the feed was not compressed')
    if (!zlib.gunzipSync(gz.body).equals(identity.body) || !zlib.brotliDecompressSync(br.body).equals(identity.body)) throw new Error('compressed feed differs')
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`
    process.stdout.write(
      `feed ${ITEMS} items: identity ${kib(identity.body.length)}, gzip ${kib(gz.body.length)} (${(identity.body.length / gz.body.length).toFixed(1)}x smaller), br ${kib(br.body.length)} (${(identity.body.length / br.body.length).toFixed(1)}x smaller)\n`,
    )

    const variants = [
      { name: 'identity', headers: {} as Record<string, string> },
      { name: 'gzip', headers: { 'accept-encoding': 'gzip' } },
      { name: 'br', headers: { 'accept-encoding': 'gzip, deflate, br' } },
    ]
    const run = (headers: Record<string, string>) => autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers })
    for (const v of variants) await run(v.headers) // warm-up
    const results = new Map<string, autocannon.Result[]>(variants.map((v) => [v.name, []]))
    for (let i = 0; i < ROUNDS; i++) for (const v of variants) results.get(v.name)!.push(await run(v.headers))
    const median = (rs: autocannon.Result[]) => [...rs].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(rs.length / 2)]!
    const base0 = median(results.get('identity')!)
    for (const v of variants) {
      const m = median(results.get(v.name)!)
      const errors = results.get(v.name)!.reduce((s, r) => s + r.errors + r.non2xx, 0)
      process.stdout.write(
        `feed ${v.name.padEnd(8)} (median of ${ROUNDS}, ${CONNECTIONS} conn): ${m.requests.average.toFixed(0)} req/s, p99 ${m.latency.p99} ms, ${(m.throughput.average / 1024 / 1024).toFixed(1)} MiB/s sent, errors ${errors}; req/s vs identity ${(m.requests.average / base0.requests.average).toFixed(2)}x\n`,
      )
    }

    // What the cache saves: compressing this feed per request instead (CPU per request, measured here in the same run).
    const time = (f: () => unknown, n: number) => {
      f()
      const t = performance.now()
      for (let i = 0; i < n; i++) f()
      return (performance.now() - t) / n
    }
    const body = identity.body
    const perGzip = time(() => zlib.gzipSync(body), 50)
    const perBr = time(() => zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }), 50)
    const once9 = time(() => zlib.gzipSync(body, { level: 9 }), 10)
    const brotli = (q: number) => zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    const once9br = time(() => brotli(9), 3)
    const once11 = time(() => brotli(11), 3)
    process.stdout.write(
      `per-request compression would cost ${perGzip.toFixed(2)} ms (gzip 6) / ${perBr.toFixed(2)} ms (br 4) of CPU per poll; the cache pays once per feed version, on the thread pool: ${once9.toFixed(1)} ms (gzip 9), ${once9br.toFixed(1)} ms (br 9, ${kib(brotli(9).length)}), ${once11.toFixed(1)} ms (br 11, ${kib(brotli(11).length)})\n`,
    )
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r))
      child.kill('SIGTERM')
      const t = setTimeout(() => child!.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
  }
}
