export interface Lame {
  /** Mono samples in 16-bit units (+-32768 full scale) to bare CBR MP3 frames. */
  encode(samples: Float32Array, options: { sampleRate: number; bitrateKbps: number; quality: number }): Uint8Array
  /** `count` samples that `fill(from, out)` writes a chunk at a time into LAME's input buffer. */
  encodeFrom(count: number, fill: (from: number, out: Float32Array) => void, options: { sampleRate: number; bitrateKbps: number; quality: number }): Uint8Array
}
export const LAME_WASM: URL
/** The compiled module, once per process (to post to the encoder threads). */
export function compileLame(): Promise<WebAssembly.Module>
export function createLame(wasm?: Uint8Array | WebAssembly.Module): Promise<Lame>
