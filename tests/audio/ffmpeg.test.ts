import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg, ffmpegOnDemand, ffmpegProcesses, locateFfmpeg, parseFfmpegVersion, spawnRunner, type Ffmpeg, type FfmpegRunner } from '../../src/audio/ffmpeg.ts'
import { measureWavFile } from '../../src/audio/loudness.ts'
import { measureRawBuffer } from '../../src/audio/loudness-dsp.mjs'
import { countMp3Frames } from '../../src/audio/mp3.ts'
import type { Config } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import { speechLike, tempDir, wavBytes } from './helpers.ts'

let dir: string
let ffmpeg: Ffmpeg

beforeAll(async () => {
  dir = await tempDir()
  ffmpeg = await createFfmpeg()
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    return err as AppError
  }
  throw new Error('expected a rejection')
}

/** spawnRunner, counting the processes it runs. */
function countingRunner(): { runner: FfmpegRunner; calls: number } {
  const c = {
    calls: 0,
    runner: ((bin, args, o) => {
      c.calls++
      return spawnRunner(bin, args, o)
    }) as FfmpegRunner,
  }
  return c
}

describe('locating and checking ffmpeg', () => {
  it('finds ffmpeg and ffprobe (PATH or the npm packages) and checks them once', async () => {
    const paths = locateFfmpeg()
    expect(path.basename(paths.ffmpegPath)).toMatch(/^ffmpeg/)
    expect(path.basename(paths.ffprobePath)).toMatch(/^ffprobe/)
    expect(ffmpeg.version).not.toBe('unknown')
  })

  it('honours FFMPEG_PATH and says what to install when it does not exist', async () => {
    const paths = locateFfmpeg({ FFMPEG_PATH: path.join(dir, 'nope', 'ffmpeg'), FFPROBE_PATH: path.join(dir, 'nope', 'ffprobe'), PATH: '' })
    expect(paths.source).toBe('env')
    const err = await rejection(createFfmpeg(undefined, spawnRunner, paths))
    expect(err.code).toBe('FFMPEG_NOT_FOUND')
    expect(err.help).toMatch(/FFMPEG_PATH/)
  })

  it('rejects ffmpeg older than 4.1 and builds without libmp3lame', async () => {
    const old: FfmpegRunner = async (bin, args, o) => {
      const r = await spawnRunner(bin, args, o)
      return args.includes('-version') ? { ...r, stdout: r.stdout.replace(/version \S+/, 'version 3.4.8').replace(/libavutil\s+\d+\.\s*\d+/, 'libavutil      55. 78') } : r
    }
    expect((await rejection(createFfmpeg(undefined, old))).code).toBe('FFMPEG_TOO_OLD')
    const noLame: FfmpegRunner = async (bin, args, o) => {
      const r = await spawnRunner(bin, args, o)
      return args.includes('-encoders') ? { ...r, stdout: r.stdout.replace(/.*libmp3lame.*\n/g, '') } : r
    }
    const err = await rejection(createFfmpeg(undefined, noLame))
    expect(err.code).toBe('FFMPEG_TOO_OLD')
    expect(err.message).toMatch(/libmp3lame/)
  })

  it('remembers a passed check in the cache dir, and checks a different binary again', async () => {
    const config = { cacheDir: path.join(dir, 'check-cache') } as Config
    const counting = countingRunner()
    const first = await createFfmpeg(config, counting.runner)
    expect(counting.calls).toBe(3) // ffmpeg -version, ffprobe -version, ffmpeg -encoders
    const record = JSON.parse(await fs.readFile(path.join(config.cacheDir, 'ffmpeg-check.json'), 'utf8')) as { version: string }
    expect(record.version).toBe(first.version)
    counting.calls = 0
    expect((await createFfmpeg(config, counting.runner)).version).toBe(first.version)
    expect(counting.calls).toBe(0)
    // Another path to a binary (here a symlink to the same one) is another binary: checked again.
    const paths = locateFfmpeg()
    await fs.mkdir(path.join(dir, 'other-bin'), { recursive: true })
    const other = { ...paths, ffmpegPath: path.join(dir, 'other-bin', 'ffmpeg') }
    await fs.symlink(paths.ffmpegPath, other.ffmpegPath)
    await createFfmpeg(config, counting.runner, other)
    expect(counting.calls).toBe(3)
    // A corrupt record is ignored, not trusted.
    await fs.writeFile(path.join(config.cacheDir, 'ffmpeg-check.json'), '{not json')
    counting.calls = 0
    await createFfmpeg(config, counting.runner)
    expect(counting.calls).toBe(3)
  })

  it('ffmpegOnDemand starts no ffmpeg until a call needs one, then checks it once', async () => {
    const config = { cacheDir: path.join(dir, 'on-demand-cache') } as Config
    const counting = countingRunner()
    const lazy = ffmpegOnDemand(() => createFfmpeg(config, counting.runner))
    await new Promise((r) => setTimeout(r, 50))
    expect(counting.calls).toBe(0)
    const wav = path.join(dir, 'on-demand.wav')
    await fs.writeFile(wav, wavBytes(speechLike(1, 22_050, 0.3, 7), 22_050))
    const [a, b] = await Promise.all([lazy.probe(wav), lazy.probe(wav)])
    expect(a.audio).toMatchObject({ codec: 'pcm_s16le', sampleRate: 22_050 })
    expect(b.durationMs).toBe(a.durationMs)
    expect(counting.calls).toBe(3 + 2) // the check (three runs) once, then the two probes
    // A binary that is missing is reported by the first call that needs it.
    const missing = ffmpegOnDemand(() => createFfmpeg(undefined, spawnRunner, { ffmpegPath: path.join(dir, 'nope', 'ffmpeg'), ffprobePath: path.join(dir, 'nope', 'ffprobe'), source: 'env' }))
    expect((await rejection(missing.probe(wav))).code).toBe('FFMPEG_NOT_FOUND')
  })

  it('parses release and git-build version strings', () => {
    expect(parseFfmpegVersion('ffmpeg version 4.1.3 Copyright')).toEqual({ label: '4.1.3', ok: true })
    expect(parseFfmpegVersion('ffmpeg version n6.0 Copyright').ok).toBe(true)
    expect(parseFfmpegVersion('ffmpeg version 4.0.2 Copyright').ok).toBe(false)
    expect(parseFfmpegVersion('ffmpeg version N-47683-g0e8eb07980-static\nlibavutil      56. 24.101 / 56. 24.101').ok).toBe(true)
    expect(parseFfmpegVersion('ffmpeg version N-1-gabc\nlibavutil      56. 14.100').ok).toBe(false)
  })
})

