// Band-limited resampling of mono PCM to the MP3 rate, in the encoder threads (plain JS, as
// loudness-dsp.mjs, so those workers need no TypeScript loader). Types: resample.d.mts.
//
// A polyphase windowed-sinc filter (Kaiser window): output sample j sits at input position
// j * inRate / outRate, centred like ffmpeg's aresample (no added delay), so a piece's timeline is
// the clip's. Each output sample is spread over HALF input samples either side at most, which is
// within splitPoints' guard (a cut needs 32 silent clip samples around it). 48 taps with a Kaiser
// window (beta 7) keep 22.05 -> 44.1 kHz flat to 10 kHz and images 50 dB down from 12 kHz.

/** Input samples either side of an output sample (the filter has 2 * HALF taps per phase). */
export const HALF = 24
const BETA = 7

function besselI0(x) {
  let sum = 1
  let term = 1
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2
    sum += term
    if (term < sum * 1e-12) break
  }
  return sum
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b]
  return a
}

const tables = new Map()

/** Taps per phase for a rate pair: phase p covers output positions p / up of an input sample past the base. */
function phaseTable(inRate, outRate) {
  const key = `${inRate}:${outRate}`
  let t = tables.get(key)
  if (t) return t
  const g = gcd(inRate, outRate)
  const up = outRate / g
  const down = inRate / g
  // Cut-off at the lower Nyquist frequency, in cycles per input sample.
  const fc = 0.5 * Math.min(1, up / down)
  // Downsampling widens the filter in input samples (its cut-off is lower).
  // An even half-length, so the taps come in fours (the inner loop is unrolled by 4).
  const half = 2 * Math.ceil((HALF * Math.max(1, down / up)) / 2)
  const taps = 2 * half
  const coef = new Float32Array(up * taps)
  const identity = new Uint8Array(up)
  const i0b = besselI0(BETA)
  for (let p = 0; p < up; p++) {
    const frac = p / up
    let sum = 0
    for (let k = 0; k < taps; k++) {
      // Tap k weighs input sample base - half + 1 + k; its distance from the output position:
      const d = k - half + 1 - frac
      const x = 2 * fc * d
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x)
      const w = Math.abs(d) >= half ? 0 : besselI0(BETA * Math.sqrt(1 - (d / half) ** 2)) / i0b
      const v = 2 * fc * sinc * w
      coef[p * taps + k] = v
      sum += v
    }
    // Unity gain at DC for every phase.
    for (let k = 0; k < taps; k++) coef[p * taps + k] /= sum
    // Half-band upsampling (2x): the on-sample phase passes input samples through.
    if (frac === 0 && fc === 0.5) identity[p] = 1
  }
  t = { up, down, half, taps, coef, identity }
  tables.set(key, t)
  return t
}

/** Output length for `n` input samples: round(n * outRate / inRate). */
export function resampledLength(n, inRate, outRate) {
  return Math.round((n * outRate) / inRate)
}

/**
 * `pcm` (Int16Array or Float32Array, mono, at inRate) resampled to outRate as floats in the input's
 * units, output samples [from, from + count) of the whole resampled signal; beyond the input's end the
 * signal is silence.
 */
export function resample(pcm, inRate, outRate, from = 0, count = resampledLength(pcm.length, inRate, outRate) - from) {
  const out = new Float32Array(Math.max(0, count))
  resampler(pcm, inRate, outRate)(from, out)
  return out
}

/**
 * A resampler over the whole of `pcm` that writes any range of the output into a buffer the caller
 * owns: `fill(from, out)` writes output samples [from, from + out.length). One padded copy of the
 * input serves every call, so a piece is resampled and encoded a chunk at a time (the encoder thread
 * never holds the whole resampled piece). `scratch`, when given and large enough (pcm.length + 200),
 * holds that copy. `generic`: the loop that a written-out filter (doubler48) replaces, which tests
 * compare it with.
 */
export function resampler(pcm, inRate, outRate, scratch, generic = false) {
  const n = pcm.length
  if (inRate === outRate) {
    return (from, out) => {
      for (let j = 0; j < out.length; j++) {
        const i = from + j
        out[j] = i >= 0 && i < n ? pcm[i] : 0
      }
    }
  }
  const { up, down, half, taps, coef, identity } = phaseTable(inRate, outRate)
  // Zero-padded copy of the input so the inner loop needs no bounds checks (in `scratch` when it is
  // large enough: an encoder thread reuses one buffer for every piece).
  const x = scratch && scratch.length >= n + 2 * taps ? scratch.subarray(0, n + 2 * taps) : new Float32Array(n + 2 * taps)
  x.fill(0, 0, taps)
  x.set(pcm, taps)
  x.fill(0, taps + n)
  if (up === 2 && down === 1) {
    const c = coef.subarray(taps, 2 * taps)
    return taps === 48 && !generic ? doubler48(pcm, x, c) : doubler(pcm, x, half, taps, c)
  }
  return (from, out) => {
    const count = out.length
    for (let j = 0; j < count; j++) {
      const pos = (from + j) * down
      const base = Math.floor(pos / up)
      const p = pos - base * up
      if (base - half + 1 >= n || base + half < 0) {
        out[j] = 0
        continue
      }
      if (identity[p]) {
        out[j] = base >= 0 && base < n ? pcm[base] : 0
        continue
      }
      // x[taps + i] is pcm[i]; tap k weighs pcm[base - half + 1 + k].
      const start = taps + base - half + 1
      const c = p * taps
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0
      for (let k = 0; k < taps; k += 4) {
        s0 += x[start + k] * coef[c + k]
        s1 += x[start + k + 1] * coef[c + k + 1]
        s2 += x[start + k + 2] * coef[c + k + 2]
        s3 += x[start + k + 3] * coef[c + k + 3]
      }
      out[j] = s0 + s1 + s2 + s3
    }
  }
}

