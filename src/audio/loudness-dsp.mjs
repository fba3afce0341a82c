// ITU-R BS.1770-4 loudness and limiter-aware gain planning for mono 16-bit PCM.
// Plain JavaScript on purpose: the loudness worker loads it without tsx, which
// keeps that worker at ~10 MB instead of ~37 MB. Types: loudness-dsp.d.mts.
// K-weighting coefficients are derived for any sample rate as libebur128 does
// (https://github.com/jiixyj/libebur128, ebur128_init_filter).

function kWeightingCoefficients(rate) {
  let f0 = 1681.974450955533
  const G = 3.999843853973347
  let Q = 0.7071752369554196
  let K = Math.tan((Math.PI * f0) / rate)
  const Vh = Math.pow(10, G / 20)
  const Vb = Math.pow(Vh, 0.4996667741545416)
  const a0 = 1 + K / Q + K * K
  const shelf = {
    b: [(Vh + (Vb * K) / Q + K * K) / a0, (2 * (K * K - Vh)) / a0, (Vh - (Vb * K) / Q + K * K) / a0],
    a: [1, (2 * (K * K - 1)) / a0, (1 - K / Q + K * K) / a0],
  }
  f0 = 38.13547087602444
  Q = 0.5003270373238773
  K = Math.tan((Math.PI * f0) / rate)
  const d = 1 + K / Q + K * K
  const highpass = { b: [1, -2, 1], a: [1, (2 * (K * K - 1)) / d, (1 - K / Q + K * K) / d] }
  return [shelf, highpass]
}

/** Gated integrated loudness (LUFS), sample peak (dBFS) and duration of mono samples (Int16 or float in [-1, 1]). */
export function measurePcmLoudness(samples, sampleRate) {
  // A real array even here, unused: with undefined in some calls and an array in others, V8's code for
  // the loop served both worse (measured: +30% on the same samples).
  return kLoudness(samples, sampleRate, new Float64Array(Math.ceil(samples.length / TP_BLOCK)))
}

/**
 * measurePcmLoudness, filling `blockMax` (ceil(n / TP_BLOCK) long) with max |sample| per
 * TP_BLOCK samples, in sample units, for exactTruePeak: done here because this loop waits on its filters'
 * recursions, so the comparisons come almost free (+0.2 ns a sample, against ~3.5 ns for a pass of
 * their own).
 */
function kLoudness(samples, sampleRate, blockMax) {
  const scale = samples instanceof Int16Array ? 1 / 32768 : 1
  const [s, h] = kWeightingCoefficients(sampleRate)
  const sb0 = s.b[0], sb1 = s.b[1], sb2 = s.b[2], sa1 = s.a[1], sa2 = s.a[2]
  const hb0 = h.b[0], hb1 = h.b[1], hb2 = h.b[2], ha1 = h.a[1], ha2 = h.a[2]
  const hop = Math.round(sampleRate * 0.1)
  const len = samples.length
  // Energy per 100 ms hop; a 400 ms block is the sum of 4 consecutive hops (75% overlap). A clip of
  // fewer than 4 hops is one block, its whole energy: then the one segment is the clip. Each segment
  // is a loop of its own (no hop counter, no second accumulator for the whole clip in the same loop),
  // with the same sums in the same order: over the 14.1 M decoded samples of a render's pieces,
  // measurePcmLoudness took 184 ms instead of 237 ms (warm, one sample type per process).
  const hops = []
  const whole = len < 4 * hop
  const segment = whole ? len : hop
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0
  let peak = 0, total = 0
  const blockLength = TP_BLOCK
  let bm = 0, k = 0, b = 0
  for (let start = 0; start < len; start += segment) {
    const end = start + segment < len ? start + segment : len
    let acc = 0
    for (let i = start; i < end; i++) {
      const v = samples[i]
      const av = v < 0 ? -v : v
      if (av > bm) bm = av
      if (++k === blockLength) {
        if (bm > peak) peak = bm
        blockMax[b++] = bm
        bm = 0
        k = 0
      }
      // scale is 1 or a power of two: x is exact, so |x| = av * scale and the peak can be scaled once.
      const x = v * scale
      const y = sb0 * x + sb1 * x1 + sb2 * x2 - sa1 * y1 - sa2 * y2
      x2 = x1
      x1 = x
      const z = hb0 * y + hb1 * y1 + hb2 * y2 - ha1 * z1 - ha2 * z2
      y2 = y1
      y1 = y
      z2 = z1
      z1 = z
      acc += z * z
    }
    // A part hop at the end counts for neither (its samples for the peaks only).
    if (whole) total = acc
    else if (end - start === hop) hops.push(acc)
  }
  if (k > 0) {
    if (bm > peak) peak = bm
    blockMax[b] = bm
  }
  peak *= scale
  // Clips shorter than one block: the whole clip is the block (total).
  const integrated = gateHops(hops, total, len, sampleRate)
  return { integratedLufs: integrated, samplePeakDb: peak > 0 ? 20 * Math.log10(peak) : -Infinity, durationMs: (samples.length * 1000) / sampleRate }
}