describe('ffmpeg operations', () => {
  it('probes audio and reports files that are not audio as INVALID_AUDIO with ffprobe output', async () => {
    const bogus = path.join(dir, 'jingle.mp3')
    await fs.writeFile(bogus, 'this is not audio\n'.repeat(50))
    const err = await rejection(ffmpeg.probe(bogus))
    expect(err.code).toBe('INVALID_AUDIO')
    expect(err.message).toMatch(/Invalid data|jingle\.mp3/)
  })

  it('measures loudness with ebur128, and the JS meter agrees within 0.5 LU', async () => {
    for (const [rate, amp] of [[22050, 0.3], [24000, 0.05], [44100, 0.6]] as const) {
      const wav = path.join(dir, `m-${rate}.wav`)
      await fs.writeFile(wav, wavBytes(speechLike(4, rate, amp, rate), rate))
      const ff = await ffmpeg.measureLoudness(wav)
      const js = await measureWavFile(wav)
      expect(Math.abs(ff.integratedLufs - js.integratedLufs)).toBeLessThan(0.5)
      expect(ff.truePeakDb).toBeGreaterThanOrEqual(js.samplePeakDb - 0.1)
    }
  })

  it('measures a decoded piece in JS as ffmpeg ebur128 does: integrated within 0.2 LU, true peak within 0.3 dB', async () => {
    for (const [seed, amp] of [[11, 0.3], [12, 0.9]] as const) {
      const wav = path.join(dir, `tp-${seed}.wav`)
      await fs.writeFile(wav, wavBytes(speechLike(5, 22050, amp, seed), 22050))
      const mp3 = path.join(dir, `tp-${seed}.mp3`)
      await ffmpeg.encodePiece({ input: wav, output: mp3, gainDb: 0, totalSamples: 250 * 1152 - 1169, bitrateKbps: 64 })
      const raw = path.join(dir, `tp-${seed}.pcm`)
      await ffmpeg.decodeToRaw(mp3, raw)
      const js = measureRawBuffer(await fs.readFile(raw), 44100)
      const ff = await ffmpeg.measureLoudness(mp3)
      expect(Math.abs(js.integratedLufs - ff.integratedLufs)).toBeLessThan(0.2)
      expect(Math.abs(js.truePeakDb - ff.truePeakDb)).toBeLessThan(0.3)
    }
  })

  it('encodes a piece that ends on a frame boundary, as bare MP3 frames', async () => {
    const wav = path.join(dir, 'piece.wav')
    await fs.writeFile(wav, wavBytes(speechLike(2, 22050, 0.3, 7), 22050))
    const out = path.join(dir, 'piece.mp3')
    const total = 100 * 1152 - 1105 - 64
    await ffmpeg.encodePiece({ input: wav, output: out, gainDb: 3, limitDb: -2, totalSamples: total, bitrateKbps: 64 })
    const bytes = await fs.readFile(out)
    expect(bytes.subarray(0, 3).toString('latin1')).not.toBe('ID3')
    const frames = countMp3Frames(bytes)!
    expect(frames.frames).toBe(100)
    expect(frames.sampleRate).toBe(44100)
    const packets = execFileSync(ffmpeg.paths.ffprobePath, ['-v', 'error', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', out], { encoding: 'utf8' })
    expect(Number(packets.trim())).toBe(100)
  })

  it('reports a full disk as DISK_FULL with ffmpeg stderr', async () => {
    const wav = path.join(dir, 'full.wav')
    await fs.writeFile(wav, wavBytes(speechLike(3, 22050, 0.3, 9), 22050))
    const err = await rejection(ffmpeg.encodePiece({ input: wav, output: '/dev/full', gainDb: 0, limitDb: -2, totalSamples: 200_000, bitrateKbps: 64 }))
    expect(err.code).toBe('DISK_FULL')
    expect(err.message).toMatch(/No space left/)
  })

  it('kills ffmpeg when the caller aborts', async () => {
    const wav = path.join(dir, 'long.wav')
    await fs.writeFile(wav, wavBytes(speechLike(600, 22050, 0.3, 3), 22050))
    const spawned: number[] = []
    const exited: number[] = []
    const onSpawn = (pid: number) => spawned.push(pid)
    const onExit = (pid: number) => exited.push(pid)
    ffmpegProcesses.on('spawn', onSpawn).on('exit', onExit)
    const controller = new AbortController()
    const p = ffmpeg.encodePiece({ input: wav, output: path.join(dir, 'long.mp3'), gainDb: 0, limitDb: -2, totalSamples: 600 * 44100, bitrateKbps: 64 }, controller.signal)
    setTimeout(() => controller.abort(), 300)
    const err = await rejection(p)
    ffmpegProcesses.off('spawn', onSpawn).off('exit', onExit)
    expect(err.code).toBe('ABORTED')
    expect(spawned).toHaveLength(1)
    expect(exited).toEqual(spawned)
    expect(() => process.kill(spawned[0]!, 0)).toThrow()
  })
})
