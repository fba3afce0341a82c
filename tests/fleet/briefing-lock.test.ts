/**
 * The daily briefing across a fleet: two API nodes whose schedules fire at the same moments (every second here),
 * a worker, Redis, one database. Once an article is ready, exactly one scheduled briefing is made: one node takes
 * the day's lock (Redis) and makes it, the other sees the lock or the finished briefing. Neither gets as far as the
 * database's unique index (the last line), and nothing about the schedule is logged as an error.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import { beforeAll, describe, expect, it } from 'vitest'
import { paragraphs } from '../http/helpers.ts'
import { postArticle, waitReady, type Node } from './nodes.ts'
import { fleetRun } from './fixture.ts'
import { redisProblem } from './redis-env.ts'

const { dir, env, start } = fleetRun('briefing-lock')
const scheduled = { ...env, BRIEFCAST_BRIEFING_SCHEDULE: '* * * * * *', BRIEFCAST_BRIEFING_TIMEZONE: 'UTC' }
let a: Node, b: Node

beforeAll(async () => {
  if (redisProblem) return
  a = await start('api', 'api-a', scheduled)
  ;[b] = await Promise.all([start('api', 'api-b', scheduled), start('worker', 'worker')])
}, 180_000)

const scheduledBriefings = () => {
  const db = new Database(path.join(dir, 'data', 'briefcast.db'), { readonly: true })
  try {
    return db.prepare("SELECT id, day FROM briefings WHERE origin = 'schedule'").all() as { id: string; day: string }[]
  } finally {
    db.close()
  }
}
const lines = (n: Node, msg: string) => n.log.filter((e) => e.msg === msg)

describe.skipIf(redisProblem)('the daily briefing on two API nodes whose schedules fire together', () => {
  it('makes exactly one briefing; the other node stands aside without an error', async () => {
    const id = await postArticle(a.url, { title: 'The only story today', text: paragraphs(3, 'A story for the daily briefing') })
    await waitReady(a.url, id)
    const end = Date.now() + 60_000
    while (scheduledBriefings().length === 0) {
      if (Date.now() > end) throw new Error('no scheduled briefing within 60 s of the article being ready')
      await new Promise((r) => setTimeout(r, 200))
    }
    // Both schedules keep firing every second: several more rounds on both nodes.
    await new Promise((r) => setTimeout(r, 5000))
    const made = scheduledBriefings()
    expect(made).toHaveLength(1)
    expect(made[0]!.day).toBe(new Date().toISOString().slice(0, 10))
    const queued = [a, b].flatMap((n) => lines(n, 'scheduled briefing queued'))
    expect(queued).toHaveLength(1)
    const winner = lines(a, 'scheduled briefing queued').length === 1 ? a : b
    const other = winner === a ? b : a
    // The other node stood aside at the lock or found the briefing made; the unique index never had to refuse one.
    const aside = lines(other, "another node holds the lock for today's scheduled briefing").length + lines(other, 'the scheduled briefing for today exists already').length
    expect(aside).toBeGreaterThan(0)
    console.log(`the other node saw the lock held ${lines(other, "another node holds the lock for today's scheduled briefing").length} time(s)`)
    for (const n of [a, b]) {
      expect(lines(n, "another process made today's briefing")).toEqual([])
      expect(lines(n, "cannot take the fleet's briefing lock; relying on the database's unique index")).toEqual([])
      expect(n.log.filter((e) => (e.level as number) >= 50)).toEqual([])
      expect(n.proc.exitCode).toBeNull()
    }
  }, 300_000)
})
