/**
 * cli/wasm-tier.ts: a render starts WebAssembly on Liftoff alone and tiers up when the speech its clip
 * cache lacks is long enough; short scripts get an encoder thread per core. Real renders on both sides of
 * the tier cut run in tests/audio/render-cli.test.ts (a new page tiers up; the same page from the cache
 * stays on Liftoff).
 */
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isShortScript, SHORT_SCRIPT_MAX_CHARS, TIER_UP_MIN_CHARS } from '../../src/cli/wasm-tier.ts'
import { loadConfig, renderEncodeThreads } from '../../src/config.ts'
import { availableCores } from '../../src/util/cores.ts'

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-wasm-tier-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

describe('isShortScript', () => {
  it('is true for a script of up to SHORT_SCRIPT_MAX_CHARS characters of speech, whatever its input', () => {
    const script = (...texts: string[]) => ({ segments: texts.map((text) => ({ text })) })
    expect(isShortScript(script('A short story.', 'Two sentences.'))).toBe(true)
    expect(isShortScript(script('x'.repeat(SHORT_SCRIPT_MAX_CHARS / 2), 'x'.repeat(SHORT_SCRIPT_MAX_CHARS / 2)))).toBe(true)
    expect(isShortScript(script('x'.repeat(SHORT_SCRIPT_MAX_CHARS / 2), 'x'.repeat(SHORT_SCRIPT_MAX_CHARS / 2 + 1)))).toBe(false)
  })
})

describe('the tier of a render (startOnLiftoff, tierUpFor)', () => {
  // V8's flags are per process: the sequence runs in a node process of its own, on the real module.
  it('starts on Liftoff, stays there for a little new speech and tiers up for enough of it', () => {
    const code = `
      const t = await import(${JSON.stringify(path.resolve('src/cli/wasm-tier.ts'))})
      const seen = [t.wasmTier(), t.tierUpFor(1e6)]
      t.startOnLiftoff()
      seen.push(t.wasmTier(), t.tierUpFor(0), t.tierUpFor(t.TIER_UP_MIN_CHARS - 1), t.tierUpFor(t.TIER_UP_MIN_CHARS), t.tierUpFor(0), t.wasmTier())
      console.log(JSON.stringify(seen))`
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual(['optimizing', 'optimizing', 'liftoff', 'liftoff', 'liftoff', 'optimizing', 'optimizing', 'optimizing'])
  })

  it('the cut lies between a one-paragraph edit and a new page', () => {
    expect(TIER_UP_MIN_CHARS).toBeGreaterThan(1000)
    expect(TIER_UP_MIN_CHARS).toBeLessThan(SHORT_SCRIPT_MAX_CHARS)
  })
})

describe('encoder threads of a render (renderEncodeThreads)', () => {
  const cores = availableCores()
  const config = (overrides: Record<string, unknown> = {}) => loadConfig({ env: {}, overrides: { cacheDir: dir, ...overrides } })

  it('one per core for a short input, half the cores (at least one) otherwise', () => {
    expect(renderEncodeThreads(config(), true)).toBe(cores)
    expect(renderEncodeThreads(config(), false)).toBe(Math.max(1, Math.floor(cores / 2)))
    expect(renderEncodeThreads(config())).toBe(Math.max(1, Math.floor(cores / 2)))
  })

  it('an explicit audio.encodeConcurrency wins either way', () => {
    const explicit = cores === 3 ? 5 : 3
    expect(renderEncodeThreads(config({ 'audio.encodeConcurrency': explicit }), true)).toBe(explicit)
    expect(renderEncodeThreads(config({ 'audio.encodeConcurrency': explicit }), false)).toBe(explicit)
  })
})
