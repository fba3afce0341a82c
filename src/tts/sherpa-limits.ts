/**
 * The local neural engine's (sherpa.ts) limits, in one place: the registry reads them without
 * loading the engine. No SSML (the models read plain text; pauses between segments come from the
 * profile's pause plan) and no pitch control; speed is sherpa-onnx's length scale (1 / rate).
 */
export const SHERPA_LIMITS = { ssml: false, maxInputBytes: 20_000, targetChars: 400, pitch: false, minRate: 0.25, maxRate: 4 } as const
