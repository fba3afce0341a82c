// Types of espeak-wasm.mjs (plain JavaScript: it runs inside the espeak worker, which loads no TypeScript).

export interface EspeakWasmVoice {
  name: string
  identifier: string
  languages: { priority: number; name: string }[]
}

export interface EspeakWasm {
  sampleRate: number
  /** 0 when the voice (a voice file name such as "gmw/en-US" or "en-gb+m3") was set. */
  setVoice(name: string): number
  setRate(wpm: number): number
  setPitch(pitch: number): number
  /**
   * Speaks ssml (always parsed as SSML). onChunk gets views into the engine's memory, valid during the
   * call only: 16-bit samples, and (type, text position, length, audio ms) quadruples with type
   * 1 = word, 2 = sentence. Returning true stops the synthesis.
   */
  synthesize(ssml: string, onChunk: (samples: Int16Array, events: Int32Array) => boolean): number
  listVoices(): EspeakWasmVoice[]
  listVariants(): string[]
}

/** `dataDir`: the voice data as files (see extractVoiceData); by default the build's when it has it, else the package's blob in memory. */
export function loadEspeak(options?: { dataDir?: string }): Promise<EspeakWasm>
/** Where the build writes the voice data out for the compiled tree in `distDir`. */
export function voiceDataDir(distDir: string): string
/** Writes the voice data package's files under dir (atomically; nothing if dir exists). */
export function extractVoiceData(dir: string): void
