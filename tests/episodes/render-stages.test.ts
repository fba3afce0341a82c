/**
 * The render's stages one at a time (src/episodes/render-plan.ts, render-level.ts, render-encode.ts,
 * render-assemble.ts), each with real parts: the loudness worker, the LAME encoder threads, the file
 * system, ffmpeg for the jingle. The whole render is tests/episodes/render*.test.ts.
 */
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg, ENCODER_DELAY, SAMPLE_RATE, SAMPLES_PER_FRAME, type Ffmpeg } from '../../src/audio/ffmpeg.ts'
import { createLoudnessMeter, type LoudnessMeter } from '../../src/audio/loudness-meter.ts'
import { readMp3Frames } from '../../src/audio/mp3.ts'
import { createMp3Encoder, type Mp3Encoder } from '../../src/audio/mp3-encoder.ts'
import { createRunDir, type RunDir } from '../../src/audio/tempdir.ts'
import { AppError } from '../../src/errors.ts'
import { assembleEpisode, buildTimeline, episodeTags, type AssemblyPiece } from '../../src/episodes/render-assemble.ts'
import { encodeJinglePiece, encodeParts, encodeSpeechPiece, PieceStore, semaphore, type SpeechPieceJob } from '../../src/episodes/render-encode.ts'
import { LIMITER_BIAS_LU, levelClip } from '../../src/episodes/render-level.ts'
import { encoderSettingsOf, FRAME_MARGIN, frameAlignedLength, jinglePieceKey, planItems, speechPieceKey, type Item } from '../../src/episodes/render-plan.ts'
import type { Script } from '../../src/script/types.ts'
import { seg, speechLike, tempDir, testConfig, testProfile, wavBytes } from '../audio/helpers.ts'

let root: string
let meter: LoudnessMeter
let encoder: Mp3Encoder
let ffmpeg: Ffmpeg
let run: RunDir
const config = () => testConfig(root)

/** A clip of `parts` speech bursts of `seconds` each, with 0.6 s of silence between them. */
async function clipFile(name: string, seconds: number, amplitude: number, parts = 1): Promise<string> {
  const rate = 22050
  const gap = new Float32Array(Math.round(0.6 * rate))
  const chunks: Float32Array[] = []
  for (let k = 0; k < parts; k++) chunks.push(...(k ? [gap] : []), speechLike(seconds, rate, amplitude, 11 + k))
  const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0))
  let o = 0
  for (const c of chunks) {
    all.set(c, o)
    o += c.length
  }
  const file = path.join(root, name)
  await fs.writeFile(file, wavBytes(all, rate))
  return file
}

function speechJob(index: number, clipWav: string, o: Partial<SpeechPieceJob> = {}): SpeechPieceJob {
  const { targetLufs, truePeakDb, bitrateKbps } = config().audio
  return {
    meter,
    encoder,
    slot: semaphore(2),
    run,
    index,
    segmentId: `s${index}`,
    clipWav,
    pauseAfterMs: 450,
    targetLufs,
    truePeakDb,
    limitDb: truePeakDb - 1.3,
    bitrateKbps,
    signal: new AbortController().signal,
    ...o,
  }
}

beforeAll(async () => {
  root = await tempDir('briefcast-stages-')
  meter = createLoudnessMeter()
  encoder = createMp3Encoder({ threads: 2 })
  ffmpeg = await createFfmpeg()
  run = await createRunDir(root)
})
afterAll(async () => {
  await run.remove()
  await Promise.all([meter.close(), encoder.close()])
  await fs.rm(root, { recursive: true, force: true })
})

