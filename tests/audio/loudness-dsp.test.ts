/**
 * The JS leveler (loudness-dsp.mjs): gain plus a true-peak lookahead limiter,
 * applied to the clip itself before ffmpeg resamples and encodes it.
 */
import { describe, expect, it } from 'vitest'
import { applyGain, measurePcmLoudness, planGain, splitPoints, truePeakEnvelope } from '../../src/audio/loudness-dsp.mjs'
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
