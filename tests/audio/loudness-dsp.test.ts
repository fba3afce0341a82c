/**
 * The JS leveler (loudness-dsp.mjs): gain plus a true-peak lookahead limiter,
 * applied to the clip itself before ffmpeg resamples and encodes it.
 */
import { describe, expect, it } from 'vitest'
import { MPEGDecoder } from 'mpg123-decoder'
import { createLame } from '../../src/audio/lame-wasm.mjs'
import { applyGain, measureFloatPcm, measurePcmLoudness, measureRawBuffer, planGain, splitPoints, truePeakEnvelope } from '../../src/audio/loudness-dsp.mjs'
import { speechLike } from './helpers.ts'

const toInt16 = (f: Float32Array) => Int16Array.from(f, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))))
const db = (x: number) => 20 * Math.log10(x / 32768)
const maxOf = (a: ArrayLike<number>) => {
  let m = -Infinity
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!
  return m
}

describe('planGain + applyGain', () => {
  for (const [label, amp] of [['quiet', 0.06], ['normal', 0.3], ['hot', 0.95]] as const) {
    it(`brings a ${label} clip to the target with true peaks under the ceiling`, () => {
      const rate = 22050
      const pcm = toInt16(speechLike(6, rate, amp, 42))
      const plan = planGain(pcm, rate, -16, -2)
      const out = applyGain(pcm, plan.gainDb, plan.envelope)
      const measured = measurePcmLoudness(out, rate)
      // What the plan predicts is what the applied gain and limiter give.
      expect(Math.abs(measured.integratedLufs - plan.predictedLufs)).toBeLessThan(0.15)
      expect(Math.abs(measured.integratedLufs - -16)).toBeLessThan(0.3)
      const peaks = truePeakEnvelope(out)
      expect(db(maxOf(peaks))).toBeLessThanOrEqual(-2 + 0.1)
      // Speech-like clips at -16 LUFS have peaks over -2 dBTP: the limiter works in every case here.
      expect(plan.envelope).toBeDefined()
      // The gain ramps (no steps that would click): at most 1/lookahead per sample downwards.
      const lookahead = Math.round(rate * 0.005)
      let steepest = 0
      for (let i = 1; i < plan.envelope!.length; i++) steepest = Math.max(steepest, plan.envelope![i - 1]! - plan.envelope![i]!)
      expect(steepest).toBeLessThanOrEqual(1 / lookahead + 1e-6)
    })
  }

  it('finds inter-sample peaks that the samples alone miss', () => {
    // A sine at a quarter of the sample rate, phase 45 degrees: every sample sits at 0.707 of the real peak.
    const pcm = Int16Array.from({ length: 2000 }, (_, i) => Math.round(20000 * Math.sin((Math.PI / 2) * i + Math.PI / 4)))
    const samplePeak = maxOf(Array.from(pcm, Math.abs))
    const truePeak = maxOf(truePeakEnvelope(pcm).slice(100, 1900))
    expect(samplePeak).toBeLessThan(14200)
    expect(truePeak).toBeGreaterThan(19500)
  })
})

