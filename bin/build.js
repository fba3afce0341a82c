#!/usr/bin/env node
/**
 * Compiles src/ to plain JavaScript under dist/<key>/, so `briefcast` and
 * `npm start` run without a TypeScript loader in the process.
 *
 * Why: tsx registers its module hooks on a thread of their own and keeps an
 * esbuild service process, which cost `briefcast render` ~35-40 MB of peak
 * memory and ~0.25 s of start-up on every run (measured on 2 cores: a
 * re-render with one changed paragraph 2.0 s through tsx, 1.6 s compiled).
 *
 * How: esbuild transforms each file on its own (no bundling, so every module
 * keeps its path and `new URL('./x.mjs', import.meta.url)` still finds its
 * sibling); relative `.ts` specifiers become `.js`; .mjs/.js files are copied.
 * The key is a hash of every source file's path, size and mtime, so an edited
 * tree gets a new build and a stale one is never run. A build is written to a
 * temp directory and renamed into place, so concurrent starts never see half a
 * build. `npm ci` builds once (the `prepare` script); later edits rebuild on
 * the next start (~0.1-0.3 s).
 *
 * Usage: `node bin/build.js` prints the directory it built or found.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, promises as fs, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Bumped when the output of this script changes for the same sources. */
const BUILD_VERSION = '1'
/** Old builds are removed once this old (a running process may still load modules from one). */
const KEEP_OLD_MS = 24 * 3600 * 1000

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Every file under dir, as paths relative to it, sorted. */
function listFiles(dir, rel = '') {
  const out = []
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...listFiles(dir, r))
    else if (entry.isFile()) out.push(r)
  }
  return out.sort()
}

/** The key of the current sources: path, size and mtime of each file (what make would compare). */
export function sourceKey(root = ROOT) {
  const src = path.join(root, 'src')
  const hash = createHash('sha256').update(`briefcast-build-${BUILD_VERSION}\0${process.versions.node.split('.')[0]}\0`)
  for (const rel of listFiles(src)) {
    const st = statSync(path.join(src, rel))
    hash.update(`${rel}\0${st.size}\0${st.mtimeMs}\0`)
  }
  return hash.digest('hex').slice(0, 16)
}

/** Relative specifiers ending in .ts, in any string literal (imports, dynamic imports, new URL(...)). */
const TS_SPECIFIER = /(["'`])(\.{1,2}\/[^"'`\n]*?)\.ts\1/g

let activeBuilds = 0

async function compile(root, outDir) {
  const esbuild = await import('esbuild')
  const src = path.join(root, 'src')
  const files = listFiles(src)
  const tsFiles = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  activeBuilds++
  const build = esbuild.build({
    absWorkingDir: root,
    entryPoints: tsFiles.map((f) => path.join(src, f)),
    outdir: outDir,
    outbase: src,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'silent',
  })
  // esbuild's service process (~45 MB) would otherwise live as long as this process: a service
  // started through bin/briefcast.js kept it for its whole life. Stopped once no build of this
  // process is still using it.
  const result = await build.finally(() => --activeBuilds === 0 && esbuild.stop())
  await Promise.all(
    result.outputFiles.map(async (f) => {
      await fs.mkdir(path.dirname(f.path), { recursive: true })
      await fs.writeFile(f.path, f.path.endsWith('.js') ? f.text.replace(TS_SPECIFIER, '$1$2.js$1') : f.contents)
    }),
  )
  // Plain JavaScript (worker entries, the player) is used as is.
  await Promise.all(
    files
      .filter((f) => /\.(mjs|js|cjs)$/.test(f))
      .map(async (f) => {
        await fs.mkdir(path.dirname(path.join(outDir, f)), { recursive: true })
        await fs.copyFile(path.join(src, f), path.join(outDir, f))
      }),
  )
}

function pruneOld(distDir, keep) {
  const now = Date.now()
  for (const name of readdirSync(distDir)) {
    if (name === keep) continue
    const full = path.join(distDir, name)
    try {
      if (now - statSync(full).mtimeMs > KEEP_OLD_MS) rmSync(full, { recursive: true, force: true })
    } catch {}
  }
}

/**
 * The directory of an up-to-date build of src/ (dist/<key>), building it first
 * when the sources changed. Safe to call from many processes at once.
 */
export async function ensureBuilt(root = ROOT) {
  const distDir = path.join(root, 'dist')
  const key = sourceKey(root)
  const outDir = path.join(distDir, key)
  if (existsSync(path.join(outDir, 'cli.js'))) return outDir
  mkdirSync(distDir, { recursive: true })
  const tmp = path.join(distDir, `.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`)
  try {
    await compile(root, tmp)
    try {
      renameSync(tmp, outDir)
    } catch (err) {
      // Another process finished the same build first: use theirs.
      if (!existsSync(path.join(outDir, 'cli.js'))) throw err
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  pruneOld(distDir, key)
  return outDir
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const dir = await ensureBuilt()
  process.stdout.write(`briefcast: compiled src/ -> ${path.relative(process.cwd(), dir) || dir} (${Math.round(performance.now() - started)} ms)\n`)
}
