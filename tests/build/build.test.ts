/**
 * bin/build.js: the compiled tree that `briefcast` and `npm start` run. Built
 * for real from a copy of src/ (esbuild), then run.
 */
import { execFile } from 'node:child_process'
import { existsSync, promises as fs, readdirSync, utimesSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest'
// @ts-expect-error plain JavaScript without type declarations
import { ensureBuilt, sourceKey } from '../../bin/build.js'

const run = promisify(execFile)
const ROOT = path.resolve('.')

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
}

describe('bin/briefcast.js', () => {
  it('runs as a program (its first lines are a /bin/sh line that starts node) and through node alike', async () => {
    const bin = path.join(ROOT, 'bin', 'briefcast.js')
    const direct = await run(bin, ['--help'])
    expect(direct.stdout).toContain('usage: briefcast <command>')
    // render starts node with a 1 MB young generation, which only works as a node flag at start-up.
    const render = await run(bin, ['render', '--help'])
    expect(render.stdout).toContain('usage: briefcast render')
    const viaNode = await run(process.execPath, [bin, 'render', '--help'])
    expect(viaNode.stdout).toBe(render.stdout)
  })
})

describe('bin/build.js', () => {
  let root: string
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-build-'))
    await fs.cp(path.join(ROOT, 'src'), path.join(root, 'src'), { recursive: true })
    // The real package.json: its dependencies are what the bundle leaves in node_modules.
    await fs.copyFile(path.join(ROOT, 'package.json'), path.join(root, 'package.json'))
    // Packages resolve from the copy's node_modules, as in the project.
    await fs.symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'))
  })
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true })
  })

  test('bundles the entry points, puts the plain-JS workers beside them, and the result runs', async () => {
    const dir: string = await ensureBuilt(root)
    expect(path.dirname(dir)).toBe(path.join(root, 'dist'))
    // cli and main, and the modules the code starts by path (new URL('./x.ts', import.meta.url)).
    for (const f of ['cli.js', 'main.js', 'render-process.js', 'script-worker.js']) expect(existsSync(path.join(dir, f)), f).toBe(true)
    for (const f of ['espeak-worker.mjs', 'loudness-worker.mjs', 'loudness-dsp.mjs', 'worker-boot.mjs', 'ffmpeg-launcher-child.mjs', 'ffmpeg-run.mjs', 'player.js']) expect(existsSync(path.join(dir, f)), f).toBe(true)
    // The espeak-ng engine in WebAssembly, with its loader, beside the worker that loads it.
    for (const f of ['espeak-wasm.mjs', 'espeak-ng-wasm.cjs', 'espeak-ng-wasm.wasm']) expect(existsSync(path.join(dir, f)), f).toBe(true)
    // Its voice data written out as files beside the builds (read through the file system, not loaded per worker).
    const data = readdirSync(path.join(root, 'dist')).filter((n) => n.startsWith('espeak-ng-data-'))
    expect(data).toHaveLength(1)
    for (const f of ['phontab', 'phondata', 'en_dict', 'lang/gmw/en-US']) expect(existsSync(path.join(root, 'dist', data[0]!, f)), f).toBe(true)
    const js = walk(dir).filter((f) => f.endsWith('.js') && !f.endsWith('player.js'))
    expect(js.length).toBeLessThan(walk(path.join(root, 'src')).length) // bundled, not one file per module
    for (const f of js) {
      const text = await fs.readFile(f, 'utf8')
      expect(text, f).not.toMatch(/["'`]\.{1,2}\/[^"'`\n]*\.ts["'`]/)
      // Every file found by path from a chunk is there, beside it.
      for (const m of text.matchAll(/new URL\("\.\/([^"]+)", import\.meta\.url\)/g)) expect(existsSync(path.join(dir, m[1]!)), `${f} -> ${m[1]}`).toBe(true)
    }
    // zod is compiled in (one chunk instead of ~100 modules to resolve at each start); the other
    // packages, such as the native better-sqlite3, are still imported from node_modules.
    const imports = (await Promise.all(js.map((f) => fs.readFile(f, 'utf8')))).join('\n')
    expect(imports).not.toMatch(/from\s*["']zod["']|import\(["']zod["']\)/)
    expect(imports).toMatch(/["']better-sqlite3["']/)
    // With English as its one locale: zod's other languages (~370 KB) are not compiled in.
    expect(imports).toContain('node_modules/zod/v4/locales/en.js')
    expect(imports).not.toMatch(/node_modules\/zod\/v4\/locales\/(de|fr|ru|he)\.js/)
    // The compiled CLI runs without any TypeScript loader.
    const { stdout } = await run(process.execPath, [path.join(dir, 'cli.js'), 'script', '--help'])
    expect(stdout).toContain('usage: briefcast script')
  })

  test('refuses a module found by a path outside its own directory (the build flattens them)', async () => {
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-build-bad-'))
    try {
      await fs.cp(path.join(root, 'src'), path.join(other, 'src'), { recursive: true })
      await fs.writeFile(path.join(other, 'package.json'), '{"type":"module"}')
      await fs.symlink(path.join(ROOT, 'node_modules'), path.join(other, 'node_modules'))
      await fs.writeFile(path.join(other, 'src', 'util', 'bad.ts'), "export const u = new URL('../tts/espeak-worker.mjs', import.meta.url)\n")
      await expect(ensureBuilt(other)).rejects.toThrow(/same directory/)
      expect(existsSync(path.join(other, 'dist')) ? readdirSync(path.join(other, 'dist')).filter((n) => !n.startsWith('.')) : []).toEqual([])
    } finally {
      await fs.rm(other, { recursive: true, force: true })
    }
  })

  test('a changed source gets a new build; concurrent builds agree and leave no temp directories', async () => {
    const first: string = await ensureBuilt(root)
    expect(await ensureBuilt(root)).toBe(first)
    const file = path.join(root, 'src', 'errors.ts')
    const later = new Date(Date.now() + 5000)
    utimesSync(file, later, later)
    expect(sourceKey(root)).not.toBe(path.basename(first))
    const dirs: string[] = await Promise.all([1, 2, 3, 4].map(() => ensureBuilt(root)))
    expect(new Set(dirs).size).toBe(1)
    expect(dirs[0]).not.toBe(first)
    expect(readdirSync(path.join(root, 'dist')).filter((n) => n.startsWith('.tmp-'))).toEqual([])
  })
})