/** K-weighted signal (both BS.1770 pre-filters) of Int16 samples, as floats. */
function kWeighted(pcm, sampleRate) {
  const [s, h] = kWeightingCoefficients(sampleRate)
  const sb0 = s.b[0], sb1 = s.b[1], sb2 = s.b[2], sa1 = s.a[1], sa2 = s.a[2]
  const hb0 = h.b[0], hb1 = h.b[1], hb2 = h.b[2], ha1 = h.a[1], ha2 = h.a[2]
  const out = new Float32Array(pcm.length)
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0
  for (let i = 0; i < pcm.length; i++) {
    const x = pcm[i] / 32768
    const y = sb0 * x + sb1 * x1 + sb2 * x2 - sa1 * y1 - sa2 * y2
    x2 = x1
    x1 = x
    const z = hb0 * y + hb1 * y1 + hb2 * y2 - ha1 * z1 - ha2 * z2
    y2 = y1
    y1 = y
    z2 = z1
    z1 = z
    out[i] = z
  }
  return out
}

/** Gated loudness of a K-weighted signal scaled by gain * env[i] (env optional). */
function gatedLoudness(z, sampleRate, gain, env) {
  const hop = Math.round(sampleRate * 0.1)
  const g2 = gain * gain
  const hops = []
  let acc = 0, n = 0, total = 0
  for (let i = 0; i < z.length; i++) {
    const v = env ? z[i] * env[i] : z[i]
    const e = v * v * g2
    acc += e
    total += e
    if (++n === hop) {
      hops.push(acc)
      acc = 0
      n = 0
    }
  }
  return gateHops(hops, total, z.length, sampleRate)
}

/** BS.1770 gating of 100 ms hop energies (400 ms blocks, 75% overlap); `total` and `length` serve a clip shorter than a block. */
function gateHops(hops, total, length, sampleRate) {
  const block = Math.round(sampleRate * 0.4)
  const blocks = []
  for (let i = 0; i + 4 <= hops.length; i++) blocks.push((hops[i] + hops[i + 1] + hops[i + 2] + hops[i + 3]) / block)
  if (blocks.length === 0 && length > 0) blocks.push(total / length)
  const lufs = (ms) => -0.691 + 10 * Math.log10(ms)
  const absGated = blocks.filter((e) => lufs(e) > -70)
  if (absGated.length === 0) return -Infinity
  const relThreshold = lufs(absGated.reduce((a, b) => a + b, 0) / absGated.length) - 10
  const gated = absGated.filter((e) => lufs(e) > relThreshold)
  return gated.length > 0 ? lufs(gated.reduce((a, b) => a + b, 0) / gated.length) : -Infinity
}

function invalidAudio(message) {
  return Object.assign(new Error(message), { code: 'INVALID_AUDIO' })
}

