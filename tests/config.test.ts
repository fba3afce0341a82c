import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
    // /srv/app/voices does not exist here: the package's own voices/ are used
    expect(c.voicesDir).toBe(path.resolve(import.meta.dirname, '..', 'voices'))
    expect(c.publicUrl).toBe('http://localhost:8080')
    expect(c.publicUrlSet).toBe(false)
    expect(Object.isFrozen(c.audio)).toBe(true)
  })

  it('finds the voices directory: setting, then ./voices of the working directory, then the shipped one', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'briefcast-voices-order-'))
    try {
      const shipped = path.resolve(import.meta.dirname, '..', 'voices')
      expect(loadConfig({ env: {}, cwd }).voicesDir).toBe(shipped)
      mkdirSync(path.join(cwd, 'voices'))
      expect(loadConfig({ env: {}, cwd }).voicesDir).toBe(path.join(cwd, 'voices'))
      // A named directory is taken as named, even when it does not exist (the profile loader then says so).
      expect(loadConfig({ env: { BRIEFCAST_VOICES_DIR: 'mine' }, cwd }).voicesDir).toBe(path.join(cwd, 'mine'))
      writeFileSync(path.join(cwd, 'briefcast.config.json'), JSON.stringify({ voicesDir: 'from-file' }))
      expect(loadConfig({ env: {}, cwd }).voicesDir).toBe(path.join(cwd, 'from-file'))
      expect(loadConfig({ env: {}, cwd, overrides: { voicesDir: '/flag' } }).voicesDir).toBe('/flag')
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
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
