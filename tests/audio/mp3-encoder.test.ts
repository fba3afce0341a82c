/**
 * The piece encoder (LAME in WebAssembly, in worker threads), its resampler and the in-thread MP3
 * measurement, against ffmpeg: frame counts and encoder delay as render.ts assumes them, ffmpeg's
 * decode of what LAME wrote, and ebur128 on the same file.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFfmpeg, ENCODER_DELAY, SAMPLES_PER_FRAME, type Ffmpeg } from '../../src/audio/ffmpeg.ts'
import { createLoudnessMeter, type LoudnessMeter } from '../../src/audio/loudness-meter.ts'
import { countMp3Frames, readMp3Frames } from '../../src/audio/mp3.ts'
import { compileLame, createLame } from '../../src/audio/lame-wasm.mjs'
import { createMp3Encoder, type Mp3Encoder } from '../../src/audio/mp3-encoder.ts'
import { HALF, resample, resampler } from '../../src/audio/resample.mjs'
import { frameAlignedLength } from '../../src/episodes/render.ts'
import { speechLike, tempDir, wavBytes } from './helpers.ts'

const sine = (rate: number, hz: number, seconds: number, amp = 10_000) => Int16Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate)))

describe('resample', () => {
  for (const rate of [16_000, 22_050, 24_000, 48_000]) {
    it(`takes a 1 kHz tone from ${rate} Hz to 44.1 kHz within 2 LSB, on the same timeline`, () => {
      const out = resample(sine(rate, 1000, 1), rate, 44_100)
      expect(out.length).toBe(44_100)
      let err = 0
      for (let j = 100; j < out.length - 100; j++) err = Math.max(err, Math.abs(out[j]! - 10_000 * Math.sin((2 * Math.PI * 1000 * j) / 44_100)))
      expect(err).toBeLessThan(2)
    })
  }

  it('gives any slice of the output as the whole would have it, silence past the end', () => {
    const x = sine(22_050, 440, 0.5)
    const whole = resample(x, 22_050, 44_100)
    const slice = resample(x, 22_050, 44_100, 20_000, 4_000)
    for (let j = 0; j < 2_050; j++) expect(slice[j]).toBeCloseTo(whole[20_000 + j]!, 3)
    // Output 22050 is the input's end: half a filter (HALF input samples, 2 * HALF output samples) on, nothing is left.
    for (let j = 2_050 + 2 * HALF; j < 4_000; j++) expect(slice[j]).toBe(0)
  })

  it('22.05 -> 44.1 kHz: the written-out filter gives exactly what the loop gives, at the edges and past the end too', () => {
    // Speech-like 16-bit samples, full scale included, and a length that is not a multiple of anything.
    const x = Int16Array.from(speechLike(3.3, 22_050, 1, 5), (v) => Math.max(-32768, Math.min(32767, Math.round(v * 40_000))))
    const n = 2 * x.length + 4 * HALF
    const fast = new Float32Array(n + 3)
    const loop = new Float32Array(n + 3)
    // From before the start to past the end, in uneven chunks (as the encoder fills LAME's buffer).
    const a = resampler(x, 22_050, 44_100)
    const b = resampler(x, 22_050, 44_100, undefined, true)
    for (let from = -3, k = 0; from < n; from += 997 + k++) {
      a(from, fast.subarray(from + 3, Math.min(n + 3, from + 3 + 997 + k)))
      b(from, loop.subarray(from + 3, Math.min(n + 3, from + 3 + 997 + k)))
    }
    expect(fast.some((v) => v !== 0)).toBe(true)
    expect(Buffer.from(fast.buffer).equals(Buffer.from(loop.buffer))).toBe(true)
  })

  it('rejects what a 22.05 kHz clip cannot hold: a tone near its Nyquist frequency leaves no image above it', () => {
    const out = resample(sine(22_050, 10_000, 1), 22_050, 44_100)
    // The image of 10 kHz sits at 12.05 kHz: correlate with it.
    let re = 0
    let im = 0
    for (let j = 0; j < out.length; j++) {
      re += out[j]! * Math.cos((2 * Math.PI * 12_050 * j) / 44_100)
      im += out[j]! * Math.sin((2 * Math.PI * 12_050 * j) / 44_100)
    }
    const image = (2 * Math.hypot(re, im)) / out.length
    expect(20 * Math.log10(image / 10_000)).toBeLessThan(-45)
  })
})

describe('createMp3Encoder', () => {
  let dir: string
  let encoder: Mp3Encoder
  let meter: LoudnessMeter
  let ffmpeg: Ffmpeg

  beforeAll(async () => {
    dir = await tempDir()
    encoder = createMp3Encoder({ threads: 2 })
    meter = createLoudnessMeter()
    ffmpeg = await createFfmpeg()
  })
  afterAll(async () => {
    await encoder.close()
    await meter.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('writes bare CBR frames, exactly the frames render.ts plans, with the clip one encoder delay in', async () => {
    // A click at 0.5 s of a 22.05 kHz clip, so its position in the decoded piece can be found.
    const rate = 22_050
    const clip = new Float32Array(rate)
    clip[rate / 2] = 0.9
    const wav = path.join(dir, 'click.wav')
    await fs.writeFile(wav, wavBytes(clip, rate))
    const out = path.join(dir, 'click.mp3')
    const content = 44_100
    const totalSamples = frameAlignedLength(content, 22_050)
    await encoder.encodePiece({ input: wav, output: out, totalSamples, bitrateKbps: 64 })
    const bytes = await fs.readFile(out)
    // No ID3 tag and no Xing/Info frame: the first bytes are an audio frame's header.
    expect(bytes[0]).toBe(0xff)
    expect(bytes.includes(Buffer.from('Xing'))).toBe(false)
    expect(bytes.includes(Buffer.from('Info'))).toBe(false)
    const frames = await readMp3Frames(out)
    expect(frames?.sampleRate).toBe(44_100)
    expect(frames?.samples).toBe(totalSamples + ENCODER_DELAY + 64)
    expect(frames!.samples % SAMPLES_PER_FRAME).toBe(0)
    const raw = path.join(dir, 'click.pcm')
    await ffmpeg.decodeToRaw(out, raw)
    const buf = await fs.readFile(raw)
    const pcm = new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2)
    let at = 0
    for (let i = 0; i < pcm.length; i++) if (Math.abs(pcm[i]!) > Math.abs(pcm[at]!)) at = i
    expect(Math.abs(at - (ENCODER_DELAY + 22_050))).toBeLessThanOrEqual(2)
  })

  it('encodes a clip in parts that decode to the whole clip up to the cut', async () => {
    const rate = 22_050
    const clip = new Float32Array(rate * 8)
    clip.set(speechLike(3, rate, 0.3, 7), 0)
    clip.set(speechLike(3, rate, 0.3, 9), rate * 4)
    const wav = path.join(dir, 'two.wav')
    await fs.writeFile(wav, wavBytes(clip, rate))
    const content = 44_100 * 8
    const cut = SAMPLES_PER_FRAME * 160 // ~4.18 s: inside the silence between the bursts
    const whole = path.join(dir, 'whole.mp3')
    const parts = [path.join(dir, 'part0.mp3'), path.join(dir, 'part1.mp3')]
    await Promise.all([
      encoder.encodePiece({ input: wav, output: whole, totalSamples: frameAlignedLength(content, 0), bitrateKbps: 64 }),
      encoder.encodePiece({ input: wav, output: parts[0]!, totalSamples: cut - ENCODER_DELAY - 64, bitrateKbps: 64 }),
      encoder.encodePiece({ input: wav, output: parts[1]!, startSample: cut, totalSamples: frameAlignedLength(content - cut, 0), bitrateKbps: 64 }),
    ])
    const joined = path.join(dir, 'joined.mp3')
    await fs.writeFile(joined, Buffer.concat(await Promise.all(parts.map((p) => fs.readFile(p)))))
    const decode = async (f: string) => {
      await ffmpeg.decodeToRaw(f, `${f}.pcm`)
      const b = await fs.readFile(`${f}.pcm`)
      return new Int16Array(b.buffer, b.byteOffset, b.length / 2)
    }
    const [a, b] = [await decode(whole), await decode(joined)]
    expect(b.length).toBe(a.length)
    let first = 0
    while (first < a.length && a[first] === b[first]) first++
    // The first part is sample for sample the whole clip until LAME's look-ahead meets the part's end.
    expect(first).toBeGreaterThan(cut - 3 * SAMPLES_PER_FRAME)
    // The second burst is where the whole clip has it: same energy in its first second.
    const energy = (x: Int16Array, from: number) => {
      let e = 0
      for (let i = from; i < from + 44_100; i++) e += x[i]! * x[i]!
      return e
    }
    const start = ENCODER_DELAY + 44_100 * 4
    expect(Math.abs(10 * Math.log10(energy(b, start) / energy(a, start)))).toBeLessThan(0.5)
  })

  it('measures an encoded piece as ebur128 does on the file (0.2 LU, 0.3 dB)', async () => {
    const rate = 22_050
    const wav = path.join(dir, 'speech.wav')
    await fs.writeFile(wav, wavBytes(speechLike(12, rate, 0.5, 3), rate))
    const out = path.join(dir, 'speech.mp3')
    await encoder.encodePiece({ input: wav, output: out, totalSamples: frameAlignedLength(44_100 * 12, 22_050), bitrateKbps: 64 })
    const ours = await meter.measureMp3(out)
    const theirs = await ffmpeg.measureLoudness(out)
    expect(Math.abs(ours.integratedLufs - theirs.integratedLufs)).toBeLessThan(0.2)
    expect(Math.abs(ours.truePeakDb - theirs.truePeakDb)).toBeLessThan(0.3)
  })

  it("measures and levels in its own threads (encoder.meter) exactly as the loudness worker does, and reports the same errors", async () => {
    const rate = 22_050
    const wav = path.join(dir, 'meter.wav')
    await fs.writeFile(wav, wavBytes(speechLike(9, rate, 0.2, 11), rate))
    const plan = (output: string) => ({ targetLufs: -16, ceilingDb: -2, padMs: 400, output })
    const [ours, theirs] = await Promise.all([encoder.meter.measure(wav, plan(path.join(dir, 'lev-enc.wav'))), meter.measure(wav, plan(path.join(dir, 'lev-meter.wav')))])
    expect(ours).toEqual(theirs)
    expect(ours.gainDb).toBeGreaterThan(0)
    const leveled = await fs.readFile(path.join(dir, 'lev-enc.wav'))
    expect(leveled.equals(await fs.readFile(path.join(dir, 'lev-meter.wav')))).toBe(true)
    // Encodes and measurements queue on the same threads; each request gets its own answer.
    const out = path.join(dir, 'meter.mp3')
    await encoder.encodePiece({ input: path.join(dir, 'lev-enc.wav'), output: out, totalSamples: frameAlignedLength(2 * 9 * rate, 17_640), bitrateKbps: 64 })
    const figures = await Promise.all([encoder.meter.measureMp3(out), encoder.meter.measureMp3(out), meter.measureMp3(out)])
    expect(figures[0]).toEqual(figures[2])
    expect(figures[1]).toEqual(figures[2])
    expect(Math.abs(figures[0]!.integratedLufs - -16)).toBeLessThan(1)
    await expect(encoder.meter.measure(path.join(dir, 'missing.wav'))).rejects.toMatchObject({ code: 'INVALID_AUDIO' })
    await fs.writeFile(path.join(dir, 'not.mp3'), Buffer.alloc(5000, 7))
    await expect(encoder.meter.measureMp3(path.join(dir, 'not.mp3'))).rejects.toMatchObject({ code: 'INVALID_AUDIO' })
    await expect(encoder.meter.measure(wav, plan(path.join(dir, 'no-such-dir', 'x.wav')))).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE' })
  })

  it('starts one thread, another only when a job finds it busy (or `start` of them at once)', async () => {
    const rate = 22_050
    const wav = path.join(dir, 'threads.wav')
    await fs.writeFile(wav, wavBytes(speechLike(4, rate, 0.3, 5), rate))
    const lazy = createMp3Encoder({ threads: 2 })
    const eager = createMp3Encoder({ threads: 2, start: 2 })
    try {
      await expect.poll(() => lazy.running(), { timeout: 10_000 }).toBe(1)
      await expect.poll(() => eager.running(), { timeout: 10_000 }).toBe(2)
      const piece = (k: number) => ({ input: wav, output: path.join(dir, `threads-${k}.mp3`), totalSamples: 4 * 44_100, bitrateKbps: 64 })
      await lazy.encodePiece(piece(0))
      expect(lazy.running()).toBe(1)
      await Promise.all([lazy.encodePiece(piece(1)), lazy.encodePiece(piece(2))])
      expect(lazy.running()).toBe(2)
      // Pieces measured at once are queued for the thread that measures; each gets its own answer.
      const measured = await Promise.all([0, 1, 2].map((k) => lazy.meter.measureMp3(piece(k).output)))
      expect(measured.every((m) => Number.isFinite(m.integratedLufs) && m.truePeakDb < 0)).toBe(true)
    } finally {
      await Promise.all([lazy.close(), eager.close()])
    }
  })

  it('says which file it cannot read or write', async () => {
    await expect(encoder.encodePiece({ input: path.join(dir, 'missing.wav'), output: path.join(dir, 'x.mp3'), totalSamples: 1000, bitrateKbps: 64 })).rejects.toMatchObject({ code: 'INVALID_AUDIO' })
    await fs.writeFile(path.join(dir, 'not.wav'), 'hello')
    await expect(encoder.encodePiece({ input: path.join(dir, 'not.wav'), output: path.join(dir, 'x.mp3'), totalSamples: 1000, bitrateKbps: 64 })).rejects.toMatchObject({ code: 'INVALID_AUDIO' })
    const wav = path.join(dir, 'ok.wav')
    await fs.writeFile(wav, wavBytes(new Float32Array(100), 22_050))
    await expect(encoder.encodePiece({ input: wav, output: path.join(dir, 'no-such-dir', 'x.mp3'), totalSamples: 1000, bitrateKbps: 64 })).rejects.toBeInstanceOf(Error)
    await fs.writeFile(path.join(dir, 'not.mp3'), Buffer.alloc(5000, 7))
    await expect(meter.measureMp3(path.join(dir, 'not.mp3'))).rejects.toMatchObject({ code: 'INVALID_AUDIO' })
  })
})

describe('LAME in WebAssembly (our build, lame-wasm.mjs)', () => {
  let dir: string
  let ffmpeg: Ffmpeg
  beforeAll(async () => {
    dir = await tempDir()
    ffmpeg = await createFfmpeg()
  })
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('encodes at the quality asked for: q7 and q3 differ, in the same frames, both at the loudness of the input', async () => {
    const lame = await createLame()
    const x = resample(Int16Array.from(speechLike(20, 22_050, 0.5, 9), (v) => Math.round(v * 32767)), 22_050, 44_100)
    // Speed is bench/render.bench.ts's and native/lame/README.md's business; here, that the setting reaches LAME.
    const encode = (quality: number) => ({ out: lame.encode(x, { sampleRate: 44_100, bitrateKbps: 64, quality }) })
    const q7 = encode(7)
    const q3 = encode(3)
    expect(Buffer.compare(q7.out, q3.out)).not.toBe(0)
    // The module compiled once per process (what the encoder posts to its threads) encodes the same bytes.
    const shared = await compileLame()
    expect(await compileLame()).toBe(shared)
    expect(Buffer.compare((await createLame(shared)).encode(x, { sampleRate: 44_100, bitrateKbps: 64, quality: 7 }), q7.out)).toBe(0)
    // The same input in the same CBR frames, whatever the quality.
    expect(countMp3Frames(q7.out)!.samples).toBe(countMp3Frames(q3.out)!.samples)
    expect(countMp3Frames(q7.out)!.samples).toBeGreaterThanOrEqual(x.length + ENCODER_DELAY)
    expect(countMp3Frames(q7.out)!.samples).toBeLessThan(x.length + ENCODER_DELAY + 2 * SAMPLES_PER_FRAME)
    for (const [name, out] of [['q7', q7.out], ['q3', q3.out]] as const) {
      const file = path.join(dir, `${name}.mp3`)
      await fs.writeFile(file, out)
      const decoded = await ffmpeg.measureLoudness(file)
      const source = path.join(dir, 'source.wav')
      await fs.writeFile(source, wavBytes(Float32Array.from(x, (v) => v / 32768), 44_100))
      expect(Math.abs(decoded.integratedLufs - (await ffmpeg.measureLoudness(source)).integratedLufs)).toBeLessThan(0.8)
    }
  })
})
