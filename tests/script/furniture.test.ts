/**
 * Page furniture is not read: ad-slot labels, sponsor and newsletter prompts, "Read more"/"Related"
 * lines and the site's name, on hand-made pages (tests/fixtures/furniture: three sites, two languages,
 * each signal on its own) and on the corpus pages, while every story paragraph is read, in order.
 */
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { parseHTML } from 'linkedom'
import { describe, expect, it } from 'vitest'
import { siteNames, titleWithoutSiteName } from '../../src/script/furniture.ts'
import { articleToScript } from '../../src/script/index.ts'
import { displayOf, inOrderMatches, spokenOf, wordTokens } from './helpers.ts'

const fixtures = path.join(import.meta.dirname, '..', 'fixtures')

/** The story's paragraphs as the page's author marked them: every <p> that is not furniture, by the fixture's own list. */
const PAGES: Record<string, { headline: string; furniture: string[]; notStory: string[] }> = {
  // og:site_name, a comma before the site name in <title>, ad slots named by class and data-ad-unit, a newsletter box,
  // a "Read more:" line, a related-links aside, the site's name in the footer.
  riverside: {
    headline: 'Council approves footbridge plan',
    furniture: ['Advertisement', 'inbox', 'morning briefing', 'Sign up', 'Read more', 'closure extended', 'Related', 'Station car park', 'Riverside Courier', 'Riverside Media'],
    notStory: ['By Maria Lopez'],
  },
  // application-name; ad labels with meaningless classes (found by repetition), a one-off "Sponsored" label (by size
  // and position), a promotion by aria-label, a newsletter link by its URL, the site's name as the last line.
  valley: {
    headline: 'School roof repairs delayed again as costs rise',
    furniture: ['Advertisement', 'Sponsored', 'unlimited access', 'schools newsletter', 'Valley Herald'],
    notStory: [],
  },
  // German, no site metadata: the site's name only in <title> after the headline; "Anzeige" labels, "Mehr zum Thema:"
  // and a newsletter link.
  weser: {
    headline: 'Stadtrat beschließt neue Brücke über die Weser',
    furniture: ['Anzeige', 'Mehr zum Thema', 'Radwege bis', 'Newsletter', 'Weserkurier'],
    notStory: [],
  },
}

describe('hand-made pages with furniture', () => {
  for (const [name, page] of Object.entries(PAGES)) {
    describe(name, () => {
      const html = readFileSync(path.join(fixtures, 'furniture', `${name}.html`), 'utf8')
      const script = articleToScript({ content: html })
      const spoken = spokenOf(script)
      const display = displayOf(script)

      it('reads none of the furniture', () => {
        for (const f of page.furniture) {
          expect(display.toLowerCase(), `read: ${f}`).not.toContain(f.toLowerCase())
          expect(spoken.toLowerCase(), `read: ${f}`).not.toContain(f.toLowerCase())
        }
      })

      it('reads every story paragraph, in order', () => {
        const { document } = parseHTML(html)
        const story = [...document.querySelectorAll('p')]
          .map((p) => (p.textContent ?? '').trim())
          .filter((t) => t.split(' ').length >= 8 && !page.furniture.some((f) => t.includes(f)) && !page.notStory.includes(t))
        expect(story.length).toBeGreaterThanOrEqual(6)
        const expected = wordTokens(story.join(' '))
        expect(inOrderMatches(expected, wordTokens(display))).toBe(expected.length)
      })

      it("speaks the headline without the site's name", () => {
        expect(script.segments[0]).toMatchObject({ kind: 'title', text: page.headline })
      })
    })
  }

  it("keeps the site's name in the displayed title", () => {
    const script = articleToScript({ content: readFileSync(path.join(fixtures, 'furniture', 'weser.html'), 'utf8') })
    expect(script.title).toBe('Stadtrat beschließt neue Brücke über die Weser – Weserkurier Online')
  })

  it('"Advertisement" as a paragraph of its own between story paragraphs of a fragment is not read', () => {
    const script = articleToScript({ content: '<p>The council met on Monday to discuss the plan for the new bridge.</p><p>Advertisement</p><p>Members voted in favour after a long debate about the costs.</p>', format: 'html' })
    expect(spokenOf(script)).not.toContain('Advertisement')
    expect(script.segments).toHaveLength(2)
  })

  it('keeps short lines that are sentences, headings or list items', () => {
    const script = articleToScript({ content: '<h2>Verdict</h2><p>The council met on Monday to discuss the plan.</p><p>Nothing.</p><p>Members voted in favour after a long debate.</p><ul><li>Bridges</li><li>Roads</li></ul>', format: 'html' })
    expect(spokenOf(script)).toContain('Verdict')
    expect(spokenOf(script)).toContain('Nothing.')
    expect(spokenOf(script)).toContain('Bridges')
  })
})

describe('the corpus pages', () => {
  const dir = path.join(fixtures, 'readability')
  for (const page of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
    it(`${page}: no ad label, subscription prompt or site-name line is read`, () => {
      const script = articleToScript({ content: readFileSync(path.join(dir, page, 'source.html')) })
      const lines = script.segments.filter((s) => s.kind !== 'title').map((s) => (s.displayText ?? s.text).trim().toLowerCase())
      for (const label of ['advertisement', 'anzeige', 'publicité', 'subscribe', 'sign up', 'supported by', 'continue reading the main story']) {
        expect(lines, `${page}: ${label}`).not.toContain(label)
      }
      const meta = readFileSync(path.join(dir, page, 'source.html'), 'utf8').match(/property="og:site_name"\s+content="([^"]+)"/)
      if (meta) expect(lines).not.toContain(meta[1]!.toLowerCase())
    })
  }
})

describe('site names and titles', () => {
  const meta = (values: Record<string, string>) => (name: string) => values[name]
  it("come from og:site_name, application-name, and the part of <title> the headline doesn't have", () => {
    expect(siteNames(meta({ 'og:site_name': 'The Courier' }), undefined, undefined)).toEqual(['The Courier'])
    expect(siteNames(meta({ 'application-name': 'Herald' }), undefined, undefined)).toEqual(['Herald'])
    expect(siteNames(meta({}), 'Bridge plan approved by council | Weser Kurier', 'Bridge plan approved by council')).toEqual(['Weser Kurier'])
    expect(siteNames(meta({}), 'Daily Post: Bridge plan approved by council', 'Bridge plan approved by council')).toEqual(['Daily Post'])
    expect(siteNames(meta({}), 'Bridge plan approved by council', 'Bridge plan approved by council')).toEqual([])
  })
  it('the title drops a site name at its end or start, with any separator, and nothing else', () => {
    expect(titleWithoutSiteName('Council approves footbridge plan, The Riverside Courier', ['The Riverside Courier'])).toBe('Council approves footbridge plan')
    expect(titleWithoutSiteName('Council approves footbridge plan - Riverside Courier', ['Riverside Courier'])).toBe('Council approves footbridge plan')
    expect(titleWithoutSiteName('BBC News | Obama interview in full', ['BBC News'])).toBe('Obama interview in full')
    expect(titleWithoutSiteName('Courier staff strike over pay', ['Courier'])).toBe('Courier staff strike over pay')
    expect(titleWithoutSiteName('Herald', ['Herald'])).toBe('Herald')
  })
})
