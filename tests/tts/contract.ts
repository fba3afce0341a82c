/**
 * The contract every TTS engine must meet (one suite, run by each engine's
 * test file, as Hono does for its routers): real audio whose length grows with
 * the text, SSML breaks that lengthen the clip, and cancellation that stops work.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { TtsEngine, VoiceSettings } from '../../src/tts/engine.ts'

export interface ContractSubject {
  engine: TtsEngine
  voice: VoiceSettings
  /** Text long enough that synthesizing it takes a while (for abort tests). */
  longText: string
  /** Resolves once the engine has really stopped the aborted work (throws if it did not). */
  assertWorkStopped(): Promise<void>
  close?(): Promise<void>
}

function rms(pcm: Buffer): number {
  let sum = 0
  const n = Math.floor(pcm.length / 2)
  for (let i = 0; i < n; i++) {
    const s = pcm.readInt16LE(i * 2)
    sum += s * s
  }
  return Math.sqrt(sum / Math.max(1, n))
}

export function engineContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`TtsEngine contract: ${name}`, () => {
    let subject: ContractSubject

    beforeAll(async () => {
      subject = await setup()
    })
    afterAll(async () => {
      await subject?.engine.close()
      await subject?.close?.()
    })

    test('describes itself', () => {
      const { engine } = subject
      expect(engine.id).toMatch(/\S/)
      expect(engine.version).toMatch(/\S/)
      expect(engine.capabilities.maxInputBytes).toBeGreaterThan(0)
      expect(engine.capabilities.targetChars).toBeGreaterThan(0)
      expect(engine.capabilities.targetChars).toBeLessThanOrEqual(engine.capabilities.maxInputBytes)
      expect(engine.capabilities.languages).toContain('en')
      expect(engine.capabilities.sampleRate).toBeGreaterThanOrEqual(8000)
    })

    test('lists voices', async () => {
      const voices = await subject.engine.listVoices()
      expect(voices.length).toBeGreaterThan(0)
      for (const v of voices) {
        expect(v.engine).toBe(subject.engine.id)
        expect(v.name).toMatch(/\S/)
        expect(v.languages.length).toBeGreaterThan(0)
      }
    })

    test('returns non-empty mono 16-bit audio whose duration matches its samples', async () => {
      const clip = await subject.engine.synthesize({ text: 'Good morning. Here is the news.', voice: subject.voice })
      expect(clip.pcm.length).toBeGreaterThan(clip.sampleRate / 4) // > 125 ms of samples
      expect(clip.pcm.length % 2).toBe(0)
      expect(clip.durationMs).toBeCloseTo((clip.pcm.length / 2 / clip.sampleRate) * 1000, 3)
      expect(rms(clip.pcm)).toBeGreaterThan(100) // not silence
    })

    test('duration grows with the text', async () => {
      const short = await subject.engine.synthesize({ text: 'The council met today.', voice: subject.voice })
      const long = await subject.engine.synthesize({
        text: 'The council met today. It voted on the budget, the new library and the repairs to the bridge over the river, and then it adjourned until next month.',
        voice: subject.voice,
      })
      expect(long.durationMs).toBeGreaterThan(short.durationMs * 2.5)
    })

    test('SSML breaks lengthen the clip (engines with SSML)', async (ctx) => {
      if (!subject.engine.capabilities.ssml) ctx.skip()
      const plain = await subject.engine.synthesize({ text: '<speak>First point. Second point.</speak>', ssml: true, voice: subject.voice })
      const paused = await subject.engine.synthesize({ text: '<speak>First point. <break time="1500ms"/> Second point.</speak>', ssml: true, voice: subject.voice })
      expect(paused.durationMs - plain.durationMs).toBeGreaterThan(1000)
    })

    test('refuses text over its limit before doing any work', async () => {
      const limit = subject.engine.capabilities.maxInputBytes
      const text = 'word '.repeat(Math.ceil(limit / 5) + 10)
      await expect(subject.engine.synthesize({ text, voice: subject.voice })).rejects.toMatchObject({ code: 'TEXT_TOO_LONG' })
    })

    test('an already aborted signal is refused', async () => {
      const ac = new AbortController()
      ac.abort()
      await expect(subject.engine.synthesize({ text: 'Never said.', voice: subject.voice }, ac.signal)).rejects.toMatchObject({ code: 'ABORTED' })
    })

    test('an aborted request rejects with ABORTED and stops the work', async () => {
      const ac = new AbortController()
      const started = Date.now()
      const pending = subject.engine.synthesize({ text: subject.longText, voice: subject.voice }, ac.signal)
      setTimeout(() => ac.abort(new Error('listener left')), 100)
      await expect(pending).rejects.toMatchObject({ code: 'ABORTED' })
      expect(Date.now() - started).toBeLessThan(10_000)
      await subject.assertWorkStopped()
      // and the engine still works afterwards
      const clip = await subject.engine.synthesize({ text: 'Still here.', voice: subject.voice })
      expect(clip.pcm.length).toBeGreaterThan(0)
    })
  })
}

/** A local engine running on a WorkerPool (espeak-ng, sherpa-onnx): what its pool reports. */
export interface PooledEngine {
  readonly load: { running: number; queued: number }
  readonly cancelled: { jobs: number; lastSamples: number }
}

/**
 * assertWorkStopped for a pooled engine: the pool goes idle, and the worker reported that it
 * abandoned the text long before its end (a fraction of the `fullSamples` the whole text makes).
 */
export async function assertPoolStopped(engine: PooledEngine, fullSamples: number): Promise<void> {
  const t = Date.now()
  while (engine.load.running > 0 && Date.now() - t < 60_000) await new Promise((r) => setTimeout(r, 5))
  expect(engine.load).toMatchObject({ running: 0, queued: 0 })
  const stopped = engine.cancelled
  expect(stopped.jobs).toBeGreaterThanOrEqual(1)
  expect(stopped.lastSamples).toBeLessThan(fullSamples * 0.5)
}
