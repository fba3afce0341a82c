/**
 * Test helpers: a SpeechService that "speaks" by writing WAV clips we
 * generate ourselves (speech-like noise bursts, length from the text), for
 * tests that exercise assembly without depending on a TTS engine. The
 * acceptance tests use the real espeak-ng service when it is available.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig, type Config } from '../../src/config.ts'
import type { Segment } from '../../src/script/types.ts'
import type { CachedClip, SpeechService, VoiceProfile } from '../../src/tts/types.ts'
import { sha256 } from '../../src/util/files.ts'
import { wavFromPcm } from '../../src/tts/wav.ts'

export async function tempDir(prefix = 'briefcast-audio-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix))
}

export function testConfig(cacheDir: string, overrides: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, overrides: { cacheDir, voicesDir: path.join(cacheDir, 'voices'), 'audio.encodeConcurrency': 2, 'tts.espeakWorkers': 2, ...overrides } })
}

/** 16-bit mono WAV from float samples. */
export function wavBytes(samples: Float32Array, sampleRate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2)
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2)
  return wavFromPcm(data, sampleRate)
}

/** Deterministic speech-like signal: syllable-rate amplitude bursts of a few harmonics plus noise, then ~80 ms of silence. */
export function speechLike(seconds: number, sampleRate: number, amplitude: number, seed: number): Float32Array {
  const n = Math.round(seconds * sampleRate)
  const tail = Math.round(0.08 * sampleRate)
  const out = new Float32Array(n + tail)
  let state = seed >>> 0 || 1
  const rand = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 0xffffffff) * 2 - 1
  const f0 = 110 + (seed % 80)
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate
    const env = Math.max(0, Math.sin(Math.PI * 4 * t)) ** 2 * Math.min(1, t / 0.02, (n - i) / (0.02 * sampleRate))
    const tone = Math.sin(2 * Math.PI * f0 * t) * 0.5 + Math.sin(2 * Math.PI * 2 * f0 * t) * 0.3 + Math.sin(2 * Math.PI * 3.1 * f0 * t) * 0.2
    out[i] = amplitude * env * (0.8 * tone + 0.2 * rand())
  }
  return out
}

export const testProfile: VoiceProfile = {
  id: 'test',
  engine: 'tone',
  language: 'en',
  voices: { body: { language: 'en' } },
  pauses: { title: 700, byline: 500, heading: 600, paragraph: 450, quote: 450, 'list-item': 300 },
}

export interface ToneSpeech extends SpeechService {
  calls: number
  /** Clip durations (ms) by segment id, for duration checks. */
  clipMs: Map<string, number>
}

/** A speech service writing generated clips to <dir>/clips/<key>.wav; amplitude varies per role so loudness differs. */
export function toneSpeech(dir: string, opts: { sampleRate?: number; msPerChar?: number; delayMs?: number } = {}): ToneSpeech {
  const sampleRate = opts.sampleRate ?? 22050
  const msPerChar = opts.msPerChar ?? 55
  const inflight = new Map<string, Promise<void>>()
  const svc: ToneSpeech = {
    calls: 0,
    clipMs: new Map(),
    getProfile: () => testProfile,
    profileForLanguage: () => testProfile,
    listProfiles: () => [testProfile],
    limitsFor: () => ({ targetChars: 300, maxBytes: 4000 }),
    async synthesizeSegment(segment: Segment, _profile: VoiceProfile, signal?: AbortSignal): Promise<CachedClip> {
      signal?.throwIfAborted()
      const key = sha256('tone', segment.text, segment.kind).slice(0, 32)
      const wavPath = path.join(dir, 'clips', `${key}.wav`)
      const seconds = Math.max(0.3, (segment.text.length * msPerChar) / 1000)
      const durationMs = Math.round((Math.round(seconds * sampleRate) + Math.round(0.08 * sampleRate)) * 1000 / sampleRate)
      svc.clipMs.set(segment.id, durationMs)
      // Like the real clip cache: a clip being written is joined, not written twice.
      let pending = inflight.get(key)
      let cached = true
      if (!pending) {
        pending = (async () => {
          try {
            await fs.access(wavPath)
          } catch {
            cached = false
            svc.calls++
            if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs))
            const amplitude = segment.kind === 'title' || segment.kind === 'heading' ? 0.9 : segment.kind === 'quote' ? 0.08 : 0.3
            await fs.mkdir(path.dirname(wavPath), { recursive: true })
            const tmp = `${wavPath}.${process.pid}.tmp`
            await fs.writeFile(tmp, wavBytes(speechLike(seconds, sampleRate, amplitude, segment.text.length), sampleRate))
            await fs.rename(tmp, wavPath)
          }
        })()
        inflight.set(key, pending)
        pending.finally(() => inflight.delete(key)).catch(() => {})
      }
      await pending
      return { key, wavPath, sampleRate, durationMs, cached }
    },
    async close() {},
  }
  return svc
}

let counter = 0
export function seg(kind: Segment['kind'], text: string, sectionIndex: number, extra: Partial<Segment> = {}): Segment {
  return { id: sha256(kind, text, String(counter++)).slice(0, 16), kind, text, pauseAfterMs: testProfile.pauses[kind], sectionIndex, ...extra }
}
