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
import { fleetEnv, startNode, type Node } from './nodes.ts'
import { dropPrefix, REDIS_URL, testPrefix } from './redis-env.ts'

export interface FleetRun {
  dir: string
  prefix: string
  /** Push every node started here; all are killed after the file's tests. */
  nodes: Node[]
  /**
   * The nodes' environment: this run's directory and prefix, the test Redis, and renders at a nice
   * priority (the subject is the fleet, not CPU priority: under SCHED_IDLE a render on a box saturated
   * by other work may stall).
   */
  env: Record<string, string>
  /** Starts a node (with `env` unless given another) and pushes it onto `nodes`. */
  start(kind: 'api' | 'worker', name: string, env?: Record<string, string>): Promise<Node>
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
  const env = fleetEnv({ dir, redisUrl: REDIS_URL, prefix, extra: { BRIEFCAST_RENDER_CPU: 'nice' } })
  const start = async (kind: 'api' | 'worker', name: string, nodeEnv = env) => {
    const node = await startNode(kind, name, nodeEnv)
    nodes.push(node)
    return node
  }
  return { dir, prefix, nodes, env, start, onCleanup: (fn) => void cleanups.push(fn) }
}