/**
 * The 2x case (22.05 -> 44.1 kHz, espeak-ng's rate to the MP3 rate): even output samples are the input
 * samples; odd ones are half-way, where the filter is symmetric (tap k = tap taps - 1 - k), so each
 * mirrored pair of samples is added first and weighed once: half the products of the general loop.
 */
function doubler(pcm, x, half, taps, c) {
  const n = pcm.length
  const pairs = taps / 2
  return (from, out) => {
    const count = out.length
    for (let j = 0; j < count; j++) {
      const o = from + j
      const base = o >> 1
      if (base - half + 1 >= n || base + half < 0) {
        out[j] = 0
        continue
      }
      if ((o & 1) === 0) {
        out[j] = base >= 0 && base < n ? pcm[base] : 0
        continue
      }
      // x[taps + i] is pcm[i]; tap k weighs pcm[base - half + 1 + k].
      const start = taps + base - half + 1
      const end = start + taps - 1
      let s0 = 0, s1 = 0
      for (let k = 0; k < pairs; k += 2) {
        s0 += (x[start + k] + x[end - k]) * c[k]
        s1 += (x[start + k + 1] + x[end - k - 1]) * c[k + 1]
      }
      out[j] = s0 + s1
    }
  }
}

/**
 * doubler for the 48-tap filter of 22.05 -> 44.1 kHz (HALF = 24), written out: the 24 coefficients are
 * locals and each mirrored pair one statement, so V8 keeps them in registers and checks no loop. The
 * same products summed in the same order as doubler's loop, so the output is bit-identical; it runs
 * in ~30% less time (5 min of speech: 240-262 ms against 376-379 ms on this machine).
 */
function doubler48(pcm, x, c) {
  const n = pcm.length
  const c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5], c6 = c[6], c7 = c[7], c8 = c[8], c9 = c[9], c10 = c[10], c11 = c[11], c12 = c[12], c13 = c[13], c14 = c[14], c15 = c[15], c16 = c[16], c17 = c[17], c18 = c[18], c19 = c[19], c20 = c[20], c21 = c[21], c22 = c[22], c23 = c[23]
  return (from, out) => {
    const count = out.length
    for (let j = 0; j < count; j++) {
      const o = from + j
      const base = o >> 1
      if (base - 23 >= n || base + 24 < 0) {
        out[j] = 0
        continue
      }
      if ((o & 1) === 0) {
        out[j] = base >= 0 && base < n ? pcm[base] : 0
        continue
      }
      // As doubler: x[48 + i] is pcm[i]; the pair k is x[s + k] and x[s + 47 - k].
      const s = base + 25
      let s0 = 0
      let s1 = 0
      s0 += (x[s + 0] + x[s + 47]) * c0
      s1 += (x[s + 1] + x[s + 46]) * c1
      s0 += (x[s + 2] + x[s + 45]) * c2
      s1 += (x[s + 3] + x[s + 44]) * c3
      s0 += (x[s + 4] + x[s + 43]) * c4
      s1 += (x[s + 5] + x[s + 42]) * c5
      s0 += (x[s + 6] + x[s + 41]) * c6
      s1 += (x[s + 7] + x[s + 40]) * c7
      s0 += (x[s + 8] + x[s + 39]) * c8
      s1 += (x[s + 9] + x[s + 38]) * c9
      s0 += (x[s + 10] + x[s + 37]) * c10
      s1 += (x[s + 11] + x[s + 36]) * c11
      s0 += (x[s + 12] + x[s + 35]) * c12
      s1 += (x[s + 13] + x[s + 34]) * c13
      s0 += (x[s + 14] + x[s + 33]) * c14
      s1 += (x[s + 15] + x[s + 32]) * c15
      s0 += (x[s + 16] + x[s + 31]) * c16
      s1 += (x[s + 17] + x[s + 30]) * c17
      s0 += (x[s + 18] + x[s + 29]) * c18
      s1 += (x[s + 19] + x[s + 28]) * c19
      s0 += (x[s + 20] + x[s + 27]) * c20
      s1 += (x[s + 21] + x[s + 26]) * c21
      s0 += (x[s + 22] + x[s + 25]) * c22
      s1 += (x[s + 23] + x[s + 24]) * c23
      out[j] = s0 + s1
    }
  }
}
