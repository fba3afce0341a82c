/**
 * The example fleet (docs/examples/compose.fleet.yaml) stays true to the code: every
 * briefcast setting it sets is a documented setting, every command it runs is in the
 * CLI's command table, and it wires the three shared services every node needs.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/cli/commands.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const compose = readFileSync(path.join(ROOT, 'docs/examples/compose.fleet.yaml'), 'utf8')
const configuration = readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8')

describe('docs/examples/compose.fleet.yaml', () => {
  it('sets only documented settings', () => {
    const names = [...new Set([...compose.matchAll(/\b(BRIEFCAST_[A-Z0-9_]+)\s*:/g)].map((m) => m[1]!))]
    expect(names.length).toBeGreaterThan(5)
    const unknown = names.filter((n) => !configuration.includes(`\`${n}\``))
    expect(unknown).toEqual([])
  })

  it('runs briefcast commands and options that exist', () => {
    const runs = [...compose.matchAll(/command: \['node', 'bin\/briefcast\.js', ([^\]]+)\]/g)].map((m) => m[1]!.split(',').map((s) => s.trim().replace(/^'|'$/g, '')))
    expect(runs.map((r) => r[0])).toEqual(expect.arrayContaining(['serve', 'worker']))
    for (const [name, ...rest] of runs) {
      const command = COMMANDS.find((c) => c.name === name)
      expect(command, name).toBeDefined()
      for (const option of rest.filter((a) => a!.startsWith('--'))) expect(Object.keys(command!.options ?? {}), `${name} ${option}`).toContain(option!.slice(2))
    }
  })

  it('gives every node the shared database, queue and object store', () => {
    for (const setting of ['BRIEFCAST_DATABASE_URL: postgres://', 'BRIEFCAST_REDIS_URL: redis://', 'BRIEFCAST_STORAGE_URL: s3://', 'BRIEFCAST_API_KEY:', 'BRIEFCAST_PUBLIC_URL:'])
      expect(compose).toContain(setting)
    expect(compose).toMatch(/forcePathStyle=true/)
  })
})
