/**
 * cli/wasm-tier.ts: which `briefcast render` inputs run WebAssembly on Liftoff alone (short files) and
 * which tier up as usual (long files, URLs, stdin, unreadable paths). Real renders on both sides run in
 * tests/audio/render-cli.test.ts (the page: short; the page four times: long). The same cut sets a
 * render's encoder threads.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chooseWasmTier, isShortInput, isShortScript, LIFTOFF_ONLY_MAX_BYTES } from '../../src/cli/wasm-tier.ts'
import { loadConfig, renderEncodeThreads } from '../../src/config.ts'
import { availableCores } from '../../src/util/cores.ts'

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-wasm-tier-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

describe('isShortInput', () => {
  it('is true for a file up to the limit, false past it and for what has no size before it is read', async () => {
    const short = path.join(dir, 'short.txt')
    const limit = path.join(dir, 'limit.txt')
    const long = path.join(dir, 'long.txt')
    await fs.writeFile(short, 'A short story.')
    await fs.writeFile(limit, 'x'.repeat(LIFTOFF_ONLY_MAX_BYTES))
    await fs.writeFile(long, 'x'.repeat(LIFTOFF_ONLY_MAX_BYTES + 1))
    expect([short, limit, long].map(isShortInput)).toEqual([true, true, false])
    expect(['-', 'https://example.com/story', 'HTTP://example.com/s', path.join(dir, 'missing.txt'), dir, undefined].map(isShortInput)).toEqual([false, false, false, false, false, false])
  })

  it('isShortScript: a converted article of up to the same number of characters of speech', () => {
    const script = (...texts: string[]) => ({ segments: texts.map((text) => ({ text })) })
    expect(isShortScript(script('A short story.', 'Two sentences.'))).toBe(true)
    expect(isShortScript(script('x'.repeat(LIFTOFF_ONLY_MAX_BYTES / 2), 'x'.repeat(LIFTOFF_ONLY_MAX_BYTES / 2)))).toBe(true)
    expect(isShortScript(script('x'.repeat(LIFTOFF_ONLY_MAX_BYTES / 2), 'x'.repeat(LIFTOFF_ONLY_MAX_BYTES / 2 + 1)))).toBe(false)
  })

  it('leaves V8 alone for a long input', async () => {
    const long = path.join(dir, 'long2.txt')
    await fs.writeFile(long, 'x'.repeat(LIFTOFF_ONLY_MAX_BYTES * 2))
    expect(chooseWasmTier(long)).toBe(false)
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
