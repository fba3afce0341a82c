import { describe, expect, it } from 'vitest'
import { briefingStoryTitles, composeBriefing, dayInZone, estimateSpeechMs, ledeSegments, spokenDate } from '../../src/episodes/briefing.ts'
import { isAppError } from '../../src/errors.ts'
import type { Script, Segment } from '../../src/script/types.ts'

function seg(id: string, kind: Segment['kind'], text: string, blockIndex?: number, sectionIndex = 0): Segment {
  return { id, kind, text, pauseAfterMs: 400, sectionIndex, ...(blockIndex === undefined ? {} : { blockIndex }) }
}

const words = (n: number, w = 'word') => Array.from({ length: n }, () => w).join(' ')

function story(n: number, paragraphs: string[], extra: Segment[] = []): Script {
  return {
    title: `Story ${n}`,
    language: 'en',
    sourceHash: `h${n}`,
    segments: [
      seg(`s${n}-title`, 'title', `Story ${n}`),
      seg(`s${n}-by`, 'byline', 'By Someone'),
      ...extra,
      ...paragraphs.map((p, i) => seg(`s${n}-p${i}`, 'paragraph', p, i + 1, 0)),
    ],
  }
}

const THURSDAY = new Date('2026-11-26T06:00:00Z')

describe('composeBriefing', () => {
  it('opens with the show and date, reads each title then text, transitions, closes; one storyIndex per story', () => {
    const script = composeBriefing({
      show: 'The Daily Brief',
      date: THURSDAY,
      timeZone: 'Europe/Berlin',
      language: 'en',
      stories: [
        { script: story(1, ['One a.', 'One b.']), mode: 'full' },
        { script: story(2, ['Two a.']), mode: 'full' },
        { script: story(3, ['Three a.']), mode: 'full' },
      ],
    })
    const lines = script.segments.map((s) => `${s.storyIndex ?? '-'}|${s.voiceRole ?? s.kind}|${s.text}`)
    expect(lines).toEqual([
      '-|host|This is The Daily Brief for Thursday, November 26.',
      '0|title|Story 1',
      '0|paragraph|One a.',
      '0|paragraph|One b.',
      '1|host|Next.',
      '1|title|Story 2',
      '1|paragraph|Two a.',
      '2|host|And finally.',
      '2|title|Story 3',
      '2|paragraph|Three a.',
      '2|host|That was The Daily Brief. Thanks for listening.',
    ])
    // Story segments keep their ids (and so their cached clips); the byline is not read.
    expect(script.segments.filter((s) => s.id.startsWith('s')).map((s) => s.id)).toEqual(['s1-title', 's1-p0', 's1-p1', 's2-title', 's2-p0', 's3-title', 's3-p0'])
    expect(new Set(script.segments.map((s) => s.id)).size).toBe(script.segments.length)
    // sections follow stories (the opening is section 0), so chaptering by section agrees with chaptering by story
    expect(script.segments.map((s) => s.sectionIndex)).toEqual(script.segments.map((s) => (s.storyIndex ?? -1) + 1))
    expect(briefingStoryTitles(script)).toEqual(['Story 1', 'Story 2', 'Story 3'])
    expect(script.title).toBe('The Daily Brief: Thursday, November 26')
    expect(script.language).toBe('en')
    // the last segment of a story gets a longer pause before the next story
    expect(script.segments[3]!.pauseAfterMs).toBeGreaterThanOrEqual(1000)
  })

  it('speaks the date in the time zone of the show, not UTC', () => {
    const lateUtc = new Date('2026-11-26T23:30:00Z')
    expect(spokenDate(lateUtc, 'en', 'UTC')).toBe('Thursday, November 26')
    expect(spokenDate(lateUtc, 'en', 'Asia/Tokyo')).toBe('Friday, November 27')
    expect(dayInZone(lateUtc, 'Asia/Tokyo')).toBe('2026-11-27')
    expect(dayInZone(lateUtc, 'America/New_York')).toBe('2026-11-26')
  })

  it.each([
    ['de', 'Das ist Presseschau für Donnerstag, 26. November.'],
    ['fr', 'Voici Presseschau du jeudi 26 novembre.'],
    ['es', 'Esto es Presseschau del jueves, 26 de noviembre.'],
    ['ru', 'Это Presseschau за четверг, 26 ноября.'],
    ['de-AT', 'Das ist Presseschau für Donnerstag, 26. November.'],
    ['xx', 'This is Presseschau for Thursday, November 26.'],
  ])('opening in %s', (language, opening) => {
    const script = composeBriefing({ show: 'Presseschau', date: THURSDAY, language, stories: [{ script: story(1, ['a']), mode: 'full' }] })
    expect(script.segments[0]!.text).toBe(opening)
    expect(script.segments[0]!.voiceRole).toBe('host')
  })

  it.each(['', 'briefcast', 'BRIEFCAST'])('never speaks the product name: show title %j reads as an untitled briefing', (show) => {
    const script = composeBriefing({ show, date: THURSDAY, language: 'en', stories: [{ script: story(1, ['a']), mode: 'full' }] })
    const spoken = script.segments.map((s) => s.text).join(' ')
    expect(script.segments[0]!.text).toBe('Your news briefing for Thursday, November 26.')
    expect(script.segments.at(-1)!.text).toBe('That was the briefing. Thanks for listening.')
    expect(spoken.toLowerCase()).not.toContain('briefcast')
  })

  it('lede mode keeps the first paragraphs that fit the time budget (and never less than a sentence)', () => {
    // 26 words ≈ 10 s each
    const p = [words(26, 'alpha'), words(26, 'beta'), words(26, 'gamma'), words(26, 'delta')]
    const s = composeBriefing({ show: 'S', date: THURSDAY, language: 'en', stories: [{ script: story(1, p), mode: 'lede', ledeSeconds: 25 }] })
    expect(s.segments.filter((x) => x.kind === 'paragraph' && !x.voiceRole).map((x) => x.id)).toEqual(['s1-p0', 's1-p1'])
    // a first paragraph longer than the budget: only its leading sentence groups
    const long = story(1, [])
    long.segments.push(seg('l0', 'paragraph', words(30), 1), seg('l1', 'paragraph', words(30), 1), seg('l2', 'paragraph', words(30), 2))
    expect(ledeSegments(long.segments.slice(2), 5_000, 'en').map((x) => x.id)).toEqual(['l0'])
    expect(ledeSegments(long.segments.slice(2), 25_000, 'en').map((x) => x.id)).toEqual(['l0', 'l1']) // 2 x 11.5 s fit; the next block does not
    // headings are not part of a lede
    const withHeading = story(1, ['Para one.'], [seg('h', 'heading', 'Introduction', 0, 1)])
    const lede = composeBriefing({ show: 'S', date: THURSDAY, language: 'en', stories: [{ script: withHeading, mode: 'lede', ledeSeconds: 60 }] })
    expect(lede.segments.map((x) => x.id)).not.toContain('h')
    const full = composeBriefing({ show: 'S', date: THURSDAY, language: 'en', stories: [{ script: withHeading, mode: 'full' }] })
    expect(full.segments.map((x) => x.id)).toContain('h')
  })

  it('estimates speaking time by words, or by characters for languages without spaces', () => {
    expect(estimateSpeechMs(words(26), 'en')).toBe(10_000)
    expect(estimateSpeechMs('今日は良い天気です', 'ja')).toBe(1800)
  })

  it('a single story has no transition; duplicate sentences get unique ids; a custom title and story title are used', () => {
    const a = story(1, ['Shared line.'])
    const b = story(2, ['Shared line.'])
    b.segments[2]!.id = a.segments[2]!.id
    const s = composeBriefing({
      show: 'S',
      date: THURSDAY,
      language: 'en',
      title: 'Morning edition',
      stories: [
        { script: a, mode: 'full', title: 'Renamed story' },
        { script: b, mode: 'full' },
      ],
    })
    expect(s.title).toBe('Morning edition')
    expect(new Set(s.segments.map((x) => x.id)).size).toBe(s.segments.length)
    expect(briefingStoryTitles(s)).toEqual(['Renamed story', 'Story 2'])
    const one = composeBriefing({ show: 'S', date: THURSDAY, language: 'en', stories: [{ script: a, mode: 'full' }] })
    expect(one.segments.filter((x) => x.voiceRole === 'host')).toHaveLength(2)
  })

  it('no stories is BRIEFING_EMPTY', () => {
    try {
      composeBriefing({ show: 'S', date: THURSDAY, language: 'en', stories: [] })
      expect.unreachable()
    } catch (err) {
      expect(isAppError(err) && err.code).toBe('BRIEFING_EMPTY')
    }
  })
})
