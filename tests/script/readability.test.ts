/**
 * Acceptance on the 8 Readability test pages: the title, the article's words in
 * order, and nothing from <script>, <style> or <nav>.
 *
 * Word coverage is measured on displayText (the text as written), because the
 * spoken text is normalized ("15%" -> "15 percent"). The issue ALSO requires
 * figure captions, code blocks and tables to be dropped, so those elements
 * (and captions rendered as a one-item list after a figure) are removed from
 * expected.html before measuring the 95%. The raw coverage, captions included,
 * is checked too (>= 75%: the Guardian page has ~250 words of captions) so a
 * real loss of body text cannot hide behind the exclusions.
 * The spoken text is measured against expected.html normalized the same way.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseHTML } from 'linkedom'
import { describe, expect, it } from 'vitest'
import { articleToScript, normalizeForSpeech, utf8Bytes } from '../../src/script/index.ts'
import { displayOf, inOrderMatches, spokenOf, wordTokens } from './helpers.ts'

const dir = path.join(import.meta.dirname, '..', 'fixtures', 'readability')
const pages = readdirSync(dir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort()

const DROPPED_BY_DESIGN = 'figcaption, figure, pre, table, nav, aside, button'

function textOf(html: string, remove?: string): string {
  const { document } = parseHTML(`<!doctype html><html><body>${html}</body></html>`)
  if (remove) {
    // Captions rendered as a one-item list right after the figure (The Guardian) are captions too.
    for (const el of [...document.querySelectorAll('figure + ul, figure + ol')]) if (el.querySelectorAll('li').length === 1) el.remove()
    for (const el of [...document.querySelectorAll(remove)]) el.remove()
  }
  const parts: string[] = []
  // Block boundaries become spaces, so words from adjacent blocks do not fuse.
  for (const el of document.querySelectorAll('p, li, h1, h2, h3, h4, h5, h6, blockquote, dd, dt, td, th, div, section, article, br')) el.append(' ')
  parts.push(document.body.textContent ?? '')
  return parts.join(' ').replace(/\s+/g, ' ')
}

describe('readability corpus', () => {
  it('has the 8 pages', () => {
    expect(pages).toHaveLength(8)
  })

  for (const page of pages) {
    describe(page, () => {
      const source = readFileSync(path.join(dir, page, 'source.html'))
      const expectedHtml = readFileSync(path.join(dir, page, 'expected.html'), 'utf8')
      const meta = JSON.parse(readFileSync(path.join(dir, page, 'expected-metadata.json'), 'utf8')) as { title: string; lang?: string }
      const script = articleToScript({ content: source })

      it('takes the title from the page', () => {
        expect(script.title).toBe(meta.title)
        expect(script.segments[0]?.kind).toBe('title')
      })

      it('reads at least 95% of the article words, in order', () => {
        const expected = wordTokens(textOf(expectedHtml, DROPPED_BY_DESIGN))
        const actual = wordTokens(displayOf(script))
        expect(expected.length).toBeGreaterThan(50)
        const coverage = inOrderMatches(expected, actual) / expected.length
        expect(coverage, `${page}: ${(coverage * 100).toFixed(1)}% in order`).toBeGreaterThanOrEqual(0.95)
        const raw = wordTokens(textOf(expectedHtml))
        expect(inOrderMatches(raw, actual) / raw.length).toBeGreaterThanOrEqual(0.75)
      })

      it('speaks the same words once both sides are normalized for speech', () => {
        const expected = wordTokens(normalizeForSpeech(textOf(expectedHtml, DROPPED_BY_DESIGN), script.language))
        const actual = wordTokens(spokenOf(script))
        expect(inOrderMatches(expected, actual) / expected.length).toBeGreaterThanOrEqual(0.95)
      })

      it('reads nothing from <script>, <style> or <nav>', () => {
        const { document } = parseHTML(source.toString('utf8'))
        const expectedText = textOf(expectedHtml).toLowerCase()
        const read = displayOf(script).replace(/\s+/g, ' ').toLowerCase()
        let checked = 0
        for (const el of document.querySelectorAll('script, style, nav')) {
          for (const line of (el.textContent ?? '').split(/\n+/)) {
            const chunk = line.replace(/\s+/g, ' ').trim().toLowerCase()
            // Only chunks that are not also article text (a nav link can repeat a heading).
            if (chunk.length < 25 || expectedText.includes(chunk)) continue
            checked++
            expect(read.includes(chunk), `leaked from <${el.nodeName.toLowerCase()}>: ${chunk.slice(0, 80)}`).toBe(false)
          }
        }
        expect(checked).toBeGreaterThan(0)
      })

      it('produces well-formed segments', () => {
        expect(script.language).toMatch(/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/)
        if (meta.lang) expect(script.language.toLowerCase()).toBe(meta.lang.toLowerCase())
        for (const s of script.segments) {
          expect(s.text.trim()).not.toBe('')
          expect(utf8Bytes(s.text)).toBeLessThanOrEqual(5000)
          expect(s.displayText?.trim()).toBeTruthy()
          expect(s.id).toMatch(/^[0-9a-f]{16}$/)
          expect(typeof s.blockIndex).toBe('number')
        }
        const body = script.segments.filter((s) => s.kind !== 'title' && s.kind !== 'byline')
        expect(body.length).toBeGreaterThan(2)
        // Document order: block indexes never go back.
        for (let i = 1; i < body.length; i++) expect(body[i]!.blockIndex!).toBeGreaterThanOrEqual(body[i - 1]!.blockIndex!)
      })
    })
  }
})
