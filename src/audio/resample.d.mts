/** Input samples either side of an output sample that the resampler reads. */
export const HALF: number
/** round(n * outRate / inRate). */
export function resampledLength(n: number, inRate: number, outRate: number): number
/** Output samples [from, from + count) of `pcm` resampled from inRate to outRate (silence past the input). */
export function resample(pcm: Int16Array | Float32Array, inRate: number, outRate: number, from?: number, count?: number): Float32Array
/** A resampler over all of `pcm`: `fill(from, out)` writes output samples [from, from + out.length) into `out`. */
export function resampler(pcm: Int16Array | Float32Array, inRate: number, outRate: number, scratch?: Float32Array, generic?: boolean): (from: number, out: Float32Array) => void
