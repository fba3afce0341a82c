/**
 * A request that arrives while the service is starting is answered at once
 * (503 with Retry-After, or 200 once ready), never held open.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { startService } from '../../src/main.ts'
import { API_KEY } from '../http/helpers.ts'

const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-startup-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('start-up', () => {
  it('answers a request sent during start-up within a second, in 20 restarts out of 20', { timeout: 240_000 }, async () => {
    const seen: { status: number; ms: number; retryAfter: string | null; code?: string }[] = []
    for (let i = 0; i < 20; i++) {
      let probe: Promise<void> | undefined
      const service = await startService({
        env: {},
        cwd: path.resolve(import.meta.dirname, '../..'),
        handleSignals: false,
        shutdownGraceMs: 1000,
        logger: pino({ level: 'silent' }),
        overrides: { port: 0, host: '127.0.0.1', apiKey: API_KEY, dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache') },
        // Called as soon as the socket is bound, before the adapters are built.
        onListening: (url) => {
          probe = (async () => {
            const t = performance.now()
            const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })
            const body = r.status === 503 ? ((await r.json()) as { error: { code: string } }) : undefined
            if (r.status === 200) await r.arrayBuffer()
            seen.push({ status: r.status, ms: performance.now() - t, retryAfter: r.headers.get('retry-after'), code: body?.error.code })
          })()
        },
      })
      await probe
      await service.close()
    }
    console.log(`start-up probes: ${seen.length}; statuses ${JSON.stringify(seen.map((s) => s.status))}; slowest ${Math.max(...seen.map((s) => s.ms)).toFixed(0)} ms`)
    expect(seen).toHaveLength(20)
    for (const s of seen) {
      expect([200, 503]).toContain(s.status)
      expect(s.ms).toBeLessThan(1000)
      if (s.status === 503) expect(s).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: expect.stringMatching(/^\d+$/) })
    }
    // The probe comes before the adapters are ready: most answers are the start-up 503.
    expect(seen.filter((s) => s.status === 503).length).toBeGreaterThan(0)
  })
})
