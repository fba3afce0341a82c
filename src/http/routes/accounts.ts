/**
 * Accounts under /api (admins only): users and named API keys; /api/me for
 * anyone signed in. Generated passwords and new keys are in the response once
 * and never again (only their hashes are stored).
 */
import express from 'express'
import { parseRole } from '../../admin/accounts.ts'
import { generatePassword } from '../../admin/secrets.ts'
import { AppError } from '../../errors.ts'
import { principalOf, requireApiAuth } from '../auth.ts'
import type { AppDeps } from '../deps.ts'

export function accountsRouter(deps: AppDeps): express.Router {
  const router = express.Router()
  const repo = deps.store.accounts
  const json = express.json({ limit: '16kb' })
  const body = (req: express.Request) => (req.body ?? {}) as Record<string, unknown>
  const noStore: express.RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  }

  router.get('/api/me', requireApiAuth(deps, 'viewer'), noStore, (req, res) => {
    const p = principalOf(req)
    res.json({ name: p.name, role: p.role, kind: p.kind })
  })

  // Mounted at their own paths: the admin guard must not run for the rest of /api.
  const users = express.Router()
  const keys = express.Router()
  for (const r of [users, keys]) r.use(requireApiAuth(deps, 'admin'), noStore, json)

  users.get('/', async (_req, res) => res.json({ items: await repo.listUsers() }))
  users.post('/', async (req, res) => {
    const b = body(req)
    const given = typeof b.password === 'string' && b.password !== ''
    const password = given ? (b.password as string) : generatePassword()
    const user = await repo.addUser(b.username as string, password, parseRole(b.role ?? 'editor'))
    deps.logger.info({ username: user.username, role: user.role, by: principalOf(req).name }, 'user added')
    res.status(201).json({ ...user, ...(given ? {} : { password }) })
  })
  users.patch('/:name', async (req, res) => {
    const user = await repo.setRole(req.params.name as string, parseRole(body(req).role))
    deps.logger.info({ username: user.username, role: user.role, by: principalOf(req).name }, 'user role changed')
    res.json(user)
  })
  users.post('/:name/password', async (req, res) => {
    const b = body(req)
    const given = typeof b.password === 'string' && b.password !== ''
    const password = given ? (b.password as string) : generatePassword()
    await repo.setPassword(req.params.name as string, password)
    deps.logger.info({ username: req.params.name, by: principalOf(req).name }, 'password reset')
    res.json({ username: req.params.name, ...(given ? {} : { password }) })
  })
  users.delete('/:name', async (req, res) => {
    const me = principalOf(req)
    if (me.kind === 'session' && me.name.toLowerCase() === String(req.params.name).toLowerCase())
      throw new AppError('CONFLICT', 'You cannot remove your own account; ask another admin.')
    await repo.removeUser(req.params.name as string)
    deps.logger.info({ username: req.params.name, by: me.name }, 'user removed')
    res.status(204).end()
  })

  keys.get('/', async (_req, res) => res.json({ items: await repo.listKeys() }))
  keys.post('/', async (req, res) => {
    const b = body(req)
    const { key, record } = await repo.createKey(b.name as string, parseRole(b.role ?? 'editor'), principalOf(req).name)
    deps.logger.info({ key: record.id, name: record.name, role: record.role, by: principalOf(req).name }, 'API key created')
    res.status(201).json({ ...record, key })
  })
  keys.delete('/:id', async (req, res) => {
    const record = await repo.revokeKey(req.params.id as string)
    deps.logger.info({ key: record.id, by: principalOf(req).name }, 'API key revoked')
    res.json(record)
  })

  router.use('/api/users', users)
  router.use('/api/keys', keys)
  return router
}
