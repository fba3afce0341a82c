/** /healthz: the process is alive. /readyz: DB open, ffmpeg found, engines ready, Redis reachable when set (503 otherwise). */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import express from 'express'
import type { AppDeps } from '../deps.ts'

export function healthRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  // Event-loop delay since the previous /readyz: renders must never stall serving (bench/http.bench.ts reads it).
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json({ status: 'ok' })
  })
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {}
    try {
      deps.store.db.prepare('SELECT 1').get()
      checks.database = { ok: deps.store.isOpen() }
    } catch (err) {
      checks.database = { ok: false, detail: (err as Error).message }
    }
    if (deps.readiness) {
      try {
        Object.assign(checks, await deps.readiness())
      } catch (err) {
        checks.readiness = { ok: false, detail: (err as Error).message }
      }
    }
    let jobs: Record<string, number> | undefined
    try {
      // Answers within a second even with Redis down (the redis check above says so).
      jobs = deps.store.isOpen() ? await withTimeout(Promise.resolve(deps.jobs.counts()), 1000) : undefined
    } catch {}
    const ok = Object.values(checks).every((c) => c.ok)
    res.setHeader('Cache-Control', 'no-store')
    const eventLoop = { p50Ms: round(loop.percentile(50) / 1e6), p99Ms: round(loop.percentile(99) / 1e6), maxMs: round(loop.max / 1e6) }
    loop.reset()
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not-ready', checks, jobs, eventLoop })
  })
  return router
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)))]).finally(() => clearTimeout(timer))
}

const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 10) / 10 : 0)
