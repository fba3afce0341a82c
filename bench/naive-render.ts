// The naive pipeline of bench/render.bench.ts when Debian's espeak-ng CLI is absent, as its own process:
// the espeak-ng engine on the whole text in one call, a WAV, then one ffmpeg encode to the same MP3
// settings (no loudness). The bench
// bundles this file with esbuild the way bin/build.js bundles the CLI, so both sides pay the same
// start-up. Usage: node <bundle> <text file> <out.mp3>; prints a JSON line of timings.
import { spawn } from 'node:child_process'
import { promises as fs, readFileSync } from 'node:fs'
import { locateFfmpeg } from '../src/audio/ffmpeg.ts'
import { createEspeakEngine } from '../src/tts/espeak.ts'
import { wavFromPcm } from '../src/tts/wav.ts'

const [input, output] = process.argv.slice(2) as [string, string]
const t0 = performance.now()
const engine = await createEspeakEngine({ workers: 1 })
const t1 = performance.now()
const clip = await engine.synthesize({ text: readFileSync(input, 'utf8'), voice: { language: 'en-US' } })
await engine.close()
const t2 = performance.now()
const wav = `${output}.wav`
await fs.writeFile(wav, wavFromPcm(clip.pcm, clip.sampleRate))
const { ffmpegPath } = locateFfmpeg()
await new Promise<void>((resolve, reject) => {
  const p = spawn(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', wav, '-ar', '44100', '-ac', '1', '-c:a', 'libmp3lame', '-b:a', '64k', '-compression_level', '7', output], { stdio: 'inherit' })
  p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))))
})
await fs.rm(wav, { force: true })
process.stdout.write(JSON.stringify({ startMs: t1 - t0, synthMs: t2 - t1, encodeMs: performance.now() - t2, audioMs: clip.durationMs }) + '\n')
