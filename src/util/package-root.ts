/**
 * Where the installed package lives: the nearest directory with a package.json
 * above this module (src/util/ when run from the sources, dist/<key>/ when run
 * from the bundle). The shipped voices/ and the version come from there, so the
 * CLI works from any working directory.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

let root: string | undefined

export function packageRoot(): string {
  if (root === undefined) {
    root = process.cwd()
    for (let d = path.dirname(fileURLToPath(import.meta.url)); d !== path.dirname(d); d = path.dirname(d)) {
      if (existsSync(path.join(d, 'package.json'))) {
        root = d
        break
      }
    }
  }
  return root
}

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}