describe('stage 1: plan the pieces', () => {
  it('puts the intro, every segment and the outro in order, jingles resolved in the voices dir', () => {
    const script: Script = { title: 't', language: 'en', sourceHash: 'x', segments: [seg('title', 'A title.', 0), seg('paragraph', 'A paragraph.', 0)] }
    const items = planItems(script, { ...testProfile, intro: 'in.mp3', outro: '/abs/out.mp3' }, config())
    expect(items.map((i) => (i.kind === 'segment' ? i.segment.id : i.which))).toEqual(['intro', script.segments[0]!.id, script.segments[1]!.id, 'outro'])
    expect(items[0]).toMatchObject({ kind: 'jingle', file: path.join(config().voicesDir, 'in.mp3') })
    expect(items[3]).toMatchObject({ kind: 'jingle', file: '/abs/out.mp3' })
    expect(planItems(script, testProfile, config()).map((i) => i.kind)).toEqual(['segment', 'segment'])
  })

  it('sizes every piece to whole frames with room for the encoder delay, as near the pause as frames allow', () => {
    for (const [content, pause] of [
      [1000, 0],
      [44100, 19845],
      [441000, 13230],
      [5000, 200000],
    ] as const) {
      const n = frameAlignedLength(content, pause)
      expect((n + ENCODER_DELAY + FRAME_MARGIN) % SAMPLES_PER_FRAME).toBe(0)
      expect(n).toBeGreaterThanOrEqual(content)
      const total = n + ENCODER_DELAY + FRAME_MARGIN
      expect(total).toBeLessThanOrEqual(Math.max(content + pause + SAMPLES_PER_FRAME / 2, content + ENCODER_DELAY + FRAME_MARGIN + SAMPLES_PER_FRAME))
    }
  })

  it('keys a piece by everything that changes its bytes', () => {
    const settings = encoderSettingsOf(config().audio)
    expect(settings).toContain(`${config().audio.bitrateKbps}k`)
    const k = speechPieceKey('clip', 450, settings)
    expect(speechPieceKey('clip', 450, settings)).toBe(k)
    expect(speechPieceKey('clip', 451, settings)).not.toBe(k)
    expect(speechPieceKey('clip2', 450, settings)).not.toBe(k)
    expect(speechPieceKey('clip', 450, encoderSettingsOf({ ...config().audio, bitrateKbps: 96 }))).not.toBe(k)
    const stat = { size: 10, mtimeMs: 1 }
    expect(jinglePieceKey('intro', '/j.mp3', stat, settings)).not.toBe(jinglePieceKey('outro', '/j.mp3', stat, settings))
    expect(jinglePieceKey('intro', '/j.mp3', stat, settings)).not.toBe(jinglePieceKey('intro', '/j.mp3', { ...stat, mtimeMs: 2 }, settings))
  })
})

