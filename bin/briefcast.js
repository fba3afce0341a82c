#!/usr/bin/env node
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
