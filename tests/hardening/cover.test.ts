/** Cover art is decoded in full before it is accepted: a valid header over garbage is INVALID_IMAGE. */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/audio/ffmpeg.ts'
import { startTestService, type TestService } from '../http/helpers.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
})
afterAll(async () => {
  await svc?.stop()
})

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}
function crc32(buf: Buffer): number {
  let c = ~0
  for (const b of buf) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1
  }
  return ~c >>> 0
}

const upload = (name: string, type: string, data: Buffer) => {
  const form = new FormData()
  form.set('kind', 'cover')
  form.set('file', new Blob([new Uint8Array(data)], { type }), name)
  return svc.api('/api/assets', { method: 'POST', body: form })
}

describe('cover art', () => {
  it('refuses a PNG whose header is valid but whose data is garbage, and leaves no file behind', async () => {
    const ihdr = Buffer.alloc(13)
    ihdr.writeUInt32BE(1400, 0)
    ihdr.writeUInt32BE(1400, 4)
    ihdr.set([8, 2, 0, 0, 0], 8)
    const garbage = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), Buffer.from('garbage'.repeat(1000))])
    // The service made a default cover at start (the show's title on a plain background): only that one stays.
    const before = ((await (await svc.api('/api/assets?kind=cover')).json()) as { items: unknown[] }).items
    const r = await upload('cover.png', 'image/png', garbage)
    expect(r.status).toBe(415)
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('INVALID_IMAGE')
    expect(((await (await svc.api('/api/assets?kind=cover')).json()) as { items: unknown[] }).items).toEqual(before)
  })

  it('accepts a real PNG', async () => {
    const out = path.join(svc.dir, 'real.png')
    await promisify(execFile)(locateFfmpeg().ffmpegPath, ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=1400x1400', '-frames:v', '1', out])
    const r = await upload('real.png', 'image/png', readFileSync(out))
    expect(r.status).toBe(201)
    expect((await r.json()) as Record<string, unknown>).toMatchObject({ kind: 'cover', width: 1400, height: 1400, mimeType: 'image/png' })
  })
})