/** RIFF/WAVE header of 16-bit PCM; throws an Error with code INVALID_AUDIO otherwise. */
export function parseWavHeader(buf, file = 'clip') {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const tag = (o) => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3])
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw invalidAudio(`${file} is not a WAV file.`)
  let pos = 12
  let fmt
  while (pos + 8 <= buf.length) {
    const id = tag(pos)
    const size = view.getUint32(pos + 4, true)
    if (id === 'fmt ') {
      fmt = { format: view.getUint16(pos + 8, true), channels: view.getUint16(pos + 10, true), rate: view.getUint32(pos + 12, true), bits: view.getUint16(pos + 22, true) }
    } else if (id === 'data') {
      if (!fmt) break
      if ((fmt.format !== 1 && fmt.format !== 0xfffe) || fmt.bits !== 16) throw invalidAudio(`${file} is not 16-bit PCM (format ${fmt.format}, ${fmt.bits} bits).`)
      // Streams written before their length is known carry 0 or 0xFFFFFFFF: take the rest of the file.
      const dataBytes = size === 0 || size === 0xffffffff || pos + 8 + size > buf.length ? buf.length - pos - 8 : size
      return { sampleRate: fmt.rate, channels: fmt.channels, bitsPerSample: fmt.bits, dataOffset: pos + 8, dataBytes: dataBytes - (dataBytes % (2 * fmt.channels)) }
    }
    pos += 8 + size + (size & 1)
  }
  throw invalidAudio(`${file} has no PCM data chunk.`)
}

/**
 * 4x oversampling interpolator for true-peak estimates (as BS.1770's true-peak
 * meter, which oversamples 4x): windowed-sinc taps for the points 1/4, 2/4 and
 * 3/4 of the way to the next sample, 12 taps each (a Hann window over +/-6 samples).
 */
const TP_HALF = 6
const TP_PHASES = [0.25, 0.5, 0.75].map((f) => {
  const taps = new Float64Array(2 * TP_HALF)
  for (let k = -TP_HALF + 1; k <= TP_HALF; k++) {
    const t = f - k
    const sinc = Math.sin(Math.PI * t) / (Math.PI * t)
    taps[k + TP_HALF - 1] = sinc * (0.5 + 0.5 * Math.cos((Math.PI * t) / TP_HALF))
  }
  return taps
})

/** Samples per block of exactTruePeak's search (at least TP_HALF, so a window spans 3 blocks at most). */
const TP_BLOCK = 16
/**
 * The largest |interpolated point| per unit of max |x| over its window: sum |tap| of each phase as the
 * loop applies them (the 1/4 and 3/4 phases as (e + o) and (e - o) per mirrored pair), plus 1e-9 for the
 * rounding of its products and sums (at most ~1e-14 relative): a bound on the computed values, not just
 * the exact ones.
 */
const TP_BOUND = (() => {
  const [p1, p2] = TP_PHASES
  let outer = 0
  let half = 0
  for (let k = 0; k < TP_HALF; k++) {
    const e = (p1[k] + p1[11 - k]) / 2
    const o = (p1[k] - p1[11 - k]) / 2
    outer += Math.abs(e + o) + Math.abs(e - o)
    half += 2 * Math.abs(p2[k])
  }
  return Math.max(outer, half) * (1 + 1e-9)
})()

/**
 * Per sample, |x| raised to the largest of the three 4x-interpolated points after it, where
 * that can matter: only where a sample is at least `floor` x the loudest sample (elsewhere the
 * larger of the two samples stands in: inter-sample peaks of real audio exceed their samples by
 * a few dB at most, so they stay far below the loudest peaks). Returns the envelope (when asked
 * for) and the true peak, in sample units.
 */
