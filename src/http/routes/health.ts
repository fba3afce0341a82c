/**
 * /healthz: the process is alive. /readyz: the database answers, ffmpeg found, engines ready, Redis reachable when
 * set (503 otherwise). `dependencies` says per dependency "ok" or "down: <why>"
 * (e.g. { database: "down: connect ECONNREFUSED 10.0.0.5:5432" }).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import express from 'express'
import type { AppDeps } from '../deps.ts'
import { within } from '../../util/time-limit.ts'

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
      // A round trip, bounded: an unreachable database must not hang the probe.
      await within(deps.store.ping(), PING_TIMEOUT_MS, `no answer within ${PING_TIMEOUT_MS} ms`)
      checks.database = { ok: deps.store.isOpen(), detail: `${deps.store.dialect} ${deps.store.location}` }
    } catch (err) {
      checks.database = { ok: false, detail: `${deps.store.dialect} ${deps.store.location}: ${(err as Error).message || String((err as { code?: string }).code)}` }
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
      jobs = checks.database?.ok ? await within(Promise.resolve(deps.jobs.counts()), 1000, 'timed out') : undefined
    } catch {}
    const ok = Object.values(checks).every((c) => c.ok)
    res.setHeader('Cache-Control', 'no-store')
    const eventLoop = { p50Ms: round(loop.percentile(50) / 1e6), p99Ms: round(loop.percentile(99) / 1e6), maxMs: round(loop.max / 1e6) }
    loop.reset()
    const dependencies = Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, c.ok ? 'ok' : `down: ${c.detail ?? 'not ready'}`]))
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not-ready', dependencies, checks, jobs, eventLoop })
  })
  return router
}

const PING_TIMEOUT_MS = 2000

const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 10) / 10 : 0)
