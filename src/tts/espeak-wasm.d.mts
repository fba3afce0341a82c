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

export function loadEspeak(): Promise<EspeakWasm>
