/**
 * Throughput of `briefcast worker` processes on Redis: the same 8 articles
 * rendered by 1 worker, then by 2 workers, each worker pinned to one core
 * (taskset -c N; its render child and ffmpeg children inherit the pin). One API
 * node (`serve --no-render`) takes the articles; BullMQ on Redis, SQLite on this
 * machine (fleet.singleMachine). Each round has its own data, cache, Redis
 * prefix and texts, so nothing comes from the clip cache.
 *
 * The clock: the bench pauses the queue, posts the articles (their ingest on
 * the API node is not the workers' work), starts the workers and waits until
 * every one is ready (`briefcast worker ready` is logged once its render child
 * has its engines up), then resumes the queue: the clock runs from the resume
 * to the last 'job done'. So it measures the throughput of N ready workers, the
 * same work for each count. Starting the clock at the first worker ready would
 * charge the second worker's start-up to the ratio; starting it at the last
 * ready while the first already renders would give the first a free head start.
 * Start-up (spawn to ready) is printed on its own line per worker.
 *
 * Finishing is read from the workers' logs, not by polling the API: polling
 * every article would be CPU on the API node that competes with the workers
 * (with 2 workers there is no free core for it). Every article is checked
 * ready through the API once at the end.
 *
 * Every node runs in a session of its own (setsid), as separate services do. Linux's autogroup
 * scheduling shares a busy machine fairly between sessions: nodes left in the bench's one session
 * would together get one share, so under other load 2 workers got about what 1 worker got
 * (each ran at a fraction of its core) and the wall-clock ratio sat near 1x whatever the product did.
 *
 * Because wall-clock ratios on a shared 2-core machine are still noisy, each round
 * also prints what is robust to load: CPU seconds of every process tree during
 * the round (from /proc/<pid>/stat, with reaped children: API node, each worker
 * with its render child and ffmpeg, Redis from INFO cpu, this bench), per-job
 * render times, jobs per worker and each worker's idle tail. The ratio of CPU
 * throughput (articles per worker CPU second) shows whether a second worker
 * costs extra work per article.
 *
 * Prints articles per minute and the ratio (goal: 2 workers >= 1.7x).
 * Needs Redis (BRIEFCAST_TEST_REDIS_URL, default redis://127.0.0.1:6379), taskset and Linux /proc.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { article, fleetEnv, postArticle, startNode, type Node } from '../tests/fleet/nodes.ts'
import { dropPrefix, REDIS_URL, redisProblem, testPrefix } from '../tests/fleet/redis-env.ts'

const ARTICLES = 8
const PARAGRAPHS = Number(process.env.BENCH_PARAGRAPHS ?? 10)
/** Rounds of each, alternating 1, 2, 1, 2...; the best of each counts (other work on the machine only ever slows a round). */
const RUNS = Number(process.env.BENCH_RUNS ?? 2)
/** The job queue's name inside the Redis prefix (src/fleet/bull-queue.ts). */
const QUEUE = 'jobs'

if (redisProblem) {
  console.log(`workers: skipped (${redisProblem})`)
  process.exit(0)
}
try {
  execFileSync('taskset', ['-c', '0', 'true'])
  readFileSync('/proc/self/stat')
} catch {
  console.log('workers: skipped (needs taskset to pin workers to cores, and Linux /proc)')
  process.exit(0)
}
const cores = os.availableParallelism()
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

function text(round: string, n: number): string {
  const topics = ['harbour', 'tram line', 'library', 'wind farm', 'school', 'bridge', 'market hall', 'museum']
  return Array.from({ length: PARAGRAPHS }, (_, i) => {
    const t = topics[(i + n) % topics.length]
    return `Report ${round} ${n}, section ${i + 1}: the ${t} plan was debated for ${(i * 13 + n) % 90 + 10} minutes. The mayor said the ${t} would open in ${2027 + (i % 4)}, at a cost of ${n * 100 + i * 7} thousand euros.`
  }).join('\n\n')
}

