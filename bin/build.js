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
 * How: esbuild bundles src/ (and zod, see BUNDLED; other packages stay in
 * node_modules) from its entry points: cli.ts,
 * main.ts, and every module that is started by path (`new URL('./x.ts',
 * import.meta.url)`: the render process, the conversion worker). Dynamic
 * imports become chunks, loaded on demand as before. One file per module had
 * cost ~0.2 s of CPU per start in node's ESM loader (resolving, reading and
 * compiling ~100 files): a CLI re-render ran 1.34 s per file, 1.15 s bundled.
 * Everything lands flat in dist/<key>/, beside the plain-JS workers and the
 * player, which are copied as they are, so `new URL('./espeak-worker.mjs',
 * import.meta.url)` finds its file from any chunk. The key is a hash of every
 * source file's path, size and mtime, so an edited tree gets a new build and a
 * stale one is never run. A build is written to a temp directory and renamed
 * into place, so concurrent starts never see half a build. `npm ci` builds
 * once (the `prepare` script); later edits rebuild on the next start
 * (~0.1-0.3 s).
 *
 * Usage: `node bin/build.js` prints the directory it built or found.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, promises as fs, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** Bumped when the output of this script changes for the same sources. */
const BUILD_VERSION = '4'
/** Old builds are removed once this old (a running process may still load modules from one). */
const KEEP_OLD_MS = 24 * 3600 * 1000

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Packages compiled into the bundle instead of loaded from node_modules: zod is ~100 ES modules (its
 * locales, JSON Schema support) that every command loads through config parsing; bundled, esbuild keeps
 * what the code uses, and node resolves and compiles one chunk instead of each file (~40 ms per start).
 * Their versions are part of the build key.
 */
const BUNDLED = ['zod']

/**
 * zod's `locales` namespace with English alone. zod re-exports every locale (`z.locales`, ~370 KB of
 * its 760 KB in the bundle) and a namespace object keeps them all; nothing here uses another language
 * (English is zod's default, and our messages are English), and compiling them cost every command's
 * start-up ~10 ms.
 */
const ZOD_ENGLISH_ONLY = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer) ? { path: path.join(path.dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' } : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)}`,
      resolveDir: path.dirname(args.path),
    }))
  },
}

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
  for (const name of BUNDLED) hash.update(`${name}@${JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version}\0`)
  return hash.digest('hex').slice(0, 16)
}

/** Relative specifiers ending in .ts, in any string literal (imports, dynamic imports, new URL(...)). */
const TS_SPECIFIER = /(["'`])(\.{1,2}\/[^"'`\n]*?)\.ts\1/g

let activeBuilds = 0

/** `new URL('<relative>', import.meta.url)` in a source file: a file the code finds beside itself. */
const SIBLING_URL = /new URL\(\s*(["'`])([^"'`\n]+)\1\s*,\s*import\.meta\.url\s*\)/g

/**
 * The bundle's entry points (cli.ts, main.ts and every .ts module started by path) and the plain-JS
 * files to copy. Both land flat in the output directory, so every such reference must name a file in
 * its own directory, and their names must not collide.
 */
function plan(src, files) {
  const entries = new Set(['cli.ts', 'main.ts'])
  const assets = files.filter((f) => /\.(mjs|js|cjs|wasm)$/.test(f))
  for (const f of files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.mjs'))) {
    const text = readFileSync(path.join(src, f), 'utf8')
    for (const m of text.matchAll(SIBLING_URL)) {
      const ref = m[2]
      if (!ref.startsWith('./') || ref.slice(2).includes('/'))
        throw new Error(`${f}: new URL('${ref}', import.meta.url) must name a file in the same directory (the build puts them side by side)`)
      const target = path.posix.join(path.posix.dirname(f), ref.slice(2))
      if (target.endsWith('.ts')) entries.add(target)
      else if (!assets.includes(target)) throw new Error(`${f}: ${ref} is not in src/`)
    }
  }
  const names = [...entries, ...assets].map((f) => path.posix.basename(f).replace(/\.ts$/, '.js'))
  const twice = names.filter((n, i) => names.indexOf(n) !== i)
  if (twice.length) throw new Error(`two files would be dist/<key>/${twice[0]}: rename one`)
  return { entries: [...entries], assets }
}

async function compile(root, outDir) {
  const esbuild = await import('esbuild')
  const src = path.join(root, 'src')
  const files = listFiles(src)
  const { entries, assets } = plan(src, files)
  activeBuilds++
  const build = esbuild.build({
    absWorkingDir: root,
    entryPoints: entries.map((f) => path.join(src, f)),
    outdir: outDir,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    // Every other package stays in node_modules (native addons, data files, packages found by path).
    external: Object.keys(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies ?? {})
      .filter((name) => !BUNDLED.includes(name))
      .flatMap((name) => [name, `${name}/*`]),
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'silent',
    plugins: [ZOD_ENGLISH_ONLY],
  })
  // esbuild's service process (~45 MB) would otherwise live as long as this process: a service
  // started through bin/briefcast.js kept it for its whole life. Stopped once no build of this
  // process is still using it.
  const result = await build.finally(() => --activeBuilds === 0 && esbuild.stop())
  await fs.mkdir(outDir, { recursive: true })
  await Promise.all(
    result.outputFiles.map((f) => fs.writeFile(f.path, f.path.endsWith('.js') ? f.text.replace(TS_SPECIFIER, '$1$2.js$1') : f.contents)),
  )
  // Plain JavaScript (worker entries, the player) and WebAssembly are used as they are, beside the chunks.
  await Promise.all(assets.map((f) => fs.copyFile(path.join(src, f), path.join(outDir, path.basename(f)))))
}

function pruneOld(distDir, keep) {
  const now = Date.now()
  for (const name of readdirSync(distDir)) {
    if (keep.includes(name)) continue
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
  // espeak-ng's voice data as files, shared by every build of this data package version (the engine
  // reads them through Node's file system instead of loading a 24 MB blob per worker; see espeak-wasm.mjs).
  let dataDir
  try {
    const voiceData = await import(pathToFileURL(path.join(root, 'src', 'tts', 'espeak-wasm.mjs')).href)
    dataDir = voiceData.voiceDataDir(distDir)
    voiceData.extractVoiceData(dataDir)
  } catch (err) {
    process.stderr.write(`briefcast: could not write espeak-ng's voice data under dist/ (${err.message}); the engine will load it into memory instead\n`)
  }
  pruneOld(distDir, [key, dataDir && path.basename(dataDir)])
  return outDir
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const dir = await ensureBuilt()
  process.stdout.write(`briefcast: compiled src/ -> ${path.relative(process.cwd(), dir) || dir} (${Math.round(performance.now() - started)} ms)\n`)
}
