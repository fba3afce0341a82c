/**
 * Loads a sherpa-onnx TTS model once and prints what sherpa-onnx reports, as one JSON line:
 * {"sampleRate": n, "numSpeakers": n}. Run as a child process by models.ts at install time:
 * sherpa-onnx ends the process on some malformed models, which must not end the caller.
 * Usage: node sherpa-probe.mjs '<OfflineTts config as JSON>'
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const sherpa = require('sherpa-onnx-node')
const tts = await sherpa.OfflineTts.createAsync(JSON.parse(process.argv[2]))
process.stdout.write(`${JSON.stringify({ sampleRate: tts.sampleRate, numSpeakers: tts.numSpeakers })}\n`)