function peakScan(pcm, floor, wantEnvelope) {
  const n = pcm.length
  const out = wantEnvelope ? new Float32Array(n) : undefined
  let max = 0
  for (let i = 0; i < n; i++) {
    const a = pcm[i] < 0 ? -pcm[i] : pcm[i]
    if (out) out[i] = a
    if (a > max) max = a
  }
  const threshold = max * floor
  // Zero-padded copy so the interpolation loop needs no bounds checks.
  const x = new Float32Array(n + 2 * TP_HALF)
  x.set(pcm, TP_HALF - 1)
  // The taps as locals (the loop unrolled), so V8 keeps them in registers and loads each sample once.
  // The half-way phase is symmetric (tap k = tap 11 - k) and the 3/4 phase mirrors the 1/4 one, so
  // both of those are a sum over the symmetric part of the 1/4 taps (e) plus or minus one over its
  // antisymmetric part (o): 18 products a sample instead of 36.
  const [p1, p2] = TP_PHASES
  const e = [0, 1, 2, 3, 4, 5].map((k) => (p1[k] + p1[11 - k]) / 2)
  const o = [0, 1, 2, 3, 4, 5].map((k) => (p1[k] - p1[11 - k]) / 2)
  const e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3], e4 = e[4], e5 = e[5]
  const o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5]
  const b0 = p2[0], b1 = p2[1], b2 = p2[2], b3 = p2[3], b4 = p2[4], b5 = p2[5]
  let truePeak = max
  for (let i = 0; i + 1 < n; i++) {
    const a = pcm[i] < 0 ? -pcm[i] : pcm[i]
    const b = pcm[i + 1] < 0 ? -pcm[i + 1] : pcm[i + 1]
    if (a < threshold && b < threshold) {
      if (out && b > a) out[i] = b
      continue
    }
    // x[i + k] is pcm[i - TP_HALF + 1 + k]; u: sums of mirrored pairs, d: their differences.
    const x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3], x4 = x[i + 4], x5 = x[i + 5]
    const x6 = x[i + 6], x7 = x[i + 7], x8 = x[i + 8], x9 = x[i + 9], x10 = x[i + 10], x11 = x[i + 11]
    const u0 = x0 + x11, u1 = x1 + x10, u2 = x2 + x9, u3 = x3 + x8, u4 = x4 + x7, u5 = x5 + x6
    const E = u0 * e0 + u1 * e1 + u2 * e2 + u3 * e3 + u4 * e4 + u5 * e5
    const O = (x0 - x11) * o0 + (x1 - x10) * o1 + (x2 - x9) * o2 + (x3 - x8) * o3 + (x4 - x7) * o4 + (x5 - x6) * o5
    let s1 = E + O
    let s2 = u0 * b0 + u1 * b1 + u2 * b2 + u3 * b3 + u4 * b4 + u5 * b5
    let s3 = E - O
    let m = a > b ? a : b
    if (s1 < 0) s1 = -s1
    if (s2 < 0) s2 = -s2
    if (s3 < 0) s3 = -s3
    if (s1 > m) m = s1
    if (s2 > m) m = s2
    if (s3 > m) m = s3
    if (out) out[i] = m
    if (m > truePeak) truePeak = m
  }
  return { envelope: out, truePeak }
}

/**
 * The true peak (largest |x| and 4x-interpolated point, in sample units) that peakScan would find with
 * floor 0, i.e. interpolating after every sample, bit for bit: the same taps and the same products, only
 * fewer of them. An interpolated point between samples i and i + 1 is a sum of 12 taps times
 * x[i - 5 .. i + 6], so its magnitude is at most TP_BOUND * max |x| over that window (TP_BOUND: the
 * largest sum of |tap| over the three phases as the loop below applies them, ~1.864, +5.4 dB). With
 * blocks of TP_BLOCK samples, that window lies in the block of i and its two neighbours: a block whose
 * neighbourhood maximum times TP_BOUND is at most the true peak found so far cannot raise it and is
 * skipped (ties too: equal values cannot change the maximum). The block of the loudest sample goes
 * first (the true peak of speech lies next to its sample peak, so the bar is high from the start), then
 * the rest in order. On the decoded pieces of a 5-minute render (14.1 M samples of limited speech), 13%
 * of the blocks are interpolated: 28 ms, against 100 ms for peakScan(0.5) (which could miss a peak)
 * and 243 ms for peakScan(0); blockMax comes from kLoudness's loop at no measurable cost. 16 samples
 * measured best (8: 37 ms, 12: 33 ms, 32: 30 ms).
 */
