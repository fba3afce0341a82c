/** A real service on port 0 with its own temp data and cache directories. */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { startService, type Service } from '../../src/main.ts'

export const API_KEY = 'test-key-0123456789abcdef'

export interface TestService extends Service {
  dir: string
  api(pathname: string, init?: RequestInit): Promise<Response>
  stop(): Promise<void>
}

export async function startTestService(overrides: Record<string, unknown> = {}): Promise<TestService> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-http-'))
  const service = await startService({
    env: {},
    cwd: path.resolve(import.meta.dirname, '../..'),
    handleSignals: false,
    shutdownGraceMs: 2000,
    // The first admin's generated password: tests that sign in make their own users (tests/admin/).
    print: () => {},
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    overrides: {
      port: 0,
      host: '127.0.0.1',
      apiKey: API_KEY,
      dataDir: path.join(dir, 'data'),
      cacheDir: path.join(dir, 'cache'),
      'jobs.retryBaseMs': 50,
      ...overrides,
    },
  })
  return {
    ...service,
    dir,
    api: (pathname, init = {}) =>
      fetch(service.url + pathname, { ...init, headers: { authorization: `Bearer ${API_KEY}`, ...(init.headers as Record<string, string>) } }),
    async stop() {
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function postJson(svc: TestService, pathname: string, body: unknown, method = 'POST'): Promise<Response> {
  return svc.api(pathname, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

/** Poll GET /api/articles/:id until `until` holds (generous: the machine is shared). */
export async function waitForArticle(svc: TestService, id: string, until: (a: Record<string, unknown>) => boolean, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  let last: Record<string, unknown> = {}
  while (Date.now() < deadline) {
    const r = await svc.api(`/api/articles/${id}`)
    last = (await r.json()) as Record<string, unknown>
    if (until(last)) return last
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`article ${id} did not reach the expected state; last: ${JSON.stringify(last).slice(0, 500)}`)
}

export const ready = (a: Record<string, unknown>) => a.status === 'ready' || a.status === 'failed'

export function paragraphs(n: number, seed = 'The council met on Tuesday'): string {
  return Array.from({ length: n }, (_, i) => `${seed}, part ${i + 1}. Members discussed the budget for the coming year and agreed to meet again next month.`).join('\n\n')
}
