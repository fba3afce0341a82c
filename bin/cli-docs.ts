// Writes docs/cli.md from the command table (src/cli/docs.ts). `npm run docs:cli`.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { cliDocs } from '../src/cli/docs.ts'

const file = path.join(import.meta.dirname, '..', 'docs', 'cli.md')
writeFileSync(file, cliDocs())
process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`)