function exactTruePeak(pcm, blockMax) {
  const n = pcm.length
  const blocks = blockMax.length
  let peak = 0
  let peakBlock = 0
  for (let b = 0; b < blocks; b++) {
    if (blockMax[b] > peak) {
      peak = blockMax[b]
      peakBlock = b
    }
  }
  let truePeak = peak
  if (n < 2) return truePeak
  const [p1, p2] = TP_PHASES
  const e = [0, 1, 2, 3, 4, 5].map((k) => (p1[k] + p1[11 - k]) / 2)
  const o = [0, 1, 2, 3, 4, 5].map((k) => (p1[k] - p1[11 - k]) / 2)
  const e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3], e4 = e[4], e5 = e[5]
  const o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5]
  const b0 = p2[0], b1 = p2[1], b2 = p2[2], b3 = p2[3], b4 = p2[4], b5 = p2[5]
  // Zero-padded copy of a block's window, for the blocks at either end of the clip.
  const pad = new Float32Array(TP_BLOCK + 2 * TP_HALF)
  for (let step = -1; step < blocks; step++) {
    // Step -1 is the block of the loudest sample; after it, every block in order (that one skipped).
    const b = step < 0 ? peakBlock : step
    if (step === peakBlock) continue
    let hood = blockMax[b]
    if (b > 0 && blockMax[b - 1] > hood) hood = blockMax[b - 1]
    if (b + 1 < blocks && blockMax[b + 1] > hood) hood = blockMax[b + 1]
    if (TP_BOUND * hood <= truePeak) continue
    // Points after samples from .. to - 1 (none after the last sample), which read x[from - 5 .. to + 5].
    const from = b * TP_BLOCK
    const to = from + TP_BLOCK < n ? from + TP_BLOCK : n - 1
    let x = pcm
    let lo = from
    let hi = to
    if (from < TP_HALF - 1 || to + TP_HALF > n) {
      pad.fill(0)
      const start = from - TP_HALF + 1
      const stop = to + TP_HALF < n ? to + TP_HALF : n
      pad.set(pcm.subarray(start > 0 ? start : 0, stop), start > 0 ? 0 : -start)
      x = pad
      lo = TP_HALF - 1
      hi = lo + (to - from)
    }
    for (let i = lo; i < hi; i++) {
      // As in peakScan: x[i - 5 + k] is its x[i + k]; u: sums of mirrored pairs, d: their differences.
      const x0 = x[i - 5], x1 = x[i - 4], x2 = x[i - 3], x3 = x[i - 2], x4 = x[i - 1], x5 = x[i]
      const x6 = x[i + 1], x7 = x[i + 2], x8 = x[i + 3], x9 = x[i + 4], x10 = x[i + 5], x11 = x[i + 6]
      const u0 = x0 + x11, u1 = x1 + x10, u2 = x2 + x9, u3 = x3 + x8, u4 = x4 + x7, u5 = x5 + x6
      const E = u0 * e0 + u1 * e1 + u2 * e2 + u3 * e3 + u4 * e4 + u5 * e5
      const O = (x0 - x11) * o0 + (x1 - x10) * o1 + (x2 - x9) * o2 + (x3 - x8) * o3 + (x4 - x7) * o4 + (x5 - x6) * o5
      let s1 = E + O
      let s2 = u0 * b0 + u1 * b1 + u2 * b2 + u3 * b3 + u4 * b4 + u5 * b5
      let s3 = E - O
      if (s1 < 0) s1 = -s1
      if (s2 < 0) s2 = -s2
      if (s3 < 0) s3 = -s3
      if (s1 > truePeak) truePeak = s1
      if (s2 > truePeak) truePeak = s2
      if (s3 > truePeak) truePeak = s3
    }
  }
  return truePeak
}

/** The true-peak envelope of peakScan, interpolated within 18 dB of the loudest sample. */
export function truePeakEnvelope(pcm) {
  return peakScan(pcm, 1 / 8, true).envelope
}

/**
 * Lookahead limiter gain envelope (0..1 per sample, into `out`) that keeps `peaks * gain * env`
 * under `ceiling`: a forward minimum over the lookahead window, averaged over the
 * same window (so the gain ramps down smoothly and reaches what each peak needs
 * by the time it arrives: no step, no click), then a smooth release. Returns the gated loudness
 * of the K-weighted clip `z` times `zGain * env` (what gatedLoudness(z, rate, zGain, out) gives):
 * each gain step of planGain is then two passes over the clip instead of four (the per-sample need
 * is worked out in the backward pass, the loudness summed in the forward one), with the same
 * arithmetic in the same order, so the same result.
 */
