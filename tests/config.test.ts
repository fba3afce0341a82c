import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { AppError } from '../src/errors.ts'

describe('loadConfig', () => {
  it('has embedded defaults', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/app' })
    expect(c.port).toBe(8080)
    expect(c.cacheDir).toBe('/srv/app/audio-cache')
    expect(c.voicesDir).toBe('/srv/app/voices')
    expect(c.publicUrl).toBe('http://localhost:8080')
    expect(Object.isFrozen(c.audio)).toBe(true)
  })

  it('env beats file, overrides beat env', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'))
    const file = path.join(dir, 'c.json')
    writeFileSync(file, JSON.stringify({ port: 1000, audio: { bitrateKbps: 96 }, show: { title: 'From file' } }))
    const c = loadConfig({ env: { PORT: '2000', BRIEFCAST_FETCH_ALLOWLIST: 'a.test, b.test' }, file, cwd: dir, overrides: { 'audio.bitrateKbps': 128 } })
    expect(c.port).toBe(2000)
    expect(c.audio.bitrateKbps).toBe(128)
    expect(c.show.title).toBe('From file')
    expect(c.fetch.allowlist).toEqual(['a.test', 'b.test'])
  })

  it('reports every problem at once, naming the variable', () => {
    let err: unknown
    try {
      loadConfig({ env: { PORT: 'abc', BRIEFCAST_PUBLIC_URL: 'not a url', BRIEFCAST_BRIEFING_SCHEDULE: 'every day' } })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AppError)
    const msg = (err as AppError).message
    expect((err as AppError).code).toBe('CONFIG_INVALID')
    expect(msg).toContain('PORT')
    expect(msg).toContain('BRIEFCAST_PUBLIC_URL')
    expect(msg).toContain('BRIEFCAST_BRIEFING_SCHEDULE')
  })
})
