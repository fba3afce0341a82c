/**
 * Plain text, including text copied from a whole news page: the story is kept,
 * the page chrome around it is not. The rules are about shape (sentences vs
 * labels, position, repetition), so the second page below, from an invented site
 * with different wording, must come out as cleanly as the fixture.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { articleToScript } from '../../src/script/index.ts'
import { displayOf } from './helpers.ts'

const plainDir = path.join(import.meta.dirname, '..', 'fixtures', 'plain')

describe('the plain-text news page', () => {
  const script = articleToScript({ content: readFileSync(path.join(plainDir, 'lenovo-nvidia-ai-factories.txt')) })
  const read = displayOf(script)

  it('takes the headline as the title', () => {
    expect(script.title).toBe('Lenovo and Nvidia join forces to build AI factories')
    expect(script.segments[0]).toMatchObject({ kind: 'title', blockIndex: -1 })
    expect(script.language).toBe('en')
  })

  it('reads every paragraph of the story, in order', () => {
    const openings = [
      'The technological world continues to develop rapidly',
      'In recent years, there has been exponential growth',
      'Parallel to this, technological innovations are aimed',
      'On another front, the Chinese film industry achieved',
      'The "Lenovo AI Cloud Super Factory" project represents',
      'Microsoft CEO Satya Nadella emphasized',
      'In the field of robotics, Chinese company Zhizhen Robot',
      'Investments in medical AI in Africa open new horizons',
      'The growth of the Chinese film industry, supported',
      'The implementation of "AI Factory"',
      'The collaboration between Lenovo and Nvidia, investments',
      'Artificial intelligence is ceasing to be merely a tool',
    ]
    let from = 0
    for (const o of openings) {
      const at = read.indexOf(o, from)
      expect(at, o).toBeGreaterThanOrEqual(0)
      from = at
    }
  })

  it('keeps the section headings as headings', () => {
    const headings = script.segments.filter((s) => s.kind === 'heading').map((s) => s.displayText)
    expect(headings).toEqual(expect.arrayContaining(['Introduction', 'Conclusion', 'Consequences: AI as a Driver of Innovation and Social Progress']))
    const conclusion = script.segments.find((s) => s.displayText === 'Conclusion')!
    expect(conclusion.pauseAfterMs).toBeGreaterThan(script.segments.find((s) => s.kind === 'paragraph')!.pauseAfterMs)
  })

  it('drops the page chrome', () => {
    for (const chrome of [
      'Listen to article', // player button
      '→ original', // source link
      'AI-processed from', // credit line
      'Collage', // image credit
      'will allocate $50 mi', // truncated teaser
      'ZK', // avatar initials
      'AI news without noise', // publisher blurb
      'Want to stop reading', // pitch
      'Hamidun Academy', // pitch
      'What do you think?', // comment prompt
      'Loading comments', // widget state
    ]) {
      expect(read.includes(chrome), chrome).toBe(false)
    }
    // The headline is read once, as the title, not again from the image caption block.
    expect(read.split('Lenovo and Nvidia join forces to build AI factories').length - 1).toBe(1)
  })
})

describe('another site, other chrome, same rules', () => {
  const page = [
    'DailyWire Tech',
    'Menu\nHome\nWorld\nBusiness\nTechnology\nScience',
    'Tiny satellites map the ocean floor from orbit',
    'By Maria Rossi · 4 min read',
    '▶ Play audio version',
    'A swarm of shoebox-sized satellites has produced the most detailed map yet of the seafloor beneath the Southern Ocean, researchers said on Tuesday. The data could help ships avoid hazards and help scientists understand how currents move heat around the planet.',
    'The satellites measure tiny bumps in the sea surface caused by the gravity of mountains and trenches far below. Averaged over months, those bumps reveal features as small as a few kilometres across, far finer than earlier maps allowed.',
    'How it works',
    'Each satellite carries a radar altimeter that times pulses bounced off the water. Because the orbits overlap, the team can combine thousands of passes and remove the effect of waves and tides before computing the shape of the sea surface.',
    '"We are finally seeing the ocean floor the way we see the Moon," said one of the researchers, who has worked on the project for six years. The team plans to publish the full map next spring.',
    'Share\nFacebook\nX\nLinkedIn\nCopy link',
    '37 comments',
    'Related\nRockets are getting cheaper, but at what cost\nWhy the Arctic is warming four times faster',
    'Get our free weekly digest\nEmail address\nSign up',
    '© 2025 DailyWire Media. All rights reserved.',
  ].join('\n\n')
  const script = articleToScript({ content: page })
  const read = displayOf(script)

  it('finds the title and the story', () => {
    expect(script.title).toBe('Tiny satellites map the ocean floor from orbit')
    expect(read).toContain('A swarm of shoebox-sized satellites')
    expect(read).toContain('The team plans to publish the full map next spring.')
    expect(script.segments.some((s) => s.kind === 'heading' && s.displayText === 'How it works')).toBe(true)
  })

  it('drops menus, buttons, counters, share bars, related links and sign-up forms', () => {
    for (const chrome of ['DailyWire Tech', 'Menu', 'Business', '4 min read', 'Play audio', 'Facebook', 'Copy link', '37 comments', 'Related', 'Rockets are getting cheaper', 'Email address', 'Sign up', 'All rights reserved']) {
      expect(read.includes(chrome), chrome).toBe(false)
    }
  })
})

describe('simple plain text', () => {
  it('reads the title line, then the paragraphs split by blank lines', () => {
    const script = articleToScript({ content: 'A short note\n\nFirst paragraph here.\n\nSecond one, also short.' })
    expect(script.title).toBe('A short note')
    expect(script.segments.map((s) => [s.kind, s.displayText])).toEqual([
      ['title', 'A short note'],
      ['paragraph', 'First paragraph here.'],
      ['paragraph', 'Second one, also short.'],
    ])
  })

  it('a headline may be a question', () => {
    const script = articleToScript({ content: 'Is the tram worth it?\n\nThe council thinks so, and it voted on Tuesday to extend the line to the harbour at last.\n\nWhat happens next?\n\nConstruction starts in May and the first trams should run in the spring of 2027, officials said.' })
    expect(script.title).toBe('Is the tram worth it?')
    expect(script.segments.map((s) => s.kind)).toEqual(['title', 'paragraph', 'heading', 'paragraph'])
  })

  it('joins hard-wrapped lines into one paragraph', () => {
    const text =
      'Wrapped text\n\nThis paragraph was wrapped at a fixed width by an old mail client, so every\nline ends without punctuation even though the sentence continues on the\nnext line and only ends here.\n\nA second paragraph follows it, also a sentence long enough to count.'
    const script = articleToScript({ content: text })
    const paras = script.segments.filter((s) => s.kind === 'paragraph')
    expect(paras).toHaveLength(2)
    expect(paras[0]!.displayText).toBe(
      'This paragraph was wrapped at a fixed width by an old mail client, so every line ends without punctuation even though the sentence continues on the next line and only ends here.',
    )
  })

  it('reads list lines as list items', () => {
    const script = articleToScript({ content: 'Shopping for the trip\n\nWe need a few things before we leave on Saturday morning, so here is the list that we agreed on yesterday evening.\n\n- a tent\n- two sleeping bags\n- a stove' })
    expect(script.segments.filter((s) => s.kind === 'list-item').map((s) => s.displayText)).toEqual(['a tent', 'two sleeping bags', 'a stove'])
  })

  it('the three hand-made story files convert with their titles', () => {
    const titles = [
      'Lenovo and Nvidia join forces to build AI factories',
      'OpenAI and the Gates Foundation invest $50 million in medical AI in Africa',
      "China's film industry reaches a record 810 billion yuan",
    ]
    titles.forEach((title, i) => {
      const script = articleToScript({ content: readFileSync(path.join(plainDir, `story-${i + 1}.txt`)) })
      expect(script.title).toBe(title)
      expect(script.segments.filter((s) => s.kind === 'paragraph').length).toBeGreaterThanOrEqual(3)
    })
  })
})
