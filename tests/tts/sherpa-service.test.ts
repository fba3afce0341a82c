/**
 * The service speaking with the local neural engine (real sherpa-onnx, the tiny Piper model of
 * piper-model.ts): an article on a profile with the model renders, its transcript's sentence cues
 * come from the engine's sentence timings; a model removed while the service runs fails that
 * article with MODEL_NOT_INSTALLED and the install command, and other articles keep rendering.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseVtt } from '../../src/audio/transcript.ts'
import { installModel } from '../../src/tts/models.ts'
import { createSherpaEngine } from '../../src/tts/sherpa.ts'
import { postJson, ready, startTestService, waitForArticle, type TestService } from '../http/helpers.ts'
import { tinyPiperArchive } from './piper-model.ts'

const MODEL = 'vits-piper-en_US-tiny-low'
const ROOT = path.resolve(import.meta.dirname, '../..')

let dir: string
let modelsDir: string
let svc: TestService

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-neural-svc-'))
  modelsDir = path.join(dir, 'models')
  const archive = await tinyPiperArchive(path.join(dir, 'archives'), MODEL, { speakers: 2, sampleRate: 16000 })
  await installModel(archive, { modelsDir, maxBytes: 50e6, allowlist: [], timeoutMs: 10_000 })
  const voicesDir = path.join(dir, 'voices')
  await fs.mkdir(voicesDir)
  await fs.copyFile(path.join(ROOT, 'voices/default.json'), path.join(voicesDir, 'default.json'))
  await fs.writeFile(path.join(voicesDir, 'neural.json'), JSON.stringify({ engine: 'sherpa-onnx', language: 'en-US', voices: { body: { name: MODEL, language: 'en-US' } } }))
  svc = await startTestService({ voicesDir, 'models.dir': modelsDir })
}, 180_000)

afterAll(async () => {
  await svc?.stop()
  await fs.rm(dir, { recursive: true, force: true })
})

const SENTENCES = ['The council met on Tuesday.', 'Members discussed the budget for the coming year and agreed to meet again next month, after the summer break.', 'Then they left.']

describe('the service with a local neural voice', () => {
  it('renders an article with the model; transcript cues start where the engine said each sentence starts', { timeout: 240_000 }, async () => {
    const r = await postJson(svc, '/api/articles', { title: 'Council news', text: `${SENTENCES.join(' ')}\n\nA second paragraph follows here.`, voice: 'neural' })
    expect(r.status).toBe(201)
    const { id } = (await r.json()) as { id: string }
    const done = await waitForArticle(svc, id, ready, 200_000)
    expect(done.status, JSON.stringify(done.error)).toBe('ready')
    const vtt = parseVtt(await (await fetch(svc.url + `/listen/${id}/transcript.vtt`)).text())
    const first = vtt.findIndex((c) => c.text === SENTENCES[0])
    expect(first).toBeGreaterThanOrEqual(0)
    // Each sentence alone, with the same model: its length is where the next one starts.
    const engine = await createSherpaEngine({ modelsDir })
    try {
      const lengths = await Promise.all(SENTENCES.map(async (text) => (await engine.synthesize({ text, voice: { name: MODEL, language: 'en-US' } })).durationMs))
      // The long second sentence is cut into cues of at most 65 characters (podcast apps' caption width); its first cue
      // starts the sentence, and the third sentence's cue follows the second sentence's last one.
      expect(SENTENCES[1]!.startsWith(vtt[first + 1]!.text)).toBe(true)
      const third = vtt.findIndex((c) => c.text === SENTENCES[2])
      expect(third).toBeGreaterThan(first + 1)
      expect(vtt.slice(first + 1, third).map((c) => c.text).join(' ')).toBe(SENTENCES[1])
      // The first cue starts with its segment (a few ms of encoder priming before the speech).
      const firstGap = vtt[first + 1]!.startMs - vtt[first]!.startMs - lengths[0]!
      expect(firstGap).toBeGreaterThanOrEqual(-2)
      expect(firstGap).toBeLessThan(60)
      // Later sentences start at speech start + the engine's sentence start: exactly the lengths before them.
      expect(Math.abs(vtt[third]!.startMs - vtt[first + 1]!.startMs - lengths[1]!)).toBeLessThanOrEqual(2)
    } finally {
      await engine.close()
    }
  })

  it('a model removed while the service runs: MODEL_NOT_INSTALLED with the install command; other articles still render', { timeout: 240_000 }, async () => {
    await fs.rename(path.join(modelsDir, MODEL), path.join(dir, 'moved-away'))
    try {
      const r = await postJson(svc, '/api/articles', { title: 'Unspeakable', text: 'This text was never said by this voice before.', voice: 'neural' })
      const { id } = (await r.json()) as { id: string }
      const failed = await waitForArticle(svc, id, ready, 200_000)
      expect(failed.status).toBe('failed')
      expect(failed.error).toMatchObject({ code: 'MODEL_NOT_INSTALLED', message: expect.stringContaining('briefcast voices install') })
      const ok = await postJson(svc, '/api/articles', { title: 'Still fine', text: 'The default voice keeps working.' })
      const other = await waitForArticle(svc, ((await ok.json()) as { id: string }).id, ready, 200_000)
      expect(other.status).toBe('ready')
    } finally {
      await fs.rename(path.join(dir, 'moved-away'), path.join(modelsDir, MODEL))
    }
  })
})
