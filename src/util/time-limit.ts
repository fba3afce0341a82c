/**
 * A promise's answer, or a rejection with `error` (an Error, or a message for one) if it has not settled within
 * `ms`. The timer is cleared either way. The work behind `p` is not stopped: use it where the caller must not wait
 * (a health check, a request while a dependency is away), not as cancellation.
 */
export function within<T>(p: Promise<T>, ms: number, error: Error | string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof error === 'string' ? new Error(error) : error), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}