function limitedLoudness(peaks, gain, ceiling, lookahead, releaseCoef, out, need, dq, ramp, z, sampleRate, zGain) {
  const n = peaks.length
  // ramp[j] = min(need[j .. j+L-1]) by a monotonic deque, walking j downwards; need[j] is the gain
  // that keeps sample j under the ceiling.
  let head = 0
  let tail = 0
  for (let j = n - 1; j >= 0; j--) {
    const a = peaks[j] * gain
    const v = a > ceiling ? ceiling / a : 1
    need[j] = v
    while (tail > head && need[dq[tail - 1]] >= v) tail--
    dq[tail++] = j
    while (dq[head] > j + lookahead - 1) head++
    ramp[j] = need[dq[head]]
  }
  // Average of ramp[i-L+1 .. i]: every term's window contains i, so the mean is <= need[i].
  const hop = Math.round(sampleRate * 0.1)
  const g2 = zGain * zGain
  const hops = []
  let acc = 0, k = 0, total = 0
  let sum = 0
  let env = 1
  for (let i = 0; i < n; i++) {
    sum += ramp[i]
    if (i >= lookahead) sum -= ramp[i - lookahead]
    const count = i + 1 < lookahead ? i + 1 : lookahead
    // Before the first full window, missing terms count as 1 (unity gain before the clip).
    const s = (sum + (lookahead - count)) / lookahead
    env = s < env ? s : env + (s - env) * releaseCoef
    out[i] = env
    // The loudness of the limited clip, with the envelope as stored (32-bit) and applied.
    const v = z[i] * out[i]
    const e = v * v * g2
    acc += e
    total += e
    if (++k === hop) {
      hops.push(acc)
      acc = 0
      k = 0
    }
  }
  return gateHops(hops, total, n, sampleRate)
}

/**
 * The gain and limiter envelope that bring a clip to `targetLufs` with true
 * peaks at most `ceilingDb` (dBTP, estimated at 4x oversampling). TTS speech
 * has a peak-to-loudness ratio of 16-19 dB, so at -16 LUFS the limiter takes
 * 1-4 dB off the peaks and ~0.5-1 LU off the loudness; the gain is raised
 * (secant steps) until the limited clip measures on target. The limiter is the
 * one renderLimited applies, so the prediction is the result.
 */
export function planGain(pcm, sampleRate, targetLufs, ceilingDb, maxGainDb = 30) {
  // The limited signal's loudness is taken as the K-weighted clip times the gain envelope (the limiter's
  // gain changes slowly, in ms, next to the filters' response): one filter pass serves every step and
  // the unlimited loudness too.
  const z = kWeighted(pcm, sampleRate)
  const first = { integratedLufs: gatedLoudness(z, sampleRate, 1, undefined) }
  let samplePeak = 0
  for (let i = 0; i < pcm.length; i++) {
    const a = pcm[i] < 0 ? -pcm[i] : pcm[i]
    if (a > samplePeak) samplePeak = a
  }
  const samplePeakDb = samplePeak > 0 ? 20 * Math.log10(samplePeak / 32768) : -Infinity
  if (!Number.isFinite(first.integratedLufs)) return { gainDb: 0, predictedLufs: first.integratedLufs, integratedLufs: first.integratedLufs, samplePeakDb }
  const clampGain = (g) => Math.max(-maxGainDb, Math.min(maxGainDb, g))
  let gainDb = clampGain(targetLufs - first.integratedLufs)
  let predicted = first.integratedLufs + gainDb
  const ceiling = Math.pow(10, ceilingDb / 20)
  const lookahead = Math.max(1, Math.round(sampleRate * 0.005))
  const releaseCoef = 1 - Math.exp(-1 / (sampleRate * 0.05))
  // True peaks are worked out where the limiter can act: samples within the first gain's overshoot of
  // the ceiling, plus 9 dB for later steps and inter-sample peaks (at least 6, at most 24 dB under the top).
  const overshootDb = Math.max(0, samplePeakDb + gainDb - ceilingDb)
  const floor = Math.pow(10, -Math.min(24, Math.max(6, overshootDb + 9)) / 20)
  const scan = peakScan(pcm, floor, true)
  const peaks = scan.envelope
  const truePeakDb = scan.truePeak > 0 ? 20 * Math.log10(scan.truePeak / 32768) : -Infinity
  let envelope
  const scratch = { need: new Float32Array(pcm.length), dq: new Int32Array(pcm.length), ramp: new Float32Array(pcm.length) }
  let prevGain
  let prevLufs
  for (let iter = 0; iter < 5; iter++) {
    if (truePeakDb + gainDb <= ceilingDb) {
      envelope = undefined
      predicted = first.integratedLufs + gainDb
      break
    }
    const g = Math.pow(10, gainDb / 20) / 32768
    envelope ??= new Float32Array(pcm.length)
    predicted = limitedLoudness(peaks, g, ceiling, lookahead, releaseCoef, envelope, scratch.need, scratch.dq, scratch.ramp, z, sampleRate, g * 32768)
    const miss = targetLufs - predicted
    if (Math.abs(miss) < 0.1) break
    // First step: over the corpus page's TTS clips, 1 dB more gain yields 0.34-0.39 LU more after the
    // limiter (it takes 3-6 dB off their peaks at these targets). Stepping by that slope took the page's
    // 26 clips 69 limiter passes to land within 0.1 LU, against 93 with the 0.6 assumed before.
    let step = miss / 0.38
    if (prevGain !== undefined && prevLufs !== undefined && predicted !== prevLufs) {
      const slope = (predicted - prevLufs) / (gainDb - prevGain)
      if (slope > 0.05) step = miss / slope
    }
    prevGain = gainDb
    prevLufs = predicted
    const next = clampGain(gainDb + Math.min(step, 12))
    if (next === gainDb) break
    gainDb = next
  }
  return { gainDb, predictedLufs: predicted, envelope, integratedLufs: first.integratedLufs, samplePeakDb }
}

