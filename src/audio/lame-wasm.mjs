// LAME (libmp3lame 3.100) in WebAssembly, our own build (native/lame/: glue.c, build.sh): a standalone
// module with no JavaScript glue, loaded here. Plain JS (the encoder threads run no TypeScript
// loader). Types: lame-wasm.d.mts.
//
// Why our own build rather than wasm-media-encoders' LAME: that one encodes at LAME's default
// algorithm quality (-q 3: full psychoacoustic model and noise shaping), ~3x the CPU of -q 7, which
// is what a plain `ffmpeg -c:a libmp3lame -compression_level 7` uses (docs/architecture-render.md).
import { readFile } from 'node:fs/promises'

/** Samples handed to LAME per call (whole frames; LAME keeps its own buffer across calls). */
const CHUNK = 1152 * 16
/** LAME's worst case for CHUNK samples: 1.25 * samples + 7200 bytes. */
const OUT_BYTES = Math.ceil(1.25 * CHUNK) + 7200

export const LAME_WASM = new URL('./lame.wasm', import.meta.url)

/**
 * The compiled module, once per process: the encoder threads instantiate this one Module (it is posted to
 * them) instead of each compiling the file, so V8 compiles LAME's hot functions with its optimizing tier
 * once for all threads rather than once per thread.
 */
let compiled
export function compileLame() {
  compiled ??= readFile(LAME_WASM).then((bytes) => WebAssembly.compile(bytes))
  return compiled
}

/**
 * Instantiates the module (the file, its bytes, or a compiled WebAssembly.Module); `encode` then turns PCM
 * into bare CBR MP3 frames (no Xing/Info frame, no ID3).
 */
export async function createLame(wasm) {
  const source = wasm ?? (await readFile(LAME_WASM))
  let memory
  const imports = {
    env: { emscripten_notify_memory_growth: () => {} },
    wasi_snapshot_preview1: {
      // LAME prints nothing we use (its messages go through report functions we leave unset).
      fd_write: (_fd, iov, iovcnt, pnum) => {
        const view = new DataView(memory.buffer)
        let n = 0
        for (let i = 0; i < iovcnt; i++) n += view.getUint32(iov + i * 8 + 4, true)
        view.setUint32(pnum, n, true)
        return 0
      },
      fd_close: () => 0,
      fd_seek: () => 0,
      proc_exit: (code) => {
        throw new Error(`LAME exited with ${code}`)
      },
    },
  }
  const instance = source instanceof WebAssembly.Module ? await WebAssembly.instantiate(source, imports) : (await WebAssembly.instantiate(source, imports)).instance
  const x = instance.exports
  memory = x.memory
  x._initialize()
  const inPtr = x.bc_malloc(CHUNK * 4)
  const outPtr = x.bc_malloc(OUT_BYTES)
  if (!inPtr || !outPtr) throw new Error('LAME: out of memory')

  /**
   * Encodes `count` mono samples that `fill(from, out)` writes a chunk at a time (floats in 16-bit units,
   * +-32768 full scale; `out` is a view of LAME's own input buffer, so nothing is copied) at
   * `sampleRate` to CBR `bitrateKbps` with algorithm `quality` (0 best .. 9 fastest); returns the MP3 frames.
   */
  function encodeFrom(count, fill, { sampleRate, bitrateKbps, quality }) {
    const h = x.bc_mp3_init(sampleRate, bitrateKbps, quality)
    if (!h) throw new Error(`LAME cannot encode ${sampleRate} Hz at ${bitrateKbps} kbps`)
    try {
      // CBR: frames of bitrate * 144 / rate bytes (+1 padding), plus up to two frames of flush.
      const frameBytes = Math.ceil((144000 * bitrateKbps) / sampleRate) + 1
      let out = new Uint8Array(Math.ceil(count / 1152 + 4) * frameBytes)
      let length = 0
      const take = (n) => {
        if (n < 0) throw new Error(`LAME failed (${n})`)
        if (length + n > out.length) {
          const bigger = new Uint8Array(Math.max(out.length * 2, length + n))
          bigger.set(out.subarray(0, length))
          out = bigger
        }
        out.set(new Uint8Array(memory.buffer, outPtr, n), length)
        length += n
      }
      for (let o = 0; o < count; o += CHUNK) {
        const n = Math.min(CHUNK, count - o)
        // The heap may have grown (a new buffer) during the last call: a fresh view each time.
        fill(o, new Float32Array(memory.buffer, inPtr, n))
        take(x.bc_mp3_encode(h, inPtr, n, outPtr, OUT_BYTES))
      }
      take(x.bc_mp3_flush(h, outPtr, OUT_BYTES))
      return out.subarray(0, length)
    } finally {
      x.bc_mp3_close(h)
    }
  }

  /** encodeFrom over samples already in memory. */
  const encode = (samples, options) => encodeFrom(samples.length, (from, view) => view.set(samples.subarray(from, from + view.length)), options)
  return { encode, encodeFrom }
}
