/**
 * The WebAssembly compiler tier of a one-shot `briefcast render` or `briefing`, decided by the work it
 * has to do. V8 runs wasm on its baseline compiler (Liftoff) first and recompiles hot functions with
 * TurboFan on background threads. That recompile of espeak-ng, LAME and mpg123 is a fixed cost per
 * process (Node 20 keeps no compiled wasm across processes) that pays back only over a few minutes of
 * new audio: TurboFan's LAME encodes ~30% faster. A re-render that speaks one changed paragraph is
 * faster on Liftoff alone; rendering a new article is faster tiered up.
 *
 * What that work is shows only once the script is known and looked up in the clip cache, so the
 * command starts on Liftoff (startOnLiftoff, before any module compiles) and the session allows the
 * optimizing tier again (tierUpFor) before its first clip is spoken if the clips the cache lacks hold
 * TIER_UP_MIN_CHARS characters or more. That works because V8 reads the flag when a wasm function
 * first runs: a function that first ran under --liftoff-only stays on Liftoff for the life of the
 * process (measured: LAME kept its Liftoff speed after the flag was lifted), one that had only been
 * compiled tiers up as usual. Nothing hot runs before the decision (espeak-ng, LAME and mpg123 have
 * only been initialized). Figures: docs/benchmarks.md (session 8).
 *
 * The same script decides a render's MP3 encoder threads (isShortScript; config.ts, renderEncodeThreads).
 */
import v8 from 'node:v8'

/**
 * New characters of speech (clips not in the cache) from which a render tiers up: about two minutes of
 * audio. A one-paragraph re-render (the bench's edit: 289 new characters) stays on Liftoff; a new
 * 6,000-character article tiers up.
 */
export const TIER_UP_MIN_CHARS = 2000

/** A script of at most this many characters of speech (about 6-7 minutes) is short: an encoder thread per core. */
export const SHORT_SCRIPT_MAX_CHARS = 8 * 1024

/**
 * Whether a script is short, whatever its input (a file, a URL, stdin): at most SHORT_SCRIPT_MAX_CHARS
 * characters of speech. A short render gets an MP3 encoder thread per core.
 */
export function isShortScript(script: { segments: readonly { text: string }[] }): boolean {
  let chars = 0
  for (const s of script.segments) {
    chars += s.text.length
    if (chars > SHORT_SCRIPT_MAX_CHARS) return false
  }
  return true
}

/** The tier this process runs wasm on: 'optimizing' is V8's default (Liftoff, then TurboFan for hot code). */
let tier: 'liftoff' | 'optimizing' = 'optimizing'

export function wasmTier(): 'liftoff' | 'optimizing' {
  return tier
}

/**
 * Disallows TurboFan for WebAssembly in this process and its worker threads (V8's flags are per
 * process). cli.ts calls it for `render` and `briefing` before anything compiles.
 */
export function startOnLiftoff(): void {
  v8.setFlagsFromString('--liftoff-only')
  tier = 'liftoff'
}

/**
 * Given the characters of speech a render is about to synthesize, allows the optimizing tier again
 * when they are TIER_UP_MIN_CHARS or more (--liftoff-only also turned off V8's tier-up flags, so they
 * are set again). Returns the tier the render runs on.
 */
export function tierUpFor(newChars: number): 'liftoff' | 'optimizing' {
  if (tier === 'liftoff' && newChars >= TIER_UP_MIN_CHARS) {
    v8.setFlagsFromString('--no-liftoff-only')
    v8.setFlagsFromString('--wasm-tier-up')
    v8.setFlagsFromString('--wasm-dynamic-tiering')
    tier = 'optimizing'
  }
  return tier
}