/** The clip with the planned gain and limiter applied, as 16-bit samples (rounded, clamped). */
export function applyGain(pcm, gainDb, envelope) {
  const g = Math.pow(10, gainDb / 20)
  const out = new Int16Array(pcm.length)
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.round(pcm[i] * g * (envelope ? envelope[i] : 1))
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
  }
  return out
}

/** A mono 16-bit PCM WAV file of `samples`. */
export function wavBytes(samples, sampleRate) {
  const data = samples.length * 2
  const buf = new Uint8Array(44 + data)
  const view = new DataView(buf.buffer)
  const ascii = (o, t) => {
    for (let i = 0; i < t.length; i++) buf[o + i] = t.charCodeAt(i)
  }
  ascii(0, 'RIFF')
  view.setUint32(4, 36 + data, true)
  ascii(8, 'WAVE')
  ascii(12, 'fmt ')
  view.setUint32(16, 16, true)
  view.setUint16(20, 1, true)
  view.setUint16(22, 1, true)
  view.setUint32(24, sampleRate, true)
  view.setUint32(28, sampleRate * 2, true)
  view.setUint16(32, 2, true)
  view.setUint16(34, 16, true)
  ascii(36, 'data')
  view.setUint32(40, data, true)
  new Int16Array(buf.buffer, 44, samples.length).set(samples)
  return buf
}

/**
 * Integrated loudness (BS.1770) and true peak (4x oversampled, as truePeakEnvelope) of
 * raw mono 16-bit little-endian PCM: what an encoded piece decodes to.
 */
export function measureRawBuffer(buf, sampleRate) {
  const n = Math.floor(buf.byteLength / 2)
  const pcm = buf.byteOffset % 2 === 0 ? new Int16Array(buf.buffer, buf.byteOffset, n) : new Int16Array(new Uint8Array(buf).buffer, 0, n)
  const blockMax = new Float64Array(Math.ceil(n / TP_BLOCK))
  const { integratedLufs } = kLoudness(pcm, sampleRate, blockMax)
  const truePeak = exactTruePeak(pcm, blockMax)
  return { integratedLufs, truePeakDb: truePeak > 0 ? 20 * Math.log10(truePeak / 32768) : -Infinity }
}

/**
 * Integrated loudness and true peak of mono float samples in [-1, 1] (an MP3 decoder's output), as
 * measureRawBuffer: no conversion to 16-bit first, and nothing clipped (ffmpeg's ebur128 measures the
 * float decoder's output too).
 */
export function measureFloatPcm(samples, sampleRate) {
  const blockMax = new Float64Array(Math.ceil(samples.length / TP_BLOCK))
  const { integratedLufs } = kLoudness(samples, sampleRate, blockMax)
  const truePeak = exactTruePeak(samples, blockMax)
  return { integratedLufs, truePeakDb: truePeak > 0 ? 20 * Math.log10(truePeak) : -Infinity }
}

