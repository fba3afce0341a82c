/**
 * Client errors are 4xx with the error shape, never 500: multipart without a
 * boundary, a JSON POST without a body, Latin-1 bytes in JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import { API_KEY, startTestService, type TestService } from '../http/helpers.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
})
afterAll(async () => {
  await svc?.stop()
})

const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error

describe('malformed requests', () => {
  it('multipart/form-data without a boundary is 400 on POST/PUT articles and POST assets', async () => {
    const created = await svc.api('/api/articles', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'A short story.' }) })
    const { id } = (await created.json()) as { id: string }
    for (const [method, path] of [['POST', '/api/articles'], ['PUT', `/api/articles/${id}`], ['POST', '/api/assets']] as const) {
      const r = await svc.api(path, { method, headers: { 'content-type': 'multipart/form-data' }, body: 'field=value' })
      expect(r.status, `${method} ${path}`).toBe(400)
      const e = await errorOf(r)
      expect(e.code).toBe('VALIDATION_FAILED')
      expect(e.message).toMatch(/boundary/i)
    }
  })

  it('a JSON POST without a body (no Content-Length, as curl -X POST sends it) is 400, not 415', async () => {
    const { port } = new URL(svc.url)
    const socket = net.connect(Number(port), '127.0.0.1')
    socket.write(`POST /api/articles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`)
    let text = ''
    for await (const chunk of socket) text += String(chunk)
    expect(text).toMatch(/^HTTP\/1\.1 400 /)
    expect(text).toContain('"EMPTY_INPUT"')
  })

  it('Latin-1 bytes in a JSON body are INVALID_ENCODING', async () => {
    const body = Buffer.concat([Buffer.from('{"title":"Caf'), Buffer.from([0xe9]), Buffer.from('","text":"Un caf'), Buffer.from([0xe9]), Buffer.from(' noir."}')])
    const r = await svc.api('/api/articles', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(r.status).toBe(400)
    expect((await errorOf(r)).code).toBe('INVALID_ENCODING')
  })
})
