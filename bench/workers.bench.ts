/**
 * Throughput of `briefcast worker` processes on Redis: the same 8 articles
 * rendered by 1 worker, then by 2 workers, each worker pinned to one core
 * (taskset -c N; its render child inherits the pin). One API node
 * (`serve --no-render`) takes the articles before the workers start; the clock
 * runs from the first worker ready to the last article ready. Each round has its own data,
 * cache and Redis prefix, and texts of its own, so nothing comes from the
 * clip cache. Prints articles per minute and the ratio (goal: 2 workers >= 1.7x).
 * Needs Redis (BRIEFCAST_TEST_REDIS_URL, default redis://127.0.0.1:6379) and taskset.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fleetEnv, postArticle, startNode, waitReady, type Node } from '../tests/fleet/nodes.ts'
import { dropPrefix, REDIS_URL, redisProblem, testPrefix } from '../tests/fleet/redis-env.ts'

const ARTICLES = 8
const PARAGRAPHS = Number(process.env.BENCH_PARAGRAPHS ?? 10)
/** Rounds of each, alternating 1, 2, 1, 2...; the best of each counts (other work on the machine only ever slows a round). */
const RUNS = Number(process.env.BENCH_RUNS ?? 2)

if (redisProblem) {
  console.log(`workers: skipped (${redisProblem})`)
  process.exit(0)
}
try {
  execFileSync('taskset', ['-c', '0', 'true'])
} catch {
  console.log('workers: skipped (taskset is not available to pin workers to cores)')
  process.exit(0)
}
const cores = os.availableParallelism()

function text(round: string, n: number): string {
  const topics = ['harbour', 'tram line', 'library', 'wind farm', 'school', 'bridge', 'market hall', 'museum']
  return Array.from({ length: PARAGRAPHS }, (_, i) => {
    const t = topics[(i + n) % topics.length]
    return `Report ${round} ${n}, section ${i + 1}: the ${t} plan was debated for ${(i * 13 + n) % 90 + 10} minutes. The mayor said the ${t} would open in ${2027 + (i % 4)}, at a cost of ${n * 100 + i * 7} thousand euros.`
  }).join('\n\n')
}

async function round(workers: number): Promise<{ ms: number; perMinute: number; jobs: number[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-bench-workers-'))
  const prefix = testPrefix(`bench${workers}`)
  const env = fleetEnv({ dir, redisUrl: REDIS_URL, prefix, extra: { BRIEFCAST_LOG_LEVEL: 'warn', BRIEFCAST_RENDER_CPU: 'nice' } })
  const nodes: Node[] = []
  try {
    const api = await startNode('api', 'api', { ...env, BRIEFCAST_LOG_LEVEL: 'info' })
    nodes.push(api)
    // Queue every article first: their ingest (script conversion on the API node) is not the workers' work.
    const ids: string[] = []
    for (let n = 0; n < ARTICLES; n++) ids.push(await postArticle(api.url, { title: `Bench ${workers}/${n}`, text: text(`w${workers}r${Date.now()}`, n) }))
    // The clock starts when the first worker is ready to take jobs.
    let start = 0
    const started = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        startNode('worker', `worker-${i}`, { ...env, BRIEFCAST_LOG_LEVEL: 'info' }, { prefix: ['taskset', '-c', String(i % cores)] }).then((w) => {
          start ||= performance.now()
          return w
        }),
      ),
    )
    nodes.push(...started)
    await Promise.all(ids.map((id) => waitReady(api.url, id, 600_000)))
    const ms = performance.now() - start
    const jobs = nodes.slice(1).map((w) => w.log.filter((e) => e.msg === 'job done').length)
    return { ms, perMinute: (ARTICLES * 60_000) / ms, jobs }
  } finally {
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')))
    await dropPrefix(prefix)
    rmSync(dir, { recursive: true, force: true })
  }
}

const load = () => os.loadavg()[0]!.toFixed(1)
console.log(`${cores} cores; load average at start ${load()} (other work on the machine skews the ratio)`)
const best = (a: Awaited<ReturnType<typeof round>> | undefined, b: Awaited<ReturnType<typeof round>>) => (a && a.ms <= b.ms ? a : b)
let one: Awaited<ReturnType<typeof round>> | undefined
let two: Awaited<ReturnType<typeof round>> | undefined
for (let r = 0; r < RUNS; r++) {
  const o = await round(1)
  console.log(`  run ${r + 1}: 1 worker  ${(o.ms / 1000).toFixed(1)} s (jobs per worker: ${o.jobs.join(', ')}; load ${load()})`)
  const t = await round(2)
  console.log(`  run ${r + 1}: 2 workers ${(t.ms / 1000).toFixed(1)} s (jobs per worker: ${t.jobs.join(', ')}; load ${load()})`)
  one = best(one, o)
  two = best(two, t)
}
console.log(`1 worker  (core 0):     ${ARTICLES} articles of ${PARAGRAPHS} paragraphs in ${(one!.ms / 1000).toFixed(1)} s = ${one!.perMinute.toFixed(1)} articles/min (best of ${RUNS})`)
console.log(`2 workers (cores 0, 1): ${ARTICLES} articles of ${PARAGRAPHS} paragraphs in ${(two!.ms / 1000).toFixed(1)} s = ${two!.perMinute.toFixed(1)} articles/min (best of ${RUNS})`)
console.log(`2 workers vs 1: ${(two!.perMinute / one!.perMinute).toFixed(2)}x throughput (goal >= 1.7x)`)
