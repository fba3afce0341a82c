/**
 * Packages that only some inputs or settings need, loaded on first use instead of at every start:
 * Markdown's parser (marked), the number words of each language (n2words), cron and IP address
 * parsing for settings most installs leave unset. Each costs a command's start-up milliseconds of
 * compiling and evaluating (marked alone ~7-12 ms, building its regular expressions), on the path
 * of every `briefcast render` before its first clip is spoken. `require` loads ES modules
 * synchronously (Node.js 20.19 and later), so the callers stay synchronous.
 */
import { createRequire } from 'node:module'

const requireHere = createRequire(import.meta.url)

/** `load()` gives the package, required the first time it is called. */
export function lazyPackage<T>(name: string): () => T {
  let mod: T | undefined
  return () => (mod ??= requireHere(name) as T)
}