/** CPU seconds of a process and every descendant (live ones, and reaped ones through cutime/cstime). */
function treeCpu(root: number): number {
  const children = new Map<number, number[]>()
  const cpu = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // Fields after the command name (which may hold spaces): state ppid ... utime(14) stime cutime cstime.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const pid = Number(name)
    const ppid = Number(f[1])
    cpu.set(pid, (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK)
    children.set(ppid, [...(children.get(ppid) ?? []), pid])
  }
  let total = 0
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop()!
    total += cpu.get(pid) ?? 0
    stack.push(...(children.get(pid) ?? []))
  }
  return total
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu')
  const v = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return v('used_cpu_user') + v('used_cpu_sys')
}

interface Round {
  ms: number
  perMinute: number
  jobs: number[]
  /** Spawn to ready, per worker. */
  startupMs: number[]
  /** CPU seconds during the round. */
  cpu: { api: number; workers: number[]; redis: number; bench: number }
  /** Render time of each job (worker log 'job done' ms), per worker. */
  jobMs: number[][]
  /** Per worker: from its last job done to the end of the round. */
  idleTailMs: number[]
  load: string
}

/** Nodes of the running round. In sessions of their own they miss the terminal's Ctrl-C: it is passed on to them here. */
const live = new Set<Node>()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const n of live) n.proc.kill('SIGKILL')
    process.exit(130)
  })
}

async function round(workers: number): Promise<Round> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-bench-workers-'))
  const prefix = testPrefix(`bench${workers}`)
  const env = fleetEnv({ dir, redisUrl: REDIS_URL, prefix, extra: { BRIEFCAST_LOG_LEVEL: 'info', BRIEFCAST_RENDER_CPU: 'nice' } })
  const nodes: Node[] = []
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  try {
    await queue.pause()
    const api = await startNode('api', 'api', env, { ownSession: true })
    nodes.push(api)
    live.add(api)
    const ids: string[] = []
    for (let n = 0; n < ARTICLES; n++) ids.push(await postArticle(api.url, { title: `Bench ${workers}/${n}`, text: text(`w${workers}r${Date.now()}`, n) }))
    const started = await Promise.all(
      Array.from({ length: workers }, async (_, i) => {
        const t = performance.now()
        const w = await startNode('worker', `worker-${i}`, env, { prefix: ['taskset', '-c', String(i % cores)], ownSession: true })
        live.add(w)
        return { w, ms: performance.now() - t }
      }),
    )
    const ws = started.map((s) => s.w)
    nodes.push(...ws)
    const before = { api: treeCpu(api.proc.pid!), workers: ws.map((w) => treeCpu(w.proc.pid!)), redis: await redisCpu(redis), bench: process.cpuUsage() }
    // The queue was paused: a job taken before the resume would be work outside the clock.
    if (ws.some((w) => w.log.some((e) => e.msg === 'job started'))) throw new Error('a worker took a job while the queue was paused')
    await queue.resume()
    const start = performance.now()
    const startEpoch = Date.now()
    // Woken by each log line (a timer polling the logs would itself cost this process ~1-2% of a core).
    await new Promise<void>((resolve, reject) => {
      let done = 0
      const timer = setTimeout(() => finish(new Error(`only ${done} of ${ARTICLES} articles rendered in 10 minutes`)), 600_000)
      const onLog = (e: Record<string, unknown>) => {
        if (e.msg === 'job done' && ++done === ARTICLES) finish()
        else if (e.msg === 'job failed' || e.msg === 'job failed; will retry') finish(new Error(`a render failed: ${JSON.stringify(e)}`))
      }
      const finish = (err?: Error) => {
        clearTimeout(timer)
        for (const w of ws) w.events.off('log', onLog)
        if (err) reject(err)
        else resolve()
      }
      for (const w of ws) w.events.on('log', onLog)
    })
    const ms = performance.now() - start
    const endEpoch = startEpoch + ms
    const benchCpu = process.cpuUsage(before.bench)
    const cpu = {
      api: treeCpu(api.proc.pid!) - before.api,
      workers: ws.map((w, i) => treeCpu(w.proc.pid!) - before.workers[i]!),
      redis: (await redisCpu(redis)) - before.redis,
      bench: (benchCpu.user + benchCpu.system) / 1e6,
    }
    const load = os.loadavg()[0]!.toFixed(1)
    for (const id of ids) {
      const a = await article(api.url, id)
      if (a.status !== 'ready') throw new Error(`article ${id} is ${String(a.status)} after its job was done`)
    }
    const doneLines = ws.map((w) => w.log.filter((e) => e.msg === 'job done'))
    return {
      ms,
      perMinute: (ARTICLES * 60_000) / ms,
      jobs: doneLines.map((l) => l.length),
      startupMs: started.map((s) => s.ms),
      cpu,
      jobMs: doneLines.map((l) => l.map((e) => e.ms as number)),
      idleTailMs: doneLines.map((l) => (l.length ? Math.max(0, endEpoch - Math.max(...l.map((e) => e.time as number))) : ms)),
      load,
    }
  } finally {
    await queue.close().catch(() => {})
    redis.disconnect()
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')))
    live.clear()
    await dropPrefix(prefix)
    rmSync(dir, { recursive: true, force: true })
  }
}