describe('splitPoints', () => {
  const rate = 22050
  const gap = 1105 + 64
  /** Speech-like clip of `seconds` with exact silence over each [start, end) given in seconds. */
  const clipWithPauses = (seconds: number, pauses: [number, number][]) => {
    const pcm = toInt16(speechLike(seconds, rate, 0.3, 11))
    for (const [a, b] of pauses) pcm.fill(0, Math.round(a * rate), Math.round(b * rate))
    // Speech-like noise has no exact zeros of its own, except where its envelope dips: keep it audible.
    for (let i = 0; i < pcm.length; i++) if (pcm[i] === 0 && !pauses.some(([a, b]) => i >= a * rate && i < b * rate)) pcm[i] = 20
    return pcm
  }
  const silentAround = (pcm: Int16Array, cut: number) => {
    const from = Math.floor(((cut - gap) * rate) / 44100) - 32
    const to = Math.ceil((cut * rate) / 44100) + 32
    return pcm.subarray(from, to).every((v) => v === 0)
  }

  it('cuts inside a long enough pause near the middle, on a frame boundary, with the dropped samples silent', () => {
    const pcm = clipWithPauses(16, [[3.0, 3.04], [7.2, 7.36], [11.0, 11.15]])
    const [cut, ...more] = splitPoints(pcm, rate, 2, { gap })
    expect(more).toEqual([])
    expect(cut! % 1152).toBe(0)
    // The 160 ms pause at 7.2 s, not the 40 ms one (too short to absorb a cut) nor the one at 11 s (further off).
    expect(cut! / 44100).toBeGreaterThan(7.2)
    expect(cut! / 44100).toBeLessThan(7.36)
    expect(silentAround(pcm, cut!)).toBe(true)
  })

  it('finds one cut per extra part, each within half a share of its target', () => {
    const pcm = clipWithPauses(24, [[5.9, 6.1], [12.0, 12.2], [17.9, 18.1]])
    const cuts = splitPoints(pcm, rate, 4, { gap })
    expect(cuts.map((c) => Math.round(c / 44100))).toEqual([6, 12, 18])
    for (const c of cuts) expect(silentAround(pcm, c)).toBe(true)
  })

  it('does not cut without a usable pause, too close to an end, or in a short clip', () => {
    expect(splitPoints(clipWithPauses(16, [[7.0, 7.04]]), rate, 2, { gap })).toEqual([])
    // The only pause is 1 s from the start: a part must be at least 3 s long, and within half a share of the middle.
    expect(splitPoints(clipWithPauses(16, [[1.0, 1.2]]), rate, 2, { gap })).toEqual([])
    expect(splitPoints(clipWithPauses(5, [[2.4, 2.6]]), rate, 2, { gap })).toEqual([])
    expect(splitPoints(clipWithPauses(16, [[7.9, 8.1]]), rate, 1, { gap })).toEqual([])
  })
})

describe('measurePcmLoudness', () => {
  /** BS.1770 written out plainly: libebur128's K-weighting filters, one running sum a sample, 100 ms hops. */
  const referenceLufs = (x: ArrayLike<number>, rate: number) => {
    let K = Math.tan((Math.PI * 1681.974450955533) / rate)
    let Q = 0.7071752369554196
    const Vh = Math.pow(10, 3.999843853973347 / 20)
    const Vb = Math.pow(Vh, 0.4996667741545416)
    const a0 = 1 + K / Q + K * K
    const sb = [(Vh + (Vb * K) / Q + K * K) / a0, (2 * (K * K - Vh)) / a0, (Vh - (Vb * K) / Q + K * K) / a0]
    const sa = [(2 * (K * K - 1)) / a0, (1 - K / Q + K * K) / a0]
    K = Math.tan((Math.PI * 38.13547087602444) / rate)
    Q = 0.5003270373238773
    const d = 1 + K / Q + K * K
    const ha = [(2 * (K * K - 1)) / d, (1 - K / Q + K * K) / d]
    const hop = Math.round(rate * 0.1)
    const hops: number[] = []
    let [x1, x2, y1, y2, z1, z2, acc, total] = [0, 0, 0, 0, 0, 0, 0, 0]
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!
      const y = sb[0]! * v + sb[1]! * x1 + sb[2]! * x2 - sa[0]! * y1 - sa[1]! * y2
      const z = 1 * y + -2 * y1 + 1 * y2 - ha[0]! * z1 - ha[1]! * z2
      ;[x2, x1, y2, y1, z2, z1] = [x1, v, y1, y, z1, z]
      acc += z * z
      total += z * z
      if ((i + 1) % hop === 0) {
        hops.push(acc)
        acc = 0
      }
    }
    const blocks = hops.slice(3).map((_, i) => (hops[i]! + hops[i + 1]! + hops[i + 2]! + hops[i + 3]!) / (4 * hop))
    if (blocks.length === 0 && x.length > 0) blocks.push(total / x.length)
    const lufs = (e: number) => -0.691 + 10 * Math.log10(e)
    const mean = (a: number[]) => a.reduce((p, e) => p + e, 0) / a.length
    const abs = blocks.filter((e) => lufs(e) > -70)
    if (abs.length === 0) return -Infinity
    const rel = abs.filter((e) => lufs(e) > lufs(mean(abs)) - 10)
    return rel.length > 0 ? lufs(mean(rel)) : -Infinity
  }

  it('is BS.1770 to the last bit, around every hop and block length, for floats and Int16', () => {
    let seed = 5
    const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 0xffffffff) * 2 - 1
    for (const rate of [16_000, 22_050, 44_100]) {
      const hop = Math.round(rate * 0.1)
      for (const length of [0, 1, 17, hop - 1, hop, hop + 1, 3 * hop + 5, 4 * hop - 1, 4 * hop, 4 * hop + 1, 9 * hop + 3]) {
        const x = Float32Array.from({ length }, (_, i) => 0.3 * rand() * Math.sin(i / 300))
        const m = measurePcmLoudness(x, rate)
        if (length >= hop) expect(m.integratedLufs).toBeGreaterThan(-40)
        expect(m.integratedLufs).toBe(referenceLufs(x, rate))
        const pcm = Int16Array.from(x, (v) => Math.round(v * 32767))
        expect(measurePcmLoudness(pcm, rate).integratedLufs).toBe(referenceLufs(Array.from(pcm, (v) => v / 32768), rate))
        expect(measureFloatPcm(x, rate).integratedLufs).toBe(m.integratedLufs)
      }
    }
  })
})

