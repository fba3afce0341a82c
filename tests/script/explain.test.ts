/** `script --explain`: per segment what was changed for speech, and what was dropped and why. */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { explainArticle, formatExplanation, speechChanges } from '../../src/script/index.ts'

const page = (name: string) => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'furniture', `${name}.html`))

describe('speechChanges', () => {
  it('gives each changed span, written -> spoken, and nothing for unchanged words', () => {
    expect(speechChanges('Council approves $4.2m plan on July 25, 2012.', 'Council approves four point two million dollar plan on July twenty-fifth, twenty twelve.')).toEqual([
      { written: '$4.2m', spoken: 'four point two million dollar' },
      { written: '25, 2012.', spoken: 'twenty-fifth, twenty twelve.' },
    ])
    expect(speechChanges('Nothing to change here.', 'Nothing to change here.')).toEqual([])
    expect(speechChanges('A claim.[1] More', 'A claim. More')).toEqual([{ written: 'claim.[1]', spoken: 'claim.' }])
  })
})

describe('explainArticle', () => {
  it('lists the dropped furniture with reasons and the changes per segment', () => {
    const e = explainArticle({ content: page('riverside') })
    const reasons = e.dropped.map((d) => `${d.text} <- ${d.reason}`)
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Advertisement <- ad slot/),
        expect.stringMatching(/^The Courier in your inbox Our free morning briefing.* <- newsletter prompt/),
        expect.stringMatching(/^Read more: Old Mill bridge closure extended until March <- a label and a link/),
        expect.stringMatching(/^Related Station car park.* <- related links/),
      ]),
    )
    const first = e.segments.find((s) => s.written.includes('$4.2m'))!
    expect(first.changes).toEqual([{ written: '$4.2m', spoken: 'four point two million dollar' }])
    expect(e.segments.map((s) => s.spoken)).toEqual(e.script.segments.map((s) => s.text))
  })

  it("names the site's name dropped from the spoken title", () => {
    const e = explainArticle({ content: page('weser') })
    expect(e.dropped[0]).toEqual({ text: 'Weserkurier Online', reason: expect.stringContaining("site's name at the end of the title") })
    expect(formatExplanation(e)).toMatch(/^ {4}4,2 Mio\. {2}-> {2}vier Komma zwei Millionen$/m)
  })
})
