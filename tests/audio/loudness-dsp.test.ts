/**
 * The JS leveler (loudness-dsp.mjs): gain plus a true-peak lookahead limiter,
 * applied to the clip itself before ffmpeg resamples and encodes it.
 */
import { describe, expect, it } from 'vitest'
import { applyGain, measurePcmLoudness, planGain, truePeakEnvelope } from '../../src/audio/loudness-dsp.mjs'
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