describe('measureFloatPcm / measureRawBuffer true peak', () => {
  // The reference: every sample and all three 4x phases, 12 taps each, written out directly (zeros beyond
  // either end), as loudness-dsp.mjs defines its interpolator: a Hann-windowed sinc over +/-6 samples.
  const taps = [0.25, 0.5, 0.75].map((f) =>
    Array.from({ length: 12 }, (_, j) => {
      const t = f - (j - 5)
      return (Math.sin(Math.PI * t) / (Math.PI * t)) * (0.5 + 0.5 * Math.cos((Math.PI * t) / 6))
    }),
  )
  const referenceTruePeak = (x: ArrayLike<number>) => {
    let peak = 0
    for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]!))
    for (let i = 0; i + 1 < x.length; i++) {
      for (const t of taps) {
        let s = 0
        for (let j = 0; j < 12; j++) {
          const k = i - 5 + j
          if (k >= 0 && k < x.length) s += t[j]! * x[k]!
        }
        peak = Math.max(peak, Math.abs(s))
      }
    }
    return peak
  }
  const dbOf = (x: number) => (x > 0 ? 20 * Math.log10(x) : -Infinity)
  /** The measured true peak against the reference; the two sum the same products in another order only. */
  const expectExact = (samples: Float32Array) => {
    const measured = measureFloatPcm(samples, 44100)
    const expected = dbOf(referenceTruePeak(samples))
    if (expected === -Infinity) expect(measured.truePeakDb).toBe(-Infinity)
    else expect(Math.abs(measured.truePeakDb - expected)).toBeLessThan(1e-9)
    // Loudness is the same pass as measurePcmLoudness's.
    expect(measured.integratedLufs).toBe(measurePcmLoudness(samples, 44100).integratedLufs)
    return measured
  }
  let seed = 7
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 0xffffffff) * 2 - 1

  it('equals an exhaustive interpolation on decoded MP3 speech (LAME in, mpg123 out)', async () => {
    const lame = await createLame()
    const decoder = new MPEGDecoder()
    await decoder.ready
    try {
      // Hot clips (clipped at 16 bits, as limited speech is near its ceiling) and a normal one.
      for (const [amp, s] of [[0.3, 3], [0.95, 5], [1.4, 8]] as const) {
        const pcm = Float32Array.from(speechLike(4, 44100, amp, s), (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))))
        await decoder.reset()
        const { channelData, samplesDecoded } = decoder.decode(lame.encode(pcm, { sampleRate: 44100, bitrateKbps: 64, quality: 7 }))
        expect(samplesDecoded).toBeGreaterThan(pcm.length)
        const decoded = channelData[0]!
        const measured = expectExact(decoded)
        expect(measured.integratedLufs).toBeGreaterThan(-40)
        // Decoded speech has inter-sample peaks over its samples (the case the search must not miss).
        expect(measured.truePeakDb).toBeGreaterThan(measurePcmLoudness(decoded, 44100).samplePeakDb)
      }
    } finally {
      decoder.free()
    }
  })

  it('finds the worst-case inter-sample peak wherever it sits against the blocks, however loud the rest is', () => {
    // Samples with the signs of a phase's taps (+1,-1,... flipping at the centre for the half phase) peak at
    // sum |tap| (~1.86) times their samples between them: the largest there is, so these test the bound.
    // A lone louder sample elsewhere (searched first) sets the bar just under that.
    const worst = taps.map((t) => t.map((v) => Math.sign(v)))
    const top = Math.max(...taps.map((t) => t.reduce((a, v) => a + Math.abs(v), 0)))
    expect(top).toBeGreaterThan(1.8)
    for (const pattern of worst) {
      for (let at = -6; at < 40; at++) {
        const x = new Float32Array(100)
        pattern.forEach((v, j) => {
          if (at + j >= 0 && at + j < x.length) x[at + j] = v
        })
        x[(at + 60 + 100) % 100] = 0.97 * top
        expectExact(x)
        // The same at the end of a clip whose length is no multiple of the block.
        expectExact(x.subarray(0, Math.max(1, Math.min(100, at + 12 - (at & 3)))))
      }
    }
    // A window split across two blocks: one side's samples at full scale, the other's just under
    // 1 / sum|tap| of it, so the quiet block's own samples could not reach the loud side's sample peak,
    // but the point, in the quiet block, does (by ~13% on the left, more on the right). Every split
    // position, so one of them falls on a block boundary.
    for (const pattern of worst) {
      for (let split = 0; split <= 12; split++) {
        for (const loudLeft of [true, false]) {
          for (let at = 0; at < 40; at++) {
            const x = new Float32Array(100)
            pattern.forEach((v, j) => {
              x[20 + at + j] = v * (j < split === loudLeft ? 1 : 0.53)
            })
            expectExact(x)
          }
        }
      }
    }
    // Found by a search: 16 samples up to full scale, then 16 under 0.536 (so under 1 / sum|tap| of the
    // first 16's peak), where a point after the first of the quiet ones peaks ~12% over every point after
    // the loud ones. A block starting at the quiet half must count its left neighbour in its bound.
    const loud = [-0.803, 0.713, -0.109, 0.463, -0.58, -0.627, -0.677, -0.438, -0.197, 1, 0.438, 0.684, -1, 1, -1, 0.886]
    const quiet = [-0.536, -0.536, 0.536, -0.536, 0.536, -0.536, 0.536, 0.12, -0.145, -0.319, -0.24, -0.123, 0.475, -0.049, -0.138, -0.434]
    for (let at = 0; at < 40; at++) {
      const x = new Float32Array(100)
      x.set([...loud, ...quiet], at)
      expectExact(x)
    }
    // The same patterns with random sizes and gaps, so the loud samples of a window sit in one block and the
    // point (after sample i) in the next or the one before: each block's bound must take its neighbours'.
    for (let trial = 0; trial < 3000; trial++) {
      const x = new Float32Array(64)
      const pattern = worst[trial % 3]!
      const at = Math.floor(((rand() + 1) / 2) * 60) - 6
      pattern.forEach((v, j) => {
        if (at + j >= 0 && at + j < x.length && rand() > -0.6) x[at + j] = v * (0.05 + (0.95 * (rand() + 1)) / 2)
      })
      x[(at + 40 + 64) % 64] = (1 + (rand() + 1) / 2) * 0.6
      expectExact(x)
    }
  })

  it('finds inter-sample peaks far above the samples, on Int16 input too', () => {
    // fs/4 at 45 degrees: every sample is 0.707 of the wave's peak.
    const sine = Float32Array.from({ length: 1001 }, (_, i) => 0.6 * Math.sin((Math.PI / 2) * i + Math.PI / 4))
    const m = expectExact(sine)
    expect(m.truePeakDb - measurePcmLoudness(sine, 44100).samplePeakDb).toBeGreaterThan(2.9)
    const pcm = Int16Array.from(sine, (v) => Math.round(v * 32768))
    const raw = measureRawBuffer(new Uint8Array(pcm.buffer), 44100)
    expect(Math.abs(raw.truePeakDb - dbOf(referenceTruePeak(pcm) / 32768))).toBeLessThan(1e-9)
    expect(raw.integratedLufs).toBe(measurePcmLoudness(pcm, 44100).integratedLufs)
    expect(raw.integratedLufs).toBe(measurePcmLoudness(Float32Array.from(pcm, (v) => v / 32768), 44100).integratedLufs)
  })

  it('handles silence, one sample and every short length', () => {
    expect(expectExact(new Float32Array(0)).truePeakDb).toBe(-Infinity)
    expect(expectExact(new Float32Array(5000)).truePeakDb).toBe(-Infinity)
    expect(expectExact(Float32Array.of(-0.5)).truePeakDb).toBe(dbOf(0.5))
    for (let n = 2; n <= 70; n++) expectExact(Float32Array.from({ length: n }, () => rand() * rand()))
    // Noise of odd lengths, with scattered spikes.
    for (const n of [1000, 4097, 44_101]) {
      const x = Float32Array.from({ length: n }, () => 0.1 * rand())
      for (let k = 0; k < 5; k++) x[Math.floor(((rand() + 1) / 2) * (n - 1))] = 0.8 * rand()
      expectExact(x)
    }
  })
})
