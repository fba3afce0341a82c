/**
 * Acceptance: the plain-text news page rendered with the real espeak-ng
 * service and real ffmpeg, checked with ffprobe and ebur128.
 */
import { promises as fs, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg, type Ffmpeg } from '../../src/audio/ffmpeg.ts'
import { createMp3Encoder } from '../../src/audio/mp3-encoder.ts'
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

describe('a long clip encoded in parallel parts (espeak-ng)', () => {
  const text =
    'In parallel, OpenAI and the Bill and Melinda Gates Foundation are making significant investments in medical AI in Africa, ' +
    'while the Chinese film industry is demonstrating record growth rates, highlighting the global impact of technology and creative industries, ' +
    'as the editors added today.'
  const dirs: string[] = []

  afterAll(async () => {
    await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })))
  })

  /** With `clipsFrom`, the clip comes from that render's cache (espeak-ng seeds its breath noise with the time, so a new synthesis differs). */
  async function render(encodeConcurrency: number, clipsFrom?: string) {
    const dir = await tempDir()
    dirs.push(dir)
    if (clipsFrom) await fs.cp(path.join(clipsFrom, 'clips'), path.join(dir, 'clips'), { recursive: true })
    await fs.mkdir(path.join(dir, 'voices'), { recursive: true })
    await fs.writeFile(path.join(dir, 'voices', 'default.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en-US', voices: { body: { language: 'en-US' } } }))
    const config = testConfig(dir, { 'audio.encodeConcurrency': encodeConcurrency })
    const ffmpeg = await createFfmpeg(config)
    const speech = await createSpeechService(config)
    // Every thread running from the start: a render splits a clip only over threads already up (starting
    // one for a part costs more than the part saves, render-encode.ts).
    const encoder = createMp3Encoder({ threads: encodeConcurrency, start: encodeConcurrency })
    try {
      const profile = speech.getProfile('default')
      const script = articleToScript({ content: text, format: 'text' }, { pauses: profile.pauses })
      expect(script.segments).toHaveLength(1)
      // Both threads up before the piece is planned.
      await expect.poll(() => encoder.running(), { timeout: 10_000 }).toBe(encodeConcurrency)
      const result = await renderEpisode(script, profile, { speech, ffmpeg, config, encoder })
      const raw = path.join(dir, 'decoded.pcm')
      await ffmpeg.decodeToRaw(result.audioPath, raw)
      const buf = await fs.readFile(raw)
      return { dir, result, pcm: new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2), ffmpeg }
    } finally {
      await Promise.all([speech.close(), encoder.close()])
    }
  }

  /** RMS per 10 ms window, dBFS (floored at -90). */
  const envelope = (pcm: Int16Array) => {
    const w = 441
    const out: number[] = []
    for (let i = 0; i + w <= pcm.length; i += w) {
      let e = 0
      for (let j = i; j < i + w; j++) e += pcm[j]! * pcm[j]!
      out.push(Math.max(-90, 10 * Math.log10(e / w / 32768 ** 2)))
    }
    return out
  }

  it('keeps every word where the whole clip has it, with no gap or click, at the same loudness', async () => {
    const whole = await render(1)
    const parts = await render(2, whole.dir)
    expect(whole.result.stats).toMatchObject({ encoded: 1, encodedParts: 1, synthesized: 1 })
    expect(parts.result.stats).toMatchObject({ encoded: 1, encodedParts: 2, cached: 1 })
    // The same length to within the frame that a cut can add to or take from the closing pause.
    expect(Math.abs(parts.pcm.length - whole.pcm.length)).toBeLessThanOrEqual(1152)
    // From the same clip, the first part is the whole clip's audio sample for sample (LAME is deterministic
    // and sees the same samples); they differ only from the cut on, at least 3 s in (splitPoints' minPartSec).
    // Unless one of them was leveled again (its true peak came out too high), which changes every sample.
    if (whole.result.stats.relevels === parts.result.stats.relevels) {
      let firstDiff = 0
      while (firstDiff < whole.pcm.length && whole.pcm[firstDiff] === parts.pcm[firstDiff]) firstDiff++
      expect(firstDiff).toBeGreaterThan(3 * 44_100)
    }
    const a = envelope(whole.pcm)
    const b = envelope(parts.pcm)
    // Aligned window by window: where there is speech, the level matches; shifting by one window only makes it worse.
    const mismatch = (lag: number) => {
      let sum = 0
      let n = 0
      for (let i = 0; i < Math.min(a.length, b.length) - 2; i++) {
        if (a[i]! < -50) continue
        sum += Math.abs(a[i]! - b[i + lag]!)
        n++
      }
      return sum / n
    }
    expect(mismatch(0)).toBeLessThan(0.5)
    expect(mismatch(1)).toBeGreaterThan(mismatch(0) * 3)
    // No click at the cut: no window where the parts are loud and the whole is silent.
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i]! < -70) expect(b[i]!, `window ${i}`).toBeLessThan(-50)
    const [la, lb] = [await whole.ffmpeg.measureLoudness(whole.result.audioPath), await parts.ffmpeg.measureLoudness(parts.result.audioPath)]
    expect(Math.abs(la.integratedLufs - lb.integratedLufs)).toBeLessThan(0.2)
    expect(lb.truePeakDb).toBeLessThanOrEqual(-1)
    // The transcript's times come from the clip, so they are the same.
    expect(parts.result.timings.map((t) => t.startMs)).toEqual(whole.result.timings.map((t) => t.startMs))
  }, 120_000)
})
