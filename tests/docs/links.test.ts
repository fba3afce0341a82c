/**
 * Every documentation path the code cites exists, and every relative link in
 * README.md and docs/*.md points at a file that exists (and at a heading
 * that exists, for links with an #anchor).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const CODE_DIRS = ['src', 'tests', 'bench', 'bin']
const CODE_EXT = /\.(ts|mts|cts|js|mjs|cjs)$/

const filesIn = (dir: string, keep: (f: string) => boolean): string[] =>
  (readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
    .map((f) => path.join(dir, f))
    .filter((f) => keep(f) && !f.split(path.sep).includes('fixtures') && !f.split(path.sep).includes('node_modules'))

const markdownPages = () => ['README.md', ...filesIn('docs', (f) => f.endsWith('.md'))]

/** Markdown outside fenced code blocks. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '')

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

describe('documentation links', () => {
  it('every docs/ or notes/ page cited in src, tests, bench and bin exists', () => {
    const missing: string[] = []
    for (const dir of CODE_DIRS) {
      for (const file of filesIn(dir, (f) => CODE_EXT.test(f))) {
        const text = readFileSync(path.join(ROOT, file), 'utf8')
        // docs/<page>.md and notes/<page>.md at the root of this repository (not a path inside another one).
        for (const m of text.matchAll(/(?<![\w./-])((?:docs|notes)\/[\w-]+\.md)\b/g)) {
          if (!existsSync(path.join(ROOT, m[1]!))) missing.push(`${file}: ${m[1]}`)
        }
      }
    }
    expect(missing).toEqual([])
  })

  it('every relative link in README.md and docs/*.md resolves, anchors included', () => {
    const broken: string[] = []
    for (const page of markdownPages()) {
      const text = readFileSync(path.join(ROOT, page), 'utf8')
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue // http:, https:, mailto:
        const [file, anchor] = target!.split('#') as [string, string | undefined]
        const resolved = file ? path.join(path.dirname(page), decodeURIComponent(file)) : page
        if (!existsSync(path.join(ROOT, resolved))) {
          broken.push(`${page}: ${target} (no such file)`)
          continue
        }
        if (anchor && resolved.endsWith('.md') && !anchors(readFileSync(path.join(ROOT, resolved), 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no such heading)`)
      }
    }
    expect(broken).toEqual([])
  })

  it('README.md is the front door: under 300 lines, linking every docs page', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    expect(readme.split('\n').length).toBeLessThan(300)
    const unlinked = filesIn('docs', (f) => f.endsWith('.md')).filter((f) => !readme.includes(`](${f.split(path.sep).join('/')}`))
    expect(unlinked, 'docs pages not linked from README.md').toEqual([])
  })
})