describe('stage 2: level', () => {
  it('writes the clip at the target plus the bias MP3 coding takes off, whatever its level', async () => {
    const target = config().audio.targetLufs
    for (const [name, amplitude] of [
      ['quiet.wav', 0.08],
      ['loud.wav', 0.9],
    ] as const) {
      const clip = await clipFile(name, 3, amplitude)
      const out = run.file(`leveled-${name}`)
      const r = await levelClip(meter, { wavPath: clip, segmentId: 'x', targetLufs: target, ceilingDb: -2.3, padMs: 400, output: out, parts: 1 })
      expect(r.starts).toEqual([0])
      const before = await meter.measure(clip)
      expect(r.content).toBe(Math.round((before.samples * SAMPLE_RATE) / before.sampleRate))
      const after = await meter.measure(out)
      expect(after.integratedLufs).toBeGreaterThan(target + LIMITER_BIAS_LU - 0.5)
      expect(after.integratedLufs).toBeLessThan(target + LIMITER_BIAS_LU + 0.5)
      expect(after.samplePeakDb).toBeLessThanOrEqual(-2.3 + 0.05)
    }
  })

  it('cuts a long clip into parts on frame boundaries inside its pauses', async () => {
    const clip = await clipFile('long.wav', 4, 0.3, 4)
    const r = await levelClip(meter, { wavPath: clip, segmentId: 'x', targetLufs: -16, ceilingDb: -2.3, padMs: 400, output: run.file('long-leveled.wav'), parts: 3 })
    expect(r.starts.length).toBe(3)
    expect(r.starts[0]).toBe(0)
    for (let k = 1; k < r.starts.length; k++) {
      expect(r.starts[k]! % SAMPLES_PER_FRAME).toBe(0)
      expect(r.starts[k]!).toBeGreaterThan(r.starts[k - 1]!)
      expect(r.starts[k]!).toBeLessThan(r.content)
    }
  })

  it('names the segment of an unreadable clip (INVALID_AUDIO)', async () => {
    const bad = path.join(root, 'bad.wav')
    await fs.writeFile(bad, 'not a wav file at all')
    const err = await levelClip(meter, { wavPath: bad, segmentId: 'seg-42', targetLufs: -16, ceilingDb: -2.3, padMs: 0, output: run.file('bad-out.wav'), parts: 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AppError)
    expect((err as AppError).code).toBe('INVALID_AUDIO')
    expect((err as AppError).message).toContain('seg-42')
  })
})

describe('stage 3: encode and measure', () => {
  it('bounds concurrent jobs and reports idle slots', async () => {
    const slot = semaphore(2)
    let active = 0
    let most = 0
    const idleSeen: number[] = []
    await Promise.all(
      Array.from({ length: 6 }, () =>
        slot(async () => {
          active++
          most = Math.max(most, active)
          idleSeen.push(slot.idle())
          await new Promise((r) => setTimeout(r, 5))
          active--
        }),
      ),
    )
    expect(most).toBe(2)
    expect(Math.max(...idleSeen)).toBeLessThanOrEqual(1)
    expect(slot.idle()).toBe(2)
  })

  it('encodes a speech piece of exactly the planned frames, at the target, its true peak under the limit', async () => {
    const clip = await clipFile('piece.wav', 5, 0.5)
    const out = run.file('piece.mp3')
    const span = await encodeSpeechPiece(speechJob(1, clip), out)
    const clipInfo = await meter.measure(clip)
    const content = Math.round((clipInfo.samples * SAMPLE_RATE) / clipInfo.sampleRate)
    expect(span).toMatchObject({ speechStart: ENCODER_DELAY, speechEnd: ENCODER_DELAY + content })
    const frames = await readMp3Frames(out)
    expect(frames!.samples).toBe(frameAlignedLength(content, Math.round(0.45 * SAMPLE_RATE)) + ENCODER_DELAY + FRAME_MARGIN)
    const { targetLufs, truePeakDb } = config().audio
    expect(Math.abs(span.loudness!.integratedLufs - targetLufs)).toBeLessThan(0.5)
    expect(span.loudness!.truePeakDb).toBeLessThanOrEqual(truePeakDb)
    // The measurement is the encoded file's own: measuring it again gives the same figures.
    expect(await meter.measureMp3(out)).toEqual(span.loudness)
    await expect(fs.access(run.file('piece-1.wav'))).rejects.toThrow() // the leveled clip is gone
  })

  it('encodes parts that join to the same length and loudness as the whole piece', async () => {
    const clip = await clipFile('parts.wav', 4, 0.3, 4)
    const leveled = run.file('parts-leveled.wav')
    const whole = await levelClip(meter, { wavPath: clip, segmentId: 'x', targetLufs: -16, ceilingDb: -2.3, padMs: 400, output: leveled, parts: 1 })
    const split = await levelClip(meter, { wavPath: clip, segmentId: 'x', targetLufs: -16, ceilingDb: -2.3, padMs: 400, output: leveled, parts: 3 })
    expect(split.starts.length).toBe(3)
    const common = { encoder, slot: semaphore(3), leveled, content: whole.content, pauseSamples: 17640, bitrateKbps: 64, signal: new AbortController().signal }
    await encodeParts({ ...common, output: run.file('whole.mp3'), starts: whole.starts, partFile: (k) => run.file(`w-${k}.mp3`) })
    await encodeParts({ ...common, output: run.file('split.mp3'), starts: split.starts, partFile: (k) => run.file(`s-${k}.mp3`) })
    const [a, b] = await Promise.all([readMp3Frames(run.file('whole.mp3')), readMp3Frames(run.file('split.mp3'))])
    expect(b!.samples).toBe(a!.samples)
    const [la, lb] = await Promise.all([meter.measureMp3(run.file('whole.mp3')), meter.measureMp3(run.file('split.mp3'))])
    expect(Math.abs(la.integratedLufs - lb.integratedLufs)).toBeLessThan(0.1)
    await expect(fs.access(run.file('s-1.mp3'))).rejects.toThrow() // the parts are gone
  })

  it('encodes a jingle through ffmpeg, gained to the target, whole frames', async () => {
    const jingle = path.join(root, 'jingle.mp3')
    execFileSync(ffmpeg.paths.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=660:d=1.5', '-af', 'volume=-20dB', '-c:a', 'libmp3lame', jingle])
    const out = run.file('jingle.mp3')
    const { targetLufs, truePeakDb, bitrateKbps } = config().audio
    const span = await encodeJinglePiece({ ffmpeg, slot: semaphore(1), file: jingle, which: 'intro', gapSamples: 17640, targetLufs, limitDb: truePeakDb - 1.3, bitrateKbps, signal: new AbortController().signal }, out)
    expect(span.parts).toBe(1)
    const frames = await readMp3Frames(out)
    expect(frames!.samples % SAMPLES_PER_FRAME).toBe(0)
    expect(frames!.samples).toBeGreaterThanOrEqual(span.speechEnd - ENCODER_DELAY + 17640 - SAMPLES_PER_FRAME / 2)
    expect(Math.abs((await ffmpeg.measureLoudness(out)).integratedLufs - targetLufs)).toBeLessThan(1)
  })

  it('encodes a piece once per key, and reuses it and its measured loudness from the cache in a later render', async () => {
    const clip = await clipFile('cached.wav', 2, 0.3)
    const piecesDir = path.join(root, 'pieces')
    await fs.mkdir(piecesDir, { recursive: true })
    let encodes = 0
    const encode = (tmp: string) => {
      encodes++
      return encodeSpeechPiece(speechJob(7, clip), tmp)
    }
    const speech = (samples: number) => ({ speechStart: ENCODER_DELAY, speechEnd: samples })
    const store = new PieceStore({ piecesDir, run, meter, slot: semaphore(2) })
    const [p1, p2] = await Promise.all([store.ensure(1, 'key-a', encode, speech), store.ensure(5, 'key-a', encode, speech)])
    expect(encodes).toBe(1)
    expect([p1.index, p2.index]).toEqual([1, 5])
    expect(p1).toMatchObject({ encoded: true, path: path.join(piecesDir, 'key-a.mp3') })
    expect(store.encoded).toBe(1)
    const first = await p1.loudness
    await store.settle()
    expect(JSON.parse(await fs.readFile(store.sidecarOf('key-a'), 'utf8'))).toEqual(first)

    // A later render: the piece and its sidecar are reused, nothing is encoded or measured again.
    const later = new PieceStore({ piecesDir, run, meter, slot: semaphore(2) })
    const p3 = await later.ensure(2, 'key-a', encode, speech)
    expect(encodes).toBe(1)
    expect(p3).toMatchObject({ encoded: false, samples: p1.samples, speechEnd: p1.samples })
    expect(await p3.loudness).toEqual(first)
    // Without the sidecar, the cached piece is measured again (and gets the same figures).
    await fs.rm(later.sidecarOf('key-a'))
    const p4 = await new PieceStore({ piecesDir, run, meter, slot: semaphore(2) }).ensure(2, 'key-a', encode, speech)
    expect(await p4.loudness).toEqual(first)
    expect(encodes).toBe(1)
  })
})

describe('stage 4: assemble', () => {
  const loud = Promise.resolve({ integratedLufs: -16, truePeakDb: -2 })
  const piece = (samples: number, key = 'k'): AssemblyPiece => ({ path: '', key, samples, speechStart: ENCODER_DELAY, speechEnd: samples - 1000, loudness: loud })

  it('times every segment from the pieces, covering the file from 0 to its end', () => {
    const s = [seg('title', 'One. Two.', 0), seg('paragraph', 'Three four five.', 1)]
    const items: Item[] = s.map((segment, segmentIndex) => ({ kind: 'segment', segment, segmentIndex }))
    const t = buildTimeline(items, [piece(44100), piece(88200)])
    expect(t.durationMs).toBe(3000)
    expect(t.timings.map((x) => [x.startMs, x.endMs])).toEqual([
      [0, 1000],
      [1000, 3000],
    ])
    expect(t.timed[1]!.speechStartMs).toBeCloseTo(1000 + (ENCODER_DELAY * 1000) / SAMPLE_RATE, 6)
    // With an intro, the first segment starts after it; the timeline still ends with the file.
    const withIntro = buildTimeline([{ kind: 'jingle', which: 'intro', file: 'x' }, ...items], [piece(22050), piece(44100), piece(88200)])
    expect(withIntro.timings[0]!.startMs).toBe(500)
    expect(withIntro.timings[1]!.endMs).toBe(withIntro.durationMs)
  })

  it('tags from the metadata first, then the script, then the show', () => {
    const script: Script = { title: 'T', language: 'en', sourceHash: 'x', url: 'https://www.news.example/a', segments: [] }
    expect(episodeTags(script, config(), {})).toMatchObject({ title: 'T', artist: 'news.example', album: config().show.title, language: 'en', genre: 'Podcast' })
    expect(episodeTags(script, config(), { title: 'M', artist: 'A' })).toMatchObject({ title: 'M', artist: 'A' })
  })

  it('joins real pieces into the episode with its sidecars, and reuses an episode already there', async () => {
    const cfg = config()
    const script: Script = { title: 'Assembled', language: 'en', sourceHash: 'x', segments: [seg('title', 'Assembled.', 0), seg('paragraph', 'Body text.', 0)] }
    const items = planItems(script, testProfile, cfg)
    const pieces: AssemblyPiece[] = []
    for (const [k, seconds] of [1.5, 2.5].entries()) {
      const out = run.file(`asm-${k}.mp3`)
      const span = await encodeSpeechPiece(speechJob(20 + k, await clipFile(`asm-${k}.wav`, seconds, 0.3)), out)
      const frames = await readMp3Frames(out)
      pieces.push({ path: out, key: `asm-${k}`, samples: frames!.samples, speechStart: span.speechStart, speechEnd: span.speechEnd, loudness: Promise.resolve(span.loudness!) })
    }
    const request = { script, items, pieces, format: 'mp3' as const, config: cfg, ffmpeg, run, encoderSettings: encoderSettingsOf(cfg.audio), metadata: {}, slot: semaphore(1), signal: new AbortController().signal }
    const a = await assembleEpisode(request)
    const frames = await readMp3Frames(a.audioPath)
    // The pieces' frames plus the Info frame at the start.
    expect(frames!.samples).toBe(pieces[0]!.samples + pieces[1]!.samples + SAMPLES_PER_FRAME)
    expect(a.durationMs).toBe(Math.round(((pieces[0]!.samples + pieces[1]!.samples) * 1000) / SAMPLE_RATE))
    expect(Math.abs(a.loudness.integratedLufs - cfg.audio.targetLufs)).toBeLessThan(0.5)
    expect(a.chapters).toEqual([{ title: 'Assembled', startMs: 0, endMs: a.durationMs }])
    expect(await fs.readFile(a.vttPath, 'utf8')).toContain('Body text.')
    expect(JSON.parse(await fs.readFile(a.chaptersPath, 'utf8'))).toBeTruthy()
    const mtime = (await fs.stat(a.audioPath)).mtimeMs
    const b = await assembleEpisode(request)
    expect(b.hash).toBe(a.hash)
    expect(b.loudness).toEqual(a.loudness)
    expect((await fs.stat(b.audioPath)).mtimeMs).toBe(mtime)
    // Other tags: another episode.
    expect((await assembleEpisode({ ...request, metadata: { title: 'Other' } })).hash).not.toBe(a.hash)
  })
})
