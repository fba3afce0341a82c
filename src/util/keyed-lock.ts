/**
 * Runs async work one at a time per key (e.g. per article id), in arrival
 * order; different keys run in parallel. In-process only: the store's
 * revision check is what holds across processes.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve()
    const result = before.then(work, work)
    const tail = result.catch(() => {})
    this.#tails.set(key, tail)
    // The last one out removes the key, so the map does not grow with every id ever edited.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return result
  }

  get size(): number {
    return this.#tails.size
  }
}
