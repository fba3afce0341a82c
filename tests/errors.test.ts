import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { AppError, ERROR_CATALOGUE, toAppError, type ErrorCode } from '../src/errors.ts'

describe('error catalogue', () => {
  const page = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')

  it('is documented in docs/errors.md, code by code, with the same status', () => {
    const rows = new Map([...page.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]))
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      expect(rows.get(code), `docs/errors.md table row for ${code}`).toBe(status)
    }
    for (const code of rows.keys()) expect(ERROR_CATALOGUE, `docs/errors.md lists ${code}, which src/errors.ts lacks`).toHaveProperty(code)
  })

  it('gives every code a status in the HTTP error range and a hint', () => {
    for (const [code, { status, help }] of Object.entries(ERROR_CATALOGUE)) {
      expect(status, code).toBeGreaterThanOrEqual(400)
      expect(status, code).toBeLessThan(600)
      expect(help.length, code).toBeGreaterThan(10)
    }
  })

  it('serializes as {code, message, help, details}', () => {
    const err = new AppError('NO_ARTICLE_TEXT', 'No text found.', { details: { chars: 0 } })
    expect(err.status).toBe(422)
    expect(err.toJSON()).toEqual({ code: 'NO_ARTICLE_TEXT', message: 'No text found.', help: ERROR_CATALOGUE.NO_ARTICLE_TEXT.help, details: { chars: 0 } })
  })

  it('wraps unknown errors as UNEXPECTED_ERROR and aborts as ABORTED', () => {
    expect(toAppError(new Error('boom')).code).toBe<ErrorCode>('UNEXPECTED_ERROR')
    const abort = new Error('stop')
    abort.name = 'AbortError'
    expect(toAppError(abort).code).toBe<ErrorCode>('ABORTED')
    const same = new AppError('NOT_FOUND', 'x')
    expect(toAppError(same)).toBe(same)
  })
})