const s = (ms: number) => (ms / 1000).toFixed(1)
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
function describe(label: string, r: Round): void {
  const workCpu = sum(r.cpu.workers)
  console.log(
    `  ${label} ${s(r.ms)} s, load ${r.load}; jobs per worker ${r.jobs.join(', ')}; start-up ${r.startupMs.map(s).join(', ')} s; ` +
      `idle tail ${r.idleTailMs.map(s).join(', ')} s`,
  )
  console.log(`      job render s: ${r.jobMs.map((j, i) => `w${i} [${j.map(s).join(' ')}]`).join(' ')}`)
  console.log(
    `      CPU s in the round: workers ${r.cpu.workers.map((c) => c.toFixed(1)).join(' + ')} = ${workCpu.toFixed(1)} (${(workCpu / ARTICLES).toFixed(2)} per article, ` +
      `${((workCpu * 1000) / r.ms / r.jobs.length * 100).toFixed(0)}% of each worker's core); api ${r.cpu.api.toFixed(2)}; redis ${r.cpu.redis.toFixed(2)}; bench ${r.cpu.bench.toFixed(2)}`,
  )
}

console.log(`${cores} cores; load average at start ${os.loadavg()[0]!.toFixed(1)} (other work on the machine skews the wall-clock ratio; the CPU lines do not depend on it)`)
const best = (a: Round | undefined, b: Round) => (a && a.ms <= b.ms ? a : b)
let one: Round | undefined
let two: Round | undefined
const pairs: [Round, Round][] = []
for (let r = 0; r < RUNS; r++) {
  const o = await round(1)
  describe(`run ${r + 1}: 1 worker `, o)
  const t = await round(2)
  describe(`run ${r + 1}: 2 workers`, t)
  pairs.push([o, t])
  one = best(one, o)
  two = best(two, t)
}
const cpuPerArticle = (r: Round) => sum(r.cpu.workers) / ARTICLES
/**
 * The wall time a round would take on otherwise idle cores, from its CPU seconds: each worker needs its own
 * CPU on its core, and everything (workers, API node, Redis, this bench) must fit in the cores the round has
 * (1 worker: its core plus the other for the rest; 2 workers: both). Robust to other load, unlike the clock.
 */
const idleWall = (r: Round) => Math.max(...r.cpu.workers, (sum(r.cpu.workers) + r.cpu.api + r.cpu.redis + r.cpu.bench) / Math.min(cores, 2))
const estimates = pairs.map(([o, t]) => idleWall(o) / idleWall(t))
console.log(`1 worker  (core 0):     ${ARTICLES} articles of ${PARAGRAPHS} paragraphs in ${s(one!.ms)} s = ${one!.perMinute.toFixed(1)} articles/min (best of ${RUNS}, load ${one!.load})`)
console.log(`2 workers (cores 0, 1): ${ARTICLES} articles of ${PARAGRAPHS} paragraphs in ${s(two!.ms)} s = ${two!.perMinute.toFixed(1)} articles/min (best of ${RUNS}, load ${two!.load})`)
console.log(`worker CPU per article: 1 worker ${cpuPerArticle(one!).toFixed(2)} s, 2 workers ${cpuPerArticle(two!).toFixed(2)} s (equal when a second worker adds no work per article)`)
console.log(`CPU-bound estimate for idle cores (from each round's CPU seconds): ${estimates.map((e) => `${e.toFixed(2)}x`).join(', ')}`)
console.log(`2 workers vs 1: ${(two!.perMinute / one!.perMinute).toFixed(2)}x throughput (goal >= 1.7x)`)
