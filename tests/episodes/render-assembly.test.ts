/**
 * Assembly behaviour with clips we generate ourselves (no TTS engine):
 * per-piece loudness, caching and re-render, jingles, formats, cover art,
 * briefing chapters, ordering, bad input and abort cleanup. Real ffmpeg.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, promises as fs, readdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg, type Ffmpeg } from '../../src/audio/ffmpeg.ts'
import { parseVtt } from '../../src/audio/transcript.ts'
import { renderEpisode } from '../../src/episodes/render.ts'
import type { EncodedPiece } from '../../src/episodes/types.ts'
import { AppError } from '../../src/errors.ts'
import type { Script } from '../../src/script/types.ts'
import type { VoiceProfile } from '../../src/tts/types.ts'
import { seg, tempDir, testConfig, testProfile, toneSpeech } from '../audio/helpers.ts'

let root: string
let ffmpeg: Ffmpeg

beforeAll(async () => {
  root = await tempDir('briefcast-assembly-')
  ffmpeg = await createFfmpeg()
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

async function fresh(name: string) {
  const dir = path.join(root, name)
  await fs.mkdir(path.join(dir, 'voices'), { recursive: true })
  return { dir, config: testConfig(dir), speech: toneSpeech(dir) }
}

function article(): Script {
  return {
    title: 'Test article',
    language: 'en',
    sourceHash: 'x',
    url: 'https://www.example.com/news/1',
    segments: [
      seg('title', 'Test article about loud and quiet voices.', 0),
      seg('paragraph', 'First paragraph. It has two sentences.', 0),
      seg('heading', 'A quiet part', 1),
      seg('quote', 'This quote is spoken very softly by a different voice, and still must sound as loud as the rest.', 1),
      seg('paragraph', 'Back to normal & <plain> text, with characters VTT must escape.', 1),
      seg('heading', 'The end', 2),
      seg('list-item', 'One last item.', 2),
    ],
  }
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    return err as AppError
  }
  throw new Error('expected a rejection')
}

describe('renderEpisode assembly', () => {
  it('normalizes every piece to the target, whatever the clip level, and keeps true peak below -1 dBTP', async () => {
    const { config, speech } = await fresh('levels')
    const pieces: EncodedPiece[] = []
    const r = await renderEpisode(article(), testProfile, { speech, ffmpeg, config }, { onPiece: (p) => pieces.push(p) })
    for (const p of pieces) {
      const l = await ffmpeg.measureLoudness(p.path)
      expect(l.integratedLufs).toBeGreaterThanOrEqual(-17.5)
      expect(l.integratedLufs).toBeLessThanOrEqual(-14.5)
      expect(l.truePeakDb).toBeLessThanOrEqual(-1)
    }
    expect(r.loudness.integratedLufs).toBeGreaterThanOrEqual(-17)
    expect(r.loudness.integratedLufs).toBeLessThanOrEqual(-15)
    const info = await ffmpeg.probe(r.audioPath)
    expect(info.tags).toMatchObject({ title: 'Test article', artist: 'example.com', album: 'briefcast' })
    expect(info.chapters.map((c) => c.title)).toEqual(['Test article', 'A quiet part', 'The end'])
    const cues = parseVtt(await fs.readFile(r.vttPath, 'utf8'))
    expect(cues.map((c) => c.text)).toContain('Back to normal & <plain> text, with characters VTT must escape.')
    expect(await fs.readFile(r.vttPath, 'utf8')).toContain('&amp; &lt;plain&gt;')
  })

  it('streams pieces in script order whose bytes concatenate to the episode audio', async () => {
    const { dir, config } = await fresh('order')
    // Random synthesis delays: pieces finish out of order but must be emitted in order.
    const speech = toneSpeech(dir, { delayMs: 0 })
    const inner = speech.synthesizeSegment.bind(speech)
    speech.synthesizeSegment = async (s, p, signal) => {
      await new Promise((r) => setTimeout(r, (s.text.length * 7) % 60))
      return inner(s, p, signal)
    }
    const pieces: EncodedPiece[] = []
    const r = await renderEpisode(article(), testProfile, { speech, ffmpeg, config }, { onPiece: (p) => pieces.push(p) })
    expect(pieces.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6])
    const stream = path.join(dir, 'stream.mp3')
    await fs.writeFile(stream, Buffer.concat(await Promise.all(pieces.map((p) => fs.readFile(p.path)))))
    const s = await ffmpeg.probe(stream)
    expect(s.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 1 })
    expect(Math.abs(s.durationMs - r.durationMs)).toBeLessThan(60)
    expect(r.timings.map((t) => t.endMs)).toEqual(
      pieces.map((_, i) => Math.round(pieces.slice(0, i + 1).reduce((n, p) => n + p.durationMs, 0))),
    )
  })

  it('re-renders after an edit by encoding only the changed segment', async () => {
    const { config, speech } = await fresh('rerender')
    const script = article()
    const first = await renderEpisode(script, testProfile, { speech, ffmpeg, config })
    expect(first.stats).toMatchObject({ segments: 7, synthesized: 7, cached: 0, encoded: 7 })
    const edited: Script = { ...script, segments: script.segments.map((s, i) => (i === 4 ? seg('paragraph', 'Back to normal text, now edited.', 1) : s)) }
    const second = await renderEpisode(edited, testProfile, { speech, ffmpeg, config })
    expect(second.stats).toMatchObject({ synthesized: 1, cached: 6, encoded: 1 })
    expect(second.hash).not.toBe(first.hash)
    const again = await renderEpisode(edited, testProfile, { speech, ffmpeg, config })
    expect(again.stats.encoded).toBe(0)
    expect(again.hash).toBe(second.hash)
    expect(again.loudness).toEqual(second.loudness)
  })

  it('encodes a paragraph that repeats in the script once and uses it at each place', async () => {
    const { config, speech } = await fresh('repeat')
    const script: Script = {
      ...article(),
      segments: [seg('title', 'Repeats', 0), seg('paragraph', 'Subscribe to our newsletter.', 0), seg('paragraph', 'Some news.', 0), seg('paragraph', 'Subscribe to our newsletter.', 0)],
    }
    const pieces: EncodedPiece[] = []
    const r = await renderEpisode(script, testProfile, { speech, ffmpeg, config }, { onPiece: (p) => pieces.push(p) })
    expect(r.stats.encoded).toBe(3)
    expect(pieces.map((p) => p.index)).toEqual([0, 1, 2, 3])
    expect(pieces[3]!.path).toBe(pieces[1]!.path)
    expect(Math.abs(r.timings[3]!.endMs - r.timings[3]!.startMs - (r.timings[1]!.endMs - r.timings[1]!.startMs))).toBeLessThanOrEqual(1)
  })

  it('adds intro and outro jingles as pieces, normalized like speech', async () => {
    const { dir, config, speech } = await fresh('jingles')
    execFileSync(ffmpeg.paths.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=660:d=1.5', '-af', 'volume=-12dB', '-c:a', 'libmp3lame', path.join(dir, 'voices', 'intro.mp3')])
    execFileSync(ffmpeg.paths.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=440:d=1:sample_rate=48000', '-ac', '2', path.join(dir, 'voices', 'outro.wav')])
    const profile: VoiceProfile = { ...testProfile, intro: 'intro.mp3', outro: 'outro.wav' }
    const pieces: EncodedPiece[] = []
    const r = await renderEpisode(article(), profile, { speech, ffmpeg, config }, { onPiece: (p) => pieces.push(p) })
    expect(pieces).toHaveLength(9)
    expect(pieces[0]!.durationMs).toBeGreaterThan(1500)
    const intro = await ffmpeg.measureLoudness(pieces[0]!.path)
    expect(Math.abs(intro.integratedLufs + 16)).toBeLessThan(1.5)
    expect(r.timings[0]!.startMs).toBeCloseTo(pieces[0]!.durationMs, -1)
    expect(r.chapters[0]!.startMs).toBe(0)
    expect(r.chapters[r.chapters.length - 1]!.endMs).toBe(r.durationMs)
  })

  it('rejects a jingle that is not audio with INVALID_AUDIO and leaves nothing behind', async () => {
    const { dir, config, speech } = await fresh('badjingle')
    await fs.writeFile(path.join(dir, 'voices', 'intro.mp3'), '<html>not audio</html>\n'.repeat(40))
    const err = await rejection(renderEpisode(article(), { ...testProfile, intro: 'intro.mp3' }, { speech, ffmpeg, config }))
    expect(err.code).toBe('INVALID_AUDIO')
    expect(err.message).toMatch(/intro jingle/)
    expect(existsSync(path.join(dir, 'episodes')) ? readdirSync(path.join(dir, 'episodes')) : []).toEqual([])
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([])
  })

  it('rejects a clip ffmpeg cannot read with INVALID_AUDIO', async () => {
    const { dir, config, speech } = await fresh('badclip')
    const inner = speech.synthesizeSegment.bind(speech)
    speech.synthesizeSegment = async (s, p, signal) => {
      const clip = await inner(s, p, signal)
      if (s.kind !== 'quote') return clip
      const broken = path.join(dir, 'broken.wav')
      await fs.writeFile(broken, 'RIFF0000WAVEjunkjunkjunk')
      return { ...clip, key: 'broken', wavPath: broken }
    }
    const err = await rejection(renderEpisode(article(), testProfile, { speech, ffmpeg, config }))
    expect(err.code).toBe('INVALID_AUDIO')
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([])
    expect(existsSync(path.join(dir, 'episodes')) ? readdirSync(path.join(dir, 'episodes')) : []).toEqual([])
  })

  it('cleans up and kills its ffmpeg processes when aborted', async () => {
    const { dir, config } = await fresh('abort')
    const speech = toneSpeech(dir, { delayMs: 150 })
    const controller = new AbortController()
    let seen = 0
    const p = renderEpisode(article(), testProfile, { speech, ffmpeg, config }, {
      signal: controller.signal,
      onPiece: () => {
        if (++seen === 2) controller.abort()
      },
    })
    const err = await rejection(p)
    expect(err.code).toBe('ABORTED')
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([])
    expect(existsSync(path.join(dir, 'episodes')) ? readdirSync(path.join(dir, 'episodes')) : []).toEqual([])
  })

  it('writes M4A (AAC) with chapters when asked', async () => {
    const { config, speech } = await fresh('m4a')
    const r = await renderEpisode(article(), testProfile, { speech, ffmpeg, config }, { format: 'm4a' })
    expect(r.audioPath.endsWith('.m4a')).toBe(true)
    expect(r.mimeType).toBe('audio/mp4')
    const info = await ffmpeg.probe(r.audioPath)
    expect(info.formatName).toMatch(/mp4|m4a/)
    expect(info.audio).toMatchObject({ codec: 'aac', sampleRate: 44100, channels: 1 })
    expect(info.chapters).toHaveLength(3)
    expect(Math.abs(info.durationMs - r.durationMs)).toBeLessThan(100)
  })

  it('embeds cover art, and rejects a cover that is not an image', async () => {
    const { dir, config, speech } = await fresh('cover')
    const cover = path.join(dir, 'cover.png')
    execFileSync(ffmpeg.paths.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', cover])
    const r = await renderEpisode(article(), testProfile, { speech, ffmpeg, config }, { metadata: { coverPath: cover, date: '2026-11-26' } })
    const info = await ffmpeg.probe(r.audioPath)
    expect(info.hasVideo).toBe(true)
    expect(info.tags.date).toBe('2026-11-26')
    const bad = path.join(dir, 'bad.png')
    await fs.writeFile(bad, 'nope')
    const err = await rejection(renderEpisode(article(), testProfile, { speech, ffmpeg, config }, { metadata: { coverPath: bad } }))
    expect(err.code, err.message).toBe('INVALID_IMAGE')
  })

  it('makes one chapter per story in a briefing', async () => {
    const { config, speech } = await fresh('briefing')
    const script: Script = {
      title: 'Morning briefing',
      language: 'en',
      sourceHash: 'b',
      segments: [
        seg('title', 'Your morning briefing.', 0, { voiceRole: 'host' }),
        seg('heading', 'First story title', 1, { storyIndex: 0 }),
        seg('paragraph', 'The first story in brief.', 1, { storyIndex: 0 }),
        seg('paragraph', 'Next up, something else.', 2, { storyIndex: 1, voiceRole: 'host' }),
        seg('heading', 'Second story title', 2, { storyIndex: 1 }),
        seg('paragraph', 'The second story in brief.', 2, { storyIndex: 1 }),
      ],
    }
    const r = await renderEpisode(script, testProfile, { speech, ffmpeg, config })
    expect(r.chapters.map((c) => c.title)).toEqual(['Morning briefing', 'First story title', 'Second story title'])
    expect(r.chapters[1]!.startMs).toBe(r.timings[1]!.startMs)
    expect(r.chapters[2]!.startMs).toBe(r.timings[3]!.startMs)
  })
})
