/**
 * One test file's fleet: a data/cache directory and a Redis prefix of its own, and the nodes
 * it starts. After the file's tests the nodes are killed (SIGKILL: nothing of theirs must be
 * needed any more), then the file's own clean-ups run (proxies, servers), then the prefix's
 * keys and the directory are removed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'
import type { Node } from './nodes.ts'
import { dropPrefix, testPrefix } from './redis-env.ts'

export interface FleetRun {
  dir: string
  prefix: string
  /** Push every node started here; all are killed after the file's tests. */
  nodes: Node[]
  /** Runs after the nodes are killed, before the prefix and directory are removed. */
  onCleanup(fn: () => unknown): void
}

export function fleetRun(name: string): FleetRun {
  const dir = mkdtempSync(path.join(os.tmpdir(), `briefcast-${name}-`))
  const prefix = testPrefix(name)
  const nodes: Node[] = []
  const cleanups: (() => unknown)[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
    for (const fn of cleanups) await fn()
    await dropPrefix(prefix)
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir, prefix, nodes, onCleanup: (fn) => void cleanups.push(fn) }
}
