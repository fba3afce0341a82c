/**
 * Run-time settings (admin): GET /api/settings lists them with the configured
 * default and what applies now; PUT /api/settings {set: {key: value}, reset: [key]}
 * validates, stores and applies them at once (src/admin/settings.ts). A changed
 * briefing setting re-arms the schedule.
 */
import express from 'express'
import { z } from 'zod'
import { changeSettings, isScheduleSetting, listSettings } from '../../admin/settings.ts'
import { AppError } from '../../errors.ts'
import { principalOf, requireApiAuth } from '../auth.ts'
import type { AppDeps } from '../deps.ts'
import { feedRuntime } from './feed.ts'

const putSchema = z
  .object({
    set: z.record(z.string(), z.unknown()).optional(),
    reset: z.array(z.string()).max(100).optional(),
  })
  .strict()

export function settingsRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const api = express.Router()
  api.use(requireApiAuth(deps, 'admin'), (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })
  const body = async () => ({ items: await listSettings(deps) })
  api.get('/', async (_req, res) => {
    res.json(await body())
  })
  api.put('/', express.json({ limit: '64kb' }), async (req, res) => {
    const parsed = putSchema.safeParse(req.body ?? {})
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }))
      throw new AppError('VALIDATION_FAILED', `Send {"set": {"show.title": "…"}, "reset": ["show.author"]}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { details: { problems } })
    }
    const who = principalOf(req)
    const changed = await changeSettings(deps, parsed.data, `${who.kind}:${who.name}`)
    if (changed.some(isScheduleSetting)) feedRuntime(deps).rearm()
    deps.logger.info({ by: who.name, changed }, 'run-time settings changed')
    res.json({ ...(await body()), changed })
  })
  router.use('/api/settings', api)
  return router
}
