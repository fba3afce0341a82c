/** Small assertions shared by test files. */
import { expect } from 'vitest'
import { AppError } from '../../src/errors.ts'

/** The AppError a promise rejects with (fails the test when it resolves, or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(AppError)
  return err as AppError
}

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
