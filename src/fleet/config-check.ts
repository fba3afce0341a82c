/**
 * Start-up check of the fleet settings: a combination that cannot work across
 * machines is refused with CONFIG_INVALID saying what to add. One function for
 * every part of the fleet (queue, database, blob storage), so each can add its
 * own rule here.
 */
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'

/** What a process is: the whole service, the API without renders (`serve --no-render`), or a render worker. */
export type NodeRole = 'all' | 'api' | 'worker'

export interface FleetShape {
  role: NodeRole
  /** Where rows live: 'sqlite' (a file on this machine) or a shared database server. */
  database: 'sqlite' | 'postgres'
  /** Where audio files live: 'local' (config.cacheDir on this machine) or object storage. */
  storage: 'local' | 's3'
}

/** Problems with this combination of settings, each saying what to change; empty when it can work. */
export function fleetProblems(config: Config, shape: FleetShape): string[] {
  const problems: string[] = []
  const redis = Boolean(config.redis.url)
  if (!redis && shape.role !== 'all') {
    problems.push(
      shape.role === 'worker'
        ? '`briefcast worker` takes its jobs from Redis: set BRIEFCAST_REDIS_URL (redis.url) on the workers and the API nodes.'
        : '`briefcast serve --no-render` leaves rendering to workers, which need the Redis queue: set BRIEFCAST_REDIS_URL (redis.url), or drop --no-render.',
    )
  }
  if (!redis && shape.database !== 'sqlite') {
    problems.push('A shared database means several nodes, and several nodes need the Redis queue and event bus: set BRIEFCAST_REDIS_URL (redis.url).')
  }
  if (redis && !config.fleet.singleMachine) {
    const local = [
      shape.database === 'sqlite' ? 'the SQLite database (set BRIEFCAST_DATABASE_URL to a postgres:// URL)' : undefined,
      shape.storage === 'local' ? 'local audio files (set BRIEFCAST_STORAGE_URL to an s3:// URL)' : undefined,
    ].filter(Boolean)
    if (local.length > 0) {
      problems.push(
        `The Redis queue lets nodes on other machines take jobs, but they cannot reach ${local.join(' or ')}. ` +
          'For several processes on ONE machine sharing the data and cache directories, set BRIEFCAST_FLEET_SINGLE_MACHINE=true (fleet.singleMachine) instead.',
      )
    }
  }
  return problems
}

export function checkFleetConfig(config: Config, shape: FleetShape): void {
  const problems = fleetProblems(config, shape)
  if (problems.length === 0) return
  throw new AppError('CONFIG_INVALID', `Cannot start this combination of settings:\n  - ${problems.join('\n  - ')}`, {
    details: { problems },
    help: 'docs/deployment.md, "Running several nodes", lists what each kind of node needs.',
  })
}
