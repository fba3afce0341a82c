/**
 * The WebAssembly compiler tier of a one-shot `briefcast render`, chosen from the size of its input
 * before any module compiles. V8 runs wasm on its baseline compiler (Liftoff) first and recompiles
 * hot functions with TurboFan; that recompile of espeak-ng, LAME and mpg123 is a fixed cost per
 * process that only pays back over several minutes of audio (TurboFan's LAME encodes ~25% faster).
 * A short article therefore runs on Liftoff alone; a long one, a URL or stdin (size unknown) tier up
 * as usual. Node 20 keeps no compiled wasm across processes, so the recompile cannot be cached.
 * Figures: docs/benchmarks.md ("WebAssembly tier of short renders"). The same cut gives a short render
 * one MP3 encoder thread per core, by its script (isShortScript; config.ts, renderEncodeThreads).
 */
import { statSync } from 'node:fs'
import v8 from 'node:v8'

/** Input files up to this size (about 6-7 minutes of speech as plain text) run on Liftoff alone. */
export const LIFTOFF_ONLY_MAX_BYTES = 8 * 1024

/**
 * Whether a script is short by the same measure, whatever its input (a file, a URL, stdin): at most
 * LIFTOFF_ONLY_MAX_BYTES characters of speech. A short render gets an MP3 encoder thread per core.
 */
export function isShortScript(script: { segments: readonly { text: string }[] }): boolean {
  let chars = 0
  for (const s of script.segments) {
    chars += s.text.length
    if (chars > LIFTOFF_ONLY_MAX_BYTES) return false
  }
  return true
}

/** Whether a render of `source` (a path, a URL or -) should skip TurboFan for wasm. */
export function isShortInput(source: string | undefined): boolean {
  if (!source || source === '-' || /^https?:\/\//i.test(source)) return false
  try {
    const st = statSync(source)
    return st.isFile() && st.size <= LIFTOFF_ONLY_MAX_BYTES
  } catch {
    return false // the render reports the unreadable input itself
  }
}

/**
 * For a short input, disallow TurboFan for WebAssembly in this process and its worker threads (V8's
 * flags are per process). Must run before the first module compiles (cli.ts calls it before starting
 * the espeak-ng worker). Returns whether it did.
 */
export function chooseWasmTier(source: string | undefined): boolean {
  if (!isShortInput(source)) return false
  v8.setFlagsFromString('--liftoff-only')
  return true
}