/** Measures a WAV buffer; with `plan`, also the gain for the piece (clip + padMs of silence). */
/**
 * Where a clip can be cut into MP3 parts that are encoded separately (in parallel) and joined frame by
 * frame without moving a sample of speech: positions in output samples (outRate), on frame boundaries,
 * inside silences long enough to absorb what a cut adds (the next part's encoder delay plus the frame
 * margin, `gap`). A part that starts at output sample b decodes with its speech exactly where the whole
 * clip would have it; the `gap` samples before b are replaced by the encoder's own silence. Returns up
 * to parts - 1 positions, each the candidate nearest an equal share (and within half a share of it),
 * every part at least minPartSec long; none when the clip has no such silence.
 */
export function splitPoints(pcm, sampleRate, parts, options = {}) {
  const { outRate = 44100, frame = 1152, gap = 1105 + 64, guard = 32, minPartSec = 3, threshold = 4 } = options
  if (!(parts >= 2)) return []
  const n = pcm.length
  const outLength = Math.round((n * outRate) / sampleRate)
  const minPart = minPartSec * outRate
  if (outLength < 2 * minPart) return []
  // loud[i]: samples above the threshold in pcm[0, i).
  const loud = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) loud[i + 1] = loud[i] + (pcm[i] > threshold || pcm[i] < -threshold ? 1 : 0)
  const r = sampleRate / outRate
  const candidates = []
  for (let m = Math.ceil(minPart / frame); m * frame <= outLength - minPart; m++) {
    const b = m * frame
    // The resampler spreads each sample over a few neighbours: the guard keeps them silent too.
    const from = Math.floor((b - gap) * r) - guard
    const to = Math.ceil(b * r) + guard
    if (from >= 0 && to <= n && loud[to] - loud[from] === 0) candidates.push(b)
  }
  const splits = []
  const share = outLength / parts
  for (let k = 1; k < parts; k++) {
    const target = k * share
    const previous = splits.length ? splits[splits.length - 1] : 0
    let best = -1
    for (const c of candidates) {
      if (c - previous < minPart || outLength - c < minPart) continue
      if (best < 0 || Math.abs(c - target) < Math.abs(best - target)) best = c
    }
    if (best >= 0 && Math.abs(best - target) <= share / 2) splits.push(best)
  }
  return splits
}

export function measureWavBuffer(buf, file, plan) {
  const wav = parseWavHeader(buf, file)
  const frames = wav.dataBytes / 2 / wav.channels
  let pcm
  if (wav.channels === 1 && (buf.byteOffset + wav.dataOffset) % 2 === 0) {
    pcm = new Int16Array(buf.buffer, buf.byteOffset + wav.dataOffset, frames)
  } else {
    pcm = new Int16Array(frames)
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    for (let i = 0; i < frames; i++) pcm[i] = view.getInt16(wav.dataOffset + i * 2 * wav.channels, true)
  }
  const durationMs = (frames * 1000) / wav.sampleRate
  if (!plan) return { ...measurePcmLoudness(pcm, wav.sampleRate), sampleRate: wav.sampleRate, samples: frames }
  let planned = pcm
  if (plan.padMs) {
    // Plan on the piece as it will be measured: the clip followed by its pause (short clips gate differently).
    planned = new Int16Array(pcm.length + Math.round((plan.padMs * wav.sampleRate) / 1000))
    planned.set(pcm)
  }
  // With a plan, the loudness reported is the padded piece's (one K-weighting pass serves both).
  const { envelope, ...figures } = planGain(planned, wav.sampleRate, plan.targetLufs, plan.ceilingDb, 30)
  // With `plan.render`, the clip itself with gain and limiter applied (the pause is only added by the encoder).
  const leveled = plan.render ? applyGain(pcm, figures.gainDb, envelope ? envelope.subarray(0, pcm.length) : undefined) : undefined
  const rendered = leveled ? wavBytes(leveled, wav.sampleRate) : undefined
  // Cut points for a parallel encode, found in what the encoder gets.
  const splits = plan.split && plan.split.parts > 1 ? splitPoints(leveled ?? pcm, wav.sampleRate, plan.split.parts, plan.split) : undefined
  return { ...figures, durationMs, sampleRate: wav.sampleRate, samples: frames, ...(rendered ? { rendered } : {}), ...(splits ? { splits } : {}) }
}
