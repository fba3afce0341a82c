#!/bin/sh
':' //; case "$1" in render|briefing) MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" exec node --max-semi-space-size=1 "$0" "$@" ;; *) exec node "$0" "$@" ;; esac
// ^ A shell line that is also a JavaScript string and comment: run as a program, /bin/sh starts node,
// and for the one-shot renders with V8's young generation kept at 1 MB per thread. Their big data
// (samples, encoded pieces) lives in ArrayBuffers outside the JS heap, and letting the nursery grow to
// its 16 MB default only raised peak RSS (a 20-minute render: 277-299 MB against 239-266 MB) for no
// measurable speed. The flag works only when node starts (V8 sizes the heap then), hence this line.
// Likewise glibc's malloc arenas, read when the process starts: those ArrayBuffers are malloc'd by
// several threads, and glibc's default of up to 8 arenas per core left freed buffers resident in each
// thread's own arena (~130 MB of arenas at a 20-minute render's peak); two arenas took 20 to 28 MB
// off its peak RSS at no measurable CPU. A value already in the environment wins.
// `node bin/briefcast.js ...` skips it and runs with node's defaults.
//
// Entry point for the `briefcast` command (and `npm start` = `briefcast serve`).
// Runs the compiled build of src/ (bin/build.js; rebuilt when a source file
// changed), so no TypeScript loader sits in the process. Should the build fail
// (e.g. esbuild's binary is missing), the TypeScript sources run through tsx.
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { ensureBuilt } from './build.js'

let entry
try {
  entry = pathToFileURL(path.join(await ensureBuilt(), 'cli.js')).href
} catch (err) {
  process.stderr.write(`briefcast: compiling src/ failed (${err instanceof Error ? err.message : err}); running the TypeScript sources through tsx.\n`)
  const { register } = await import('tsx/esm/api')
  register()
  entry = new URL('../src/cli.ts', import.meta.url).href
}
const { main } = await import(entry)
process.exitCode = await main(process.argv.slice(2))
