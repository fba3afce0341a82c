import { promises as fs } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { countMp3Frames } from '../../src/audio/mp3.ts'
import { createRunDir, sweepStaleRunDirs, tempRoot } from '../../src/audio/tempdir.ts'
import { buildChaptersJson, buildFfmetadata, buildTimingsJson, buildVtt, parseVtt, sentenceSpans, type TimedSegment } from '../../src/audio/transcript.ts'
import { buildChapters, combineLoudness, frameAlignedLength } from '../../src/episodes/render.ts'
import type { Script } from '../../src/script/types.ts'
import { seg, tempDir } from './helpers.ts'

const timed = (text: string, startMs: number, endMs: number, extra: Partial<TimedSegment> = {}): TimedSegment => ({ id: text.slice(0, 8), kind: 'paragraph', sectionIndex: 0, startMs, endMs, text, ...extra })

describe('transcript files', () => {
  it('splits sentences without losing text, and not after abbreviations or inside numbers', () => {
    expect(sentenceSpans('Dr. Smith paid $3.5 billion. Really? Yes! The end')).toEqual(['Dr. Smith paid $3.5 billion. ', 'Really? ', 'Yes! ', 'The end'])
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      expect(sentenceSpans(s).join('')).toBe(s)
    }))
    expect(sentenceSpans('他说。我们走！好')).toEqual(['他说。', '我们走！', '好'])
    expect(sentenceSpans('"Quoted." Next one...  Last')).toEqual(['"Quoted." ', 'Next one...  ', 'Last'])
  })

  it('writes one cue per sentence, contiguous, covering every segment, text escaped and round-tripped', () => {
    const vtt = buildVtt([timed('First one. Second <b>bold</b> & more.', 0, 4000, { speechStartMs: 25, speechEndMs: 3500 }), timed('Third --> arrow.', 4000, 6000)])
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true)
    expect(vtt).not.toContain('<b>')
    const cues = parseVtt(vtt)
    expect(cues.map((c) => c.text)).toEqual(['First one.', 'Second <b>bold</b> & more.', 'Third --> arrow.'])
    expect(cues[0]!.startMs).toBe(0)
    expect(cues[1]!.startMs).toBe(cues[0]!.endMs)
    expect(cues[1]!.endMs).toBe(4000)
    expect(cues[2]).toMatchObject({ startMs: 4000, endMs: 6000 })
    expect(vtt).toMatch(/00:00:04\.000 --> 00:00:06\.000\nThird --&gt; arrow\./)
  })

  it('uses engine sentence starts when given', () => {
    const cues = parseVtt(buildVtt([timed('One. Two.', 1000, 3000, { speechStartMs: 1025, speechEndMs: 2800, sentenceStartsMs: [0, 1500] })]))
    expect(cues).toEqual([
      { startMs: 1000, endMs: 2525, text: 'One.' },
      { startMs: 2525, endMs: 3000, text: 'Two.' },
    ])
  })

  it('splits a long sentence into cues of at most 65 characters between words, timed by the engine\'s word starts', () => {
    const words = 'The council agreed on Tuesday to extend the harbour wall by another two hundred metres before the winter storms arrive.'.split(' ')
    const text = `Short one. ${words.join(' ')}`
    // Word starts relative to speech start: 300 ms per word (2 words of the first sentence, then the long one).
    const wordStartsMs = Array.from({ length: 2 + words.length }, (_, i) => i * 300)
    const cues = parseVtt(buildVtt([timed(text, 0, 10_000, { speechStartMs: 100, speechEndMs: 9900, sentenceStartsMs: [0, 600], wordStartsMs })]))
    expect(cues[0]).toMatchObject({ text: 'Short one.', startMs: 0 })
    const long = cues.slice(1)
    expect(long.length).toBeGreaterThan(1)
    expect(long.map((c) => c.text).join(' ')).toBe(words.join(' '))
    for (const c of long) expect(c.text.length).toBeLessThanOrEqual(65)
    // The second line starts when its first word is spoken.
    const firstWordOfSecond = long[0]!.text.split(' ').length
    expect(long[1]!.startMs).toBe(100 + (2 + firstWordOfSecond) * 300)
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.startMs).toBe(cues[i - 1]!.endMs)
    expect(cues.at(-1)!.endMs).toBe(10_000)
    // Without word timings the split is timed by length, still contiguous.
    const byLength = parseVtt(buildVtt([timed(words.join(' '), 0, 6000)]))
    expect(byLength.length).toBeGreaterThan(1)
    for (const c of byLength) expect(c.text.length).toBeLessThanOrEqual(65)
    expect(byLength[1]!.startMs).toBeGreaterThan(0)
    expect(byLength[1]!.startMs).toBeLessThan(6000)
  })

  it('writes Podcasting 2.0 chapters, timings by id and ffmetadata with escaping', () => {
    expect(buildChaptersJson([{ title: 'A', startMs: 0, endMs: 1500 }])).toEqual({ version: '1.2.0', chapters: [{ startTime: 0, endTime: 1.5, title: 'A' }] })
    const t = buildTimingsJson(
      [
        { id: 'x', kind: 'title', sectionIndex: 0, startMs: 0, endMs: 10, text: 'T' },
        { id: 'x', kind: 'paragraph', sectionIndex: 0, startMs: 10, endMs: 20, text: 'T' },
      ],
      20,
    )
    expect(t.segments).toHaveLength(2)
    expect(t.byId).toEqual({ x: { startMs: 0, endMs: 10 } })
    expect(buildFfmetadata({ title: 'a=b; #c\\d', artist: undefined }, [{ title: 'Ch\n1', startMs: 0, endMs: 5 }])).toBe(
      ';FFMETADATA1\ntitle=a\\=b\\; \\#c\\\\d\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=5\ntitle=Ch\\\n1\n',
    )
  })

  it('makes chapters per section, per story in briefings, the first named by the title', () => {
    const script: Script = { title: 'Title', language: 'en', sourceHash: 'h', segments: [seg('title', 'Title', 0), seg('paragraph', 'Intro.', 0), seg('heading', 'Part two', 1), seg('paragraph', 'Body.', 1)] }
    const timings = script.segments.map((s, i) => ({ id: s.id, kind: s.kind, sectionIndex: s.sectionIndex, startMs: i * 1000, endMs: (i + 1) * 1000, text: s.text }))
    expect(buildChapters(script, timings, 4000)).toEqual([
      { title: 'Title', startMs: 0, endMs: 2000 },
      { title: 'Part two', startMs: 2000, endMs: 4000 },
    ])
  })
})

