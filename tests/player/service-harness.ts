/** The real service on port 0 with temp dirs (real SQLite, espeak-ng, ffmpeg), plus article helpers. */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startService, type Service } from '../../src/main.ts'

export const API_KEY = 'player-tests-api-key-0123456789'

export interface RealService {
  svc: Service
  url: string
  /** Ingest an HTML article through the admin API; returns its id. */
  ingest(title: string, paragraphs: string[], extra?: { externalId?: string }): Promise<string>
  info(id: string): Promise<Record<string, unknown> & { status: string; durationMs: number | null; timingsUrl: string | null; audioUrl: string | null }>
  waitReady(id: string, timeoutMs?: number): Promise<void>
  api(pathname: string, init?: RequestInit): Promise<Response>
  close(): Promise<void>
}

export async function startRealService(): Promise<RealService> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-player-svc-'))
  const svc = await startService({
    env: {},
    overrides: { port: 0, host: '127.0.0.1', dataDir: dir, cacheDir: path.join(dir, 'cache'), logLevel: 'warn', apiKey: API_KEY },
    handleSignals: false,
    shutdownGraceMs: 500,
  })
  const url = svc.url
  const api = (pathname: string, init: RequestInit = {}) =>
    fetch(url + pathname, { ...init, headers: { authorization: `Bearer ${API_KEY}`, ...(init.headers as Record<string, string>) } })
  const info = async (id: string) => {
    const r = await fetch(`${url}/listen/${id}/info.json`)
    if (!r.ok) throw new Error(`info.json ${r.status}`)
    return (await r.json()) as Awaited<ReturnType<RealService['info']>>
  }
  return {
    svc,
    url,
    api,
    info,
    async ingest(title, paragraphs, extra = {}) {
      const html = `<article><h1>${title}</h1>${paragraphs.map((p) => `<p>${p}</p>`).join('')}</article>`
      const r = await api('/api/articles', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title, html, language: 'en', ...extra }) })
      if (r.status !== 201) throw new Error(`ingest failed: ${r.status} ${await r.text()}`)
      return ((await r.json()) as { id: string }).id
    },
    async waitReady(id, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const i = await info(id)
        if (i.status === 'ready') return
        if (i.status === 'failed') throw new Error(`render failed: ${JSON.stringify(i.error)}`)
        if (Date.now() > deadline) throw new Error(`render of ${id} not ready after ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 300))
      }
    },
    async close() {
      await svc.close()
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}
