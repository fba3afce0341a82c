/**
 * `npm run bench [filter]`: runs every bench/*.bench.ts in its own process, one
 * after another (they measure time; running them side by side would skew it).
 * Each prints its own lines, with ratios against a baseline run in the same script.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.dirname(fileURLToPath(import.meta.url))
const filter = process.argv[2]
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter)))
  .sort()
let failed = 0
for (const file of files) {
  process.stdout.write(`\n## ${file}\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, file)], { stdio: 'inherit' })
  if (r.status !== 0) failed++
}
process.exitCode = failed ? 1 : 0
