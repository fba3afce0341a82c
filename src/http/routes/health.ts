/** /healthz: the process is alive. /readyz: DB open, ffmpeg found, engines ready (503 otherwise). */
import express from 'express'
import type { AppDeps } from '../deps.ts'

export function healthRouter(deps: AppDeps): express.Router {
  const router = express.Router()
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
    const ok = Object.values(checks).every((c) => c.ok)
    res.setHeader('Cache-Control', 'no-store')
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not-ready', checks, jobs: deps.store.isOpen() ? deps.store.jobs.counts() : undefined })
  })
  return router
}
