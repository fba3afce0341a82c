/**
 * Cross-node cache invalidation. The HTTP layer keeps one in-memory cache that
 * can go stale on another node: open descriptors of served files
 * (src/http/serve-file.ts), which stay readable after the file is deleted. A
 * node that deletes files (an article or asset deleted) publishes their paths,
 * relative to the cache directory; every node forgets them. The other
 * in-memory state is safe across nodes: feed XML is memoized by a fingerprint
 * of rows read on each request, listen counts and briefings live in the database.
 */
import path from 'node:path'
import type { Logger } from 'pino'
import { forgetFile, onForgetFile } from '../http/serve-file.ts'
import type { Fleet } from './redis.ts'

export function shareForgottenFiles(fleet: Fleet, cacheDir: string, logger: Logger): () => Promise<void> {
  const channel = fleet.key('files-forgotten')
  const root = path.resolve(cacheDir)
  const sub = fleet.connect('file-events', { failFast: true })
  void sub.subscribe(channel).catch((err: Error) => logger.warn({ err: err.message }, 'cannot subscribe to file events'))
  sub.on('message', (_channel: string, rel: string) => {
    const abs = path.resolve(root, rel)
    // Only files under the cache directory, whatever a message says.
    if (abs.startsWith(root + path.sep)) forgetFile(abs, true)
  })
  const unsubscribe = onForgetFile((file) => {
    const rel = path.relative(root, path.resolve(file))
    if (rel.startsWith('..') || path.isAbsolute(rel)) return
    void fleet.redis.publish(channel, rel).catch(() => {})
  })
  return async () => {
    unsubscribe()
    sub.disconnect()
  }
}
