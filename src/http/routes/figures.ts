/** Listening figures under /api (viewer and up): JSON, and CSV for a spreadsheet. */
import express from 'express'
import { figuresCsv } from '../../admin/figures.ts'
import { AppError } from '../../errors.ts'
import { requireApiAuth } from '../auth.ts'
import type { AppDeps } from '../deps.ts'

export function daysParam(value: unknown, def = 30): number {
  if (value === undefined || value === '') return def
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 366) throw new AppError('VALIDATION_FAILED', 'days must be an integer from 1 to 366.', { details: { field: 'days' } })
  return n
}

export function figuresRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const auth = requireApiAuth(deps, 'viewer')
  router.get('/api/figures', auth, async (req, res) => {
    const articleId = typeof req.query.article === 'string' && req.query.article !== '' ? req.query.article : undefined
    if (articleId && !(await deps.store.articles.get(articleId))) throw new AppError('ARTICLE_NOT_FOUND', `No article with id "${articleId}".`)
    res.setHeader('Cache-Control', 'no-store')
    res.json(await deps.store.figures.get({ days: daysParam(req.query.days), articleId }))
  })
  router.get('/api/figures.csv', auth, async (req, res) => {
    const days = daysParam(req.query.days)
    const rows = await deps.store.figures.daily({ days })
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('Content-Disposition', `attachment; filename="listening-figures-${days}d.csv"`)
    res.type('text/csv; charset=utf-8').send(figuresCsv(rows))
  })
  return router
}
