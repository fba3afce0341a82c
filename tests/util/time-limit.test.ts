import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { within } from '../../src/util/time-limit.ts'

describe('within', () => {
  it('answers with the promise when it settles in time, its rejection included', async () => {
    await expect(within(Promise.resolve(42), 50, 'late')).resolves.toBe(42)
    await expect(within(Promise.reject(new Error('own')), 50, 'late')).rejects.toThrow('own')
  })

  it('rejects with the given message or error once the time is up', async () => {
    const never = new Promise<never>(() => {})
    const t = Date.now()
    await expect(within(never, 30, 'no answer within 30 ms')).rejects.toThrow('no answer within 30 ms')
    expect(Date.now() - t).toBeGreaterThanOrEqual(25)
    await expect(within(never, 10, new AppError('SERVICE_UNAVAILABLE', 'away', { status: 503 }))).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 })
  })
})
