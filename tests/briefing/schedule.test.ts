/**
 * The daily briefing schedule on the real service: cron in a time zone,
 * one scheduled briefing per day, none on a day without new articles, and a
 * bad cron expression or time zone is a start-up error naming the setting.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { startBriefingSchedule } from '../../src/episodes/schedule.ts'
import { isAppError } from '../../src/errors.ts'
import { feedRuntime } from '../../src/http/routes/feed.ts'
import { startService, type Service } from '../../src/main.ts'

const API_KEY = 'schedule-tests-api-key-0123456789'
const started: { svc: Service; dir: string }[] = []

async function start(briefing: Record<string, unknown>, dataDir?: string): Promise<Service> {
  const dir = dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-schedule-')))
  const overrides: Record<string, unknown> = {
    port: 0,
    host: '127.0.0.1',
    dataDir: dir,
    cacheDir: path.join(dir, 'cache'),
    logLevel: 'silent',
    apiKey: API_KEY,
    'tts.espeakWorkers': 1,
  }
  for (const [k, v] of Object.entries(briefing)) overrides[`briefing.${k}`] = v
  const svc = await startService({ env: {}, overrides, handleSignals: false, shutdownGraceMs: 200 })
  started.push({ svc, dir })
  return svc
}

async function ingest(svc: Service, title: string, publishedAt: Date): Promise<string> {
  const r = await fetch(`${svc.url}/api/articles`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title, text: `${title}. A short story for the schedule test.`, language: 'en', publishedAt: publishedAt.toISOString() }),
  })
  expect(r.status).toBe(201)
  return ((await r.json()) as { id: string }).id
}

afterEach(async () => {
  for (const { svc, dir } of started.splice(0)) {
    feedRuntime(svc.deps).schedule?.stop()
    await svc.close()
    await fs.rm(dir, { recursive: true, force: true })
  }
})

describe('daily briefing schedule', () => {
  it('a bad cron expression or time zone is a start-up error naming the setting', async () => {
    for (const [briefing, setting] of [
      [{ schedule: '0 25 * * *' }, 'briefing.schedule (BRIEFCAST_BRIEFING_SCHEDULE)'],
      [{ schedule: 'every morning' }, 'briefing.schedule (BRIEFCAST_BRIEFING_SCHEDULE)'],
      [{ schedule: '0 6 * * *', timeZone: 'Europe/Atlantis' }, 'briefing.timeZone (BRIEFCAST_BRIEFING_TIMEZONE)'],
    ] as const) {
      try {
        await start(briefing)
        expect.unreachable()
      } catch (err) {
        expect(isAppError(err) && err.code).toBe('CONFIG_INVALID')
        expect((err as Error).message).toContain(setting)
      }
    }
  })

  it('runs in the configured time zone; one briefing per day; none without new articles', async () => {
    const svc = await start({ schedule: '30 6 * * *', timeZone: 'Asia/Tokyo', storyMode: 'lede' })
    const schedule = feedRuntime(svc.deps).schedule!
    const next = schedule.nextRun()!
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit' }).format(next)).toBe('06:30')
    const repo = svc.deps.store.briefings

    // 06:30 in Tokyo on Nov 26 is 21:30 UTC on Nov 25.
    const day1 = new Date('2026-11-25T21:30:00Z')
    expect(await schedule.runOnce(day1)).toBeUndefined() // no articles at all: no episode
    expect((await repo.list({ limit: 10, offset: 0 })).total).toBe(0)

    const a = await ingest(svc, 'Morning story one', new Date('2026-11-25T20:00:00Z'))
    const b = await ingest(svc, 'Morning story two', new Date('2026-11-25T21:00:00Z'))
    await ingest(svc, 'Story from last week', new Date('2026-11-18T21:00:00Z'))
    const made = (await schedule.runOnce(day1))!
    expect(made.origin).toBe('schedule')
    expect(made.day).toBe('2026-11-26')
    expect(made.stories.map((s) => s.articleId)).toEqual([b, a]) // newest first, last week's left out
    expect(made.stories.every((s) => s.mode === 'lede')).toBe(true)
    expect((await svc.deps.store.briefings.getScript(made.id))!.segments[0]!.text).toBe('Your news briefing for Thursday, November 26.')

    // later the same day: nothing more
    expect(await schedule.runOnce(new Date('2026-11-26T02:00:00Z'))).toBeUndefined()
    // the next day without new articles: no episode
    expect(await schedule.runOnce(new Date('2026-11-26T21:30:00Z'))).toBeUndefined()
    expect((await repo.list({ limit: 10, offset: 0 })).total).toBe(1)
    // a new article the next day: a new briefing with only that story
    const c = await ingest(svc, 'Next day story', new Date('2026-11-26T20:00:00Z'))
    const second = (await schedule.runOnce(new Date('2026-11-26T21:30:00Z')))!
    expect(second.day).toBe('2026-11-27')
    expect(second.stories.map((s) => s.articleId)).toEqual([c])
  })

  it('the timer itself fires and queues the briefing (fake clock: no waiting on a real cron timer)', async () => {
    // The service runs without a schedule; the schedule under test is started on the fake clock, with the same deps.
    const svc = await start({})
    // Renders (the article's, the briefing's) are not this test's subject, and must not start on the fake clock.
    await svc.deps.jobs.stop(0)
    await ingest(svc, 'A story for the timer', new Date('2026-11-26T05:00:00Z'))
    const repo = svc.deps.store.briefings
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: new Date('2026-11-26T05:59:00Z') })
    try {
      const config = { ...svc.config, briefing: { ...svc.config.briefing, schedule: '0 6 * * *', timeZone: 'UTC' } }
      const schedule = startBriefingSchedule({ ...svc.deps, config }, feedRuntime(svc.deps).service)!
      try {
        expect(schedule.nextRun()!.toISOString()).toBe('2026-11-26T06:00:00.000Z')
        await vi.advanceTimersByTimeAsync(59_000)
        expect((await repo.list({ limit: 1, offset: 0 })).total).toBe(0) // 05:59:59: not yet
        await vi.advanceTimersByTimeAsync(2_000)
        const { items } = await repo.list({ limit: 10, offset: 0 })
        expect(items).toHaveLength(1)
        expect(items[0]!.origin).toBe('schedule')
        expect(items[0]!.day).toBe('2026-11-26')
        expect(schedule.nextRun()!.toISOString()).toBe('2026-11-27T06:00:00.000Z')
      } finally {
        schedule.stop()
      }
    } finally {
      vi.useRealTimers()
    }
  })

  it('makes a run missed while the service was down at start-up, the same day', async (ctx) => {
    const now = new Date()
    // A daily run two minutes ago (UTC); skip just after midnight, when that was yesterday.
    const missed = new Date(now.getTime() - 120_000)
    if (missed.getUTCDate() !== now.getUTCDate()) ctx.skip()
    const first = await start({})
    const dir = started[0]!.dir
    await ingest(first, 'Story before the restart', new Date(now.getTime() - 3_600_000))
    started.splice(0)
    await first.close()

    const svc = await start({ schedule: `${missed.getUTCMinutes()} ${missed.getUTCHours()} * * *`, timeZone: 'UTC' }, dir)
    const repo = svc.deps.store.briefings
    const deadline = Date.now() + 10_000
    while ((await repo.list({ limit: 1, offset: 0 })).total === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    const { items } = await repo.list({ limit: 10, offset: 0 })
    expect(items).toHaveLength(1)
    expect(items[0]!.origin).toBe('schedule')
    expect(items[0]!.day).toBe(now.toISOString().slice(0, 10))
    expect(feedRuntime(svc.deps).schedule!.nextRun()!.getTime()).toBeGreaterThan(now.getTime() + 23 * 3_600_000)
  })
})