describe('pieces', () => {
  it('aligns piece lengths to whole MP3 frames after the encoder delay, never cutting the clip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000 }), fc.integer({ min: 0, max: 200_000 }), (content, pause) => {
        const total = frameAlignedLength(content, pause)
        expect((total + 1105 + 64) % 1152).toBe(0)
        expect(total).toBeGreaterThanOrEqual(content)
        expect(Math.abs(total + 1105 + 64 - (content + pause))).toBeLessThanOrEqual(Math.max(1152, content + 1105 + 64 + 1152 - (content + pause)))
      }),
    )
  })

  it('combines piece loudness as a weighted power mean and the highest peak', () => {
    const l = combineLoudness([
      { loudness: { integratedLufs: -16, truePeakDb: -2 }, speechStart: 0, speechEnd: 1000 },
      { loudness: { integratedLufs: -16, truePeakDb: -1.5 }, speechStart: 0, speechEnd: 3000 },
      { loudness: { integratedLufs: -Infinity, truePeakDb: -Infinity }, speechStart: 0, speechEnd: 500 },
    ])
    expect(l).toEqual({ integratedLufs: -16, truePeakDb: -1.5 })
    expect(combineLoudness([{ loudness: { integratedLufs: -13, truePeakDb: -1 }, speechStart: 0, speechEnd: 1 }, { loudness: { integratedLufs: -16, truePeakDb: -1 }, speechStart: 0, speechEnd: 1 }]).integratedLufs).toBeCloseTo(-14.24, 1)
  })

  it('rejects data that is not a clean MP3 frame sequence', () => {
    expect(countMp3Frames(Buffer.from('not an mp3 at all'))).toBeUndefined()
    expect(countMp3Frames(Buffer.alloc(0))).toBeUndefined()
  })
})

describe('per-run temp directories', () => {
  it('sweeps directories of processes that are gone, keeps live ones', async () => {
    const cache = await tempDir()
    const root = tempRoot(cache)
    await fs.mkdir(path.join(root, '999999999-dead'), { recursive: true })
    await fs.writeFile(path.join(root, '999999999-dead', 'piece-1.mp3'), 'x')
    await fs.mkdir(path.join(root, `${process.ppid}-alive`), { recursive: true })
    expect(await sweepStaleRunDirs(cache, true)).toEqual(['999999999-dead'])
    const run = await createRunDir(cache)
    expect(path.basename(run.path)).toMatch(new RegExp(`^${process.pid}-`))
    await run.remove()
    expect((await fs.readdir(root)).sort()).toEqual([`${process.ppid}-alive`])
    await fs.rm(cache, { recursive: true, force: true })
  })
})
