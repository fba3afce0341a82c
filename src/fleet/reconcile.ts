/**
 * With the Redis queue, enqueueing is not in the same transaction as the
 * article's row: an enqueue lost to a Redis outage would leave the article
 * queued for ever. Rendering nodes therefore enqueue every queued or rendering
 * article again now and then; the job id (one per article revision) makes
 * that a no-op for the ones that have their job.
 */
import type { Logger } from 'pino'
import type { ArticleStatus } from '../store/types.ts'
import type { AppDeps } from '../http/deps.ts'

export const RECONCILE_INTERVAL_MS = 60_000

export async function reconcileOnce(deps: Pick<AppDeps, 'store' | 'renders'>): Promise<number> {
  if (!deps.store.isOpen()) return 0
  let n = 0
  for (const status of ['queued', 'rendering'] as ArticleStatus[]) {
    for (let offset = 0; offset < 100_000; offset += 200) {
      const page = await deps.store.articles.list({ limit: 200, offset, status })
      for (const a of page.items) {
        // `again`: a job that keeps crashing its worker keeps its count of crashes (src/fleet/bull-queue.ts).
        await deps.renders.enqueue(a, undefined, { again: true })
        n++
      }
      if (page.items.length < 200) break
    }
  }
  return n
}

export function startReconciler(deps: Pick<AppDeps, 'store' | 'renders'>, logger: Logger, intervalMs = RECONCILE_INTERVAL_MS): () => void {
  const sweep = () => {
    reconcileOnce(deps).then(
      (n) => {
        if (n > 0) logger.debug({ articles: n }, 'checked that unfinished articles have their render job')
      },
      (err: unknown) => logger.warn({ err }, 'checking unfinished articles failed'),
    )
  }
  const first = setTimeout(sweep, 1000)
  const timer = setInterval(sweep, intervalMs)
  first.unref()
  timer.unref()
  return () => {
    clearTimeout(first)
    clearInterval(timer)
  }
}
