/**
 * The JS episode join (ID3v2.3 + Info frame + pieces), checked with real
 * ffmpeg/ffprobe: what they read back is what was written.
 */
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg, SAMPLES_PER_FRAME, type Ffmpeg } from '../../src/audio/ffmpeg.ts'
import { buildId3v23 } from '../../src/audio/id3.ts'
import { countMp3Frames } from '../../src/audio/mp3.ts'
import { infoFrame, joinMp3 } from '../../src/audio/mp3-join.ts'
import { AppError } from '../../src/errors.ts'
import { speechLike, tempDir, wavBytes } from './helpers.ts'

let dir: string
let ffmpeg: Ffmpeg
const pieces: { path: string; frames: number }[] = []

beforeAll(async () => {
  dir = await tempDir('briefcast-join-')
  ffmpeg = await createFfmpeg()
  for (const [i, seconds] of [1.3, 2.1, 0.7].entries()) {
    const wav = path.join(dir, `clip-${i}.wav`)
    await fs.writeFile(wav, wavBytes(speechLike(seconds, 22050, 0.3, i + 1), 22050))
    const out = path.join(dir, `piece-${i}.mp3`)
    const total = Math.ceil((seconds * 44100 + 2000) / SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME - 1105 - 64
    await ffmpeg.encodePiece({ input: wav, output: out, gainDb: 0, totalSamples: total, bitrateKbps: 64 })
    pieces.push({ path: out, frames: countMp3Frames(await fs.readFile(out))!.frames })
  }
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

describe('joinMp3', () => {
  it('writes tags, chapters and an Info frame that ffprobe reads back, and the audio of every piece', async () => {
    const output = path.join(dir, 'episode.mp3')
    const chapters = [
      { title: 'Opening', startMs: 0, endMs: 1500 },
      { title: 'Zürich – 東京 "quotes"', startMs: 1500, endMs: 3000 },
      { title: 'The end', startMs: 3000, endMs: 4200 },
    ]
    await joinMp3({
      pieces,
      output,
      tags: { title: 'Grüße aus Köln – 東京', artist: 'example.com', album: 'briefcast', date: '2026-11-26', comment: 'A comment', language: 'de', genre: 'Podcast' },
      chapters,
      signal: new AbortController().signal,
    })
    const info = await ffmpeg.probe(output)
    expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 1 })
    expect(info.tags).toMatchObject({ title: 'Grüße aus Köln – 東京', artist: 'example.com', album: 'briefcast', date: '2026-11-26', comment: 'A comment', genre: 'Podcast' })
    expect(info.chapters.map((c) => c.title)).toEqual(chapters.map((c) => c.title))
    expect(info.chapters.map((c) => Math.round(c.startMs))).toEqual([0, 1500, 3000])
    // Duration from the Info frame's frame count: the pieces' frames, not one more (the Info frame is not audio).
    const frames = pieces.reduce((n, p) => n + p.frames, 0)
    expect(Math.abs(info.durationMs - (frames * SAMPLES_PER_FRAME * 1000) / 44100)).toBeLessThan(30)
    // The audio after the tag and the Info frame is exactly the pieces' bytes.
    const bytes = await fs.readFile(output)
    const body = Buffer.concat(await Promise.all(pieces.map((p) => fs.readFile(p.path))))
    expect(bytes.subarray(bytes.length - body.length).equals(body)).toBe(true)
    // ffmpeg decodes the whole file without an error.
    execFileSync(ffmpeg.paths.ffmpegPath, ['-hide_banner', '-v', 'error', '-xerror', '-i', output, '-f', 'null', '-'])
  })

  it('joins pieces of every bitrate briefcast accepts, down to 32 kbps (frames too small for a seek table)', async () => {
    for (const kbps of [32, 40, 48, 128]) {
      const wav = path.join(dir, `clip-${kbps}.wav`)
      await fs.writeFile(wav, wavBytes(speechLike(1.5, 22050, 0.3, kbps), 22050))
      const piece = path.join(dir, `piece-${kbps}.mp3`)
      await ffmpeg.encodePiece({ input: wav, output: piece, gainDb: 0, totalSamples: 80 * SAMPLES_PER_FRAME - 1169, bitrateKbps: kbps })
      const frames = countMp3Frames(await fs.readFile(piece))!.frames
      const output = path.join(dir, `joined-${kbps}.mp3`)
      await joinMp3({ pieces: [{ path: piece, frames }, { path: piece, frames }], output, tags: { title: `${kbps} kbps` }, chapters: [{ title: 'All', startMs: 0, endMs: 3000 }] })
      const info = await ffmpeg.probe(output)
      expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100 })
      expect(Math.abs(info.durationMs - (2 * frames * SAMPLES_PER_FRAME * 1000) / 44100)).toBeLessThan(30)
      expect(info.tags.title).toBe(`${kbps} kbps`)
    }
  })

  it('embeds cover art as an attached picture', async () => {
    const cover = path.join(dir, 'cover.png')
    execFileSync(ffmpeg.paths.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=blue:s=32x32', '-frames:v', '1', cover])
    const output = path.join(dir, 'covered.mp3')
    await joinMp3({ pieces, output, tags: { title: 'With cover' }, chapters: [], cover: { mime: 'image/png', data: await fs.readFile(cover) } })
    const info = await ffmpeg.probe(output)
    expect(info.hasVideo).toBe(true)
    expect(info.video).toMatchObject({ codec: 'png', width: 32, height: 32 })
    expect(info.tags.title).toBe('With cover')
  })

  it('stops when aborted and says when a piece is not MP3', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(joinMp3({ pieces, output: path.join(dir, 'aborted.mp3'), tags: {}, chapters: [], signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' })
    expect(() => infoFrame(Buffer.from('ID3\x03'), 1, 100)).toThrow(AppError)
    await expect(joinMp3({ pieces: [], output: path.join(dir, 'none.mp3'), tags: {}, chapters: [] })).rejects.toBeInstanceOf(AppError)
  })

  it('writes ID3v2.3 with a syncsafe size and text in Latin-1 or UTF-16', () => {
    const tag = buildId3v23({ title: 'Café', artist: 'Łódź' })
    expect(tag.subarray(0, 5).toString('latin1')).toBe('ID3\x03\x00')
    const size = (tag[6]! << 21) | (tag[7]! << 14) | (tag[8]! << 7) | tag[9]!
    expect(size).toBe(tag.length - 10)
    for (const b of tag.subarray(6, 10)) expect(b & 0x80).toBe(0)
    // TIT2 fits Latin-1 (encoding 0); TPE1 does not (encoding 1, UTF-16 with a BOM).
    const tit2 = tag.indexOf('TIT2')
    expect(tag[tit2 + 10]).toBe(0)
    expect(tag.subarray(tit2 + 11, tit2 + 15).toString('latin1')).toBe('Café')
    const tpe1 = tag.indexOf('TPE1')
    expect([tag[tpe1 + 10], tag[tpe1 + 11], tag[tpe1 + 12]]).toEqual([1, 0xff, 0xfe])
  })
})
