/**
 * Acceptance: the plain-text news page rendered with the real espeak-ng
 * service and real ffmpeg, checked with ffprobe and ebur128.
 */
import { promises as fs, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg, type Ffmpeg } from '../../src/audio/ffmpeg.ts'
import { parseVtt } from '../../src/audio/transcript.ts'
import { renderEpisode } from '../../src/episodes/render.ts'
import type { EncodedPiece, EpisodeResult } from '../../src/episodes/types.ts'
import { articleToScript } from '../../src/script/index.ts'
import type { Script } from '../../src/script/types.ts'
import { createSpeechService } from '../../src/tts/index.ts'
import type { CachedClip, SpeechService, VoiceProfile } from '../../src/tts/types.ts'
import { tempDir, testConfig } from '../audio/helpers.ts'

const fixture = path.resolve('tests/fixtures/plain/lenovo-nvidia-ai-factories.txt')

describe('renderEpisode with espeak-ng (acceptance)', () => {
  let dir: string
  let ffmpeg: Ffmpeg
  let speech: SpeechService
  let profile: VoiceProfile
  let script: Script
  let result: EpisodeResult
  const clips = new Map<number, CachedClip>()
  const pieces: EncodedPiece[] = []

  beforeAll(async () => {
    dir = await tempDir()
    await fs.mkdir(path.join(dir, 'voices'), { recursive: true })
    await fs.writeFile(path.join(dir, 'voices', 'default.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en-US', voices: { body: { language: 'en-US' } } }))
    const config = testConfig(dir)
    ffmpeg = await createFfmpeg(config)
    const real = await createSpeechService(config)
    profile = real.getProfile('default')
    const limits = real.limitsFor(profile)
    script = articleToScript({ content: readFileSync(fixture), format: 'text' }, { targetChars: limits.targetChars, maxBytes: limits.maxBytes, pauses: profile.pauses })
    // Record every clip so the duration can be checked against clips + pauses.
    speech = {
      ...real,
      synthesizeSegment: async (segment, p, signal) => {
        const clip = await real.synthesizeSegment(segment, p, signal)
        clips.set(script.segments.indexOf(segment), clip)
        return clip
      },
      close: () => real.close(),
    }
    result = await renderEpisode(script, profile, { speech, ffmpeg, config }, { onPiece: (p) => pieces.push(p) })
  }, 600_000)

  afterAll(async () => {
    await speech?.close()
    if (dir) await fs.rm(dir, { recursive: true, force: true })
  })

  it('is an MP3 at 44.1 kHz mono whose length is the clips plus pauses', async () => {
    const info = await ffmpeg.probe(result.audioPath)
    expect(info.formatName).toBe('mp3')
    expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 1 })
    const expected = script.segments.reduce((sum, s, i) => sum + clips.get(i)!.durationMs + s.pauseAfterMs, 0)
    expect(Math.abs(info.durationMs - expected) / expected).toBeLessThan(0.02)
    expect(Math.abs(result.durationMs - info.durationMs)).toBeLessThan(100)
  })

  it('is at -16 LUFS +/- 1 with true peak <= -1 dBTP (ebur128)', async () => {
    const l = await ffmpeg.measureLoudness(result.audioPath)
    expect(l.integratedLufs).toBeGreaterThanOrEqual(-17)
    expect(l.integratedLufs).toBeLessThanOrEqual(-15)
    expect(l.truePeakDb).toBeLessThanOrEqual(-1)
    // The loudness the render reports (combined from its measured pieces) is the file's.
    expect(Math.abs(result.loudness.integratedLufs - l.integratedLufs)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(result.loudness.truePeakDb - l.truePeakDb)).toBeLessThanOrEqual(0.5)
  })

  it('has chapters in the file and in the JSON', async () => {
    const info = await ffmpeg.probe(result.audioPath)
    const json = JSON.parse(await fs.readFile(result.chaptersPath, 'utf8')) as { version: string; chapters: { startTime: number; title: string }[] }
    expect(result.chapters.length).toBeGreaterThan(1)
    expect(info.chapters.map((c) => c.title)).toEqual(result.chapters.map((c) => c.title))
    expect(json.version).toBe('1.2.0')
    expect(json.chapters.map((c) => c.title)).toEqual(result.chapters.map((c) => c.title))
    expect(json.chapters[0]!.startTime).toBe(0)
    for (let i = 1; i < json.chapters.length; i++) expect(json.chapters[i]!.startTime).toBeGreaterThan(json.chapters[i - 1]!.startTime)
    for (const [i, c] of info.chapters.entries()) expect(Math.abs(c.startMs - result.chapters[i]!.startMs)).toBeLessThanOrEqual(1)
  })

  it('has VTT cues in order, covering the whole file, with the script text', async () => {
    const cues = parseVtt(await fs.readFile(result.vttPath, 'utf8'))
    expect(cues.length).toBeGreaterThanOrEqual(script.segments.length)
    expect(cues[0]!.startMs).toBe(0)
    expect(Math.abs(cues[cues.length - 1]!.endMs - result.durationMs)).toBeLessThanOrEqual(1)
    for (let i = 1; i < cues.length; i++) {
      expect(cues[i]!.startMs).toBe(cues[i - 1]!.endMs)
      expect(cues[i]!.endMs).toBeGreaterThanOrEqual(cues[i]!.startMs)
    }
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim()
    expect(squash(cues.map((c) => c.text).join(' '))).toBe(squash(script.segments.map((s) => s.displayText ?? s.text).join(' ')))
  })

  it('emits every piece in order, each a playable MP3 of the same format', async () => {
    expect(pieces.map((p) => p.index)).toEqual(script.segments.map((_, i) => i))
    const info = await ffmpeg.probe(pieces[1]!.path)
    expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 1 })
    const total = pieces.reduce((n, p) => n + p.durationMs, 0)
    expect(Math.abs(total - result.durationMs)).toBeLessThanOrEqual(1)
  })

  it('writes timings that match the transcript and leaves no temp files', async () => {
    const timings = JSON.parse(await fs.readFile(result.timingsPath, 'utf8')) as { segments: { id: string; startMs: number; endMs: number }[]; byId: Record<string, unknown> }
    expect(timings.segments.map((t) => t.id)).toEqual(script.segments.map((s) => s.id))
    expect(timings.byId[script.segments[0]!.id]).toBeDefined()
    const tmp = await fs.readdir(path.join(dir, 'tmp')).catch(() => [])
    expect(tmp).toEqual([])
  })
})
