import { once } from 'node:events'
import { createRequire } from 'node:module'
import { describe, expect, test } from 'vitest'
import { startWorker } from '../../src/util/worker.ts'

describe('startWorker', () => {
  test('runs a .ts entry in a worker thread with the workerData it was given', async () => {
    const w = startWorker(new URL('./fixtures/echo-worker.ts', import.meta.url), { workerData: { n: 42, list: ['a'] } })
    const [msg] = await once(w, 'message')
    expect(msg).toEqual({ label: 'typescript', workerData: { n: 42, list: ['a'] } })
    await w.terminate()
  })

  test('passes non-object workerData through unchanged, and none as undefined', async () => {
    for (const data of ['plain string', 7, undefined]) {
      const w = startWorker(new URL('./fixtures/echo-worker.ts', import.meta.url), { workerData: data })
      const [msg] = await once(w, 'message')
      expect(msg).toEqual({ label: 'typescript', workerData: data })
      await w.terminate()
    }
  })

  test('also works with an empty execArgv (the parent loader is not needed)', async () => {
    const w = startWorker(new URL('./fixtures/echo-worker.ts', import.meta.url), { execArgv: [], workerData: { x: 1 } })
    const [msg] = await once(w, 'message')
    expect(msg).toEqual({ label: 'typescript', workerData: { x: 1 } })
    await w.terminate()
  })

  test('starts a plain .mjs entry directly, with no boot file in between', async () => {
    const url = new URL('../../src/tts/espeak-worker.mjs', import.meta.url)
    // The espeak worker says it is ready; through the boot file it would also need tsx.
    const cancel = new SharedArrayBuffer(4)
    const w = startWorker(url, { execArgv: [], workerData: { cancel } })
    const [msg] = await once(w, 'message')
    expect(msg).toEqual({ ready: true })
    await w.terminate()
    // The shared boot file exists once, in src/util/.
    expect(() => createRequire(import.meta.url).resolve('../../src/tts/worker-boot.mjs')).toThrow()
  })
})
