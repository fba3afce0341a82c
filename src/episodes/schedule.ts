/**
 * The automatic daily briefing: config.briefing.schedule (cron syntax, read by
 * croner in config.briefing.timeZone) builds a briefing of the articles
 * published since the last scheduled one (at most lookbackHours back). A day
 * with no new articles makes no episode. A run missed while the service was
 * down is made at start-up the same day. At most one scheduled briefing per
 * day (a unique index), even if two processes share the database or the
 * service restarts right after a run. In a fleet a Redis lock per day makes one
 * node do the work while the others' schedules fire at the same moment.
 *
 * config.ts already rejects a bad cron expression or time zone at start-up
 * (CONFIG_INVALID naming briefing.schedule / BRIEFCAST_BRIEFING_SCHEDULE);
 * startBriefingSchedule checks again so a config built by hand fails as loudly.
 */
import { Cron } from 'croner'
import { AppError, isAppError } from '../errors.ts'
import type { AppDeps } from '../http/deps.ts'
import type { BriefingRecord } from '../store/briefings.ts'
import { isUniqueViolation } from '../store/repositories.ts'
import type { BriefingService } from '../feed/briefings.ts'
import { dayInZone } from './briefing.ts'

export interface BriefingSchedule {
  /** Next planned run, or null when the expression has none. */
  nextRun(): Date | null
  /** Build the scheduled briefing for `now` (what the timer calls); undefined when there is nothing new or it exists already. */
  runOnce(now?: Date): Promise<BriefingRecord | undefined>
  stop(): void
}

/** How long a node may take to make the day's briefing before another node may try (its lock expires). */
const SCHEDULE_LOCK_MS = 10 * 60_000

export function startBriefingSchedule(deps: Pick<AppDeps, 'config' | 'logger' | 'store' | 'lock'>, service: BriefingService, options: { catchUp?: boolean } = {}): BriefingSchedule | undefined {
  const { schedule, timeZone, lookbackHours } = deps.config.briefing
  if (!schedule) return undefined
  const log = deps.logger.child({ component: 'briefing-schedule' })

  const runOnce = async (now = new Date()): Promise<BriefingRecord | undefined> => {
    if (!deps.store.isOpen()) return undefined
    const day = dayInZone(now, timeZone)
    // In a fleet, one node makes the day's briefing while the others' schedules fire at the same moment; the unique
    // index stays the last line (a lock that expired mid-run, Redis unreachable).
    let release: (() => Promise<void>) | undefined
    if (deps.lock) {
      try {
        release = await deps.lock(`briefing-schedule:${day}`, SCHEDULE_LOCK_MS)
        if (!release) {
          log.info({ day }, "another node holds the lock for today's scheduled briefing")
          return undefined
        }
      } catch (err) {
        log.warn({ day, err: (err as Error).message }, "cannot take the fleet's briefing lock; relying on the database's unique index")
      }
    }
    try {
      return await makeBriefing(now, day)
    } finally {
      await release?.()
    }
  }

  const makeBriefing = async (now: Date, day: string): Promise<BriefingRecord | undefined> => {
    const repo = service.repo
    if (await repo.getScheduled(day)) {
      log.info({ day }, 'the scheduled briefing for today exists already')
      return undefined
    }
    // "New" articles: since the previous scheduled briefing, but never more than lookbackHours back.
    const previous = (await repo.list({ limit: 50, offset: 0 })).items.find((b) => b.origin === 'schedule')
    let hours = lookbackHours
    if (previous) {
      const since = (now.getTime() - Date.parse(previous.publishedAt)) / 3_600_000
      if (since > 0) hours = Math.min(hours, since)
    }
    try {
      const b = await service.create({ sinceHours: hours, allowPartial: true, date: now.toISOString() }, 'schedule')
      log.info({ day, briefing: b.id, stories: b.stories.length }, 'scheduled briefing queued')
      return b
    } catch (err) {
      if (isAppError(err) && err.code === 'BRIEFING_EMPTY') {
        log.info({ day, sinceHours: hours }, 'no new articles: no briefing today')
        return undefined
      }
      if (isUniqueViolation(err)) {
        log.info({ day }, 'another process made today\'s briefing')
        return undefined
      }
      throw err
    }
  }

  let job: Cron
  try {
    job = new Cron(
      schedule,
      {
        timezone: timeZone,
        // Never keep the process alive just for the schedule, never overlap runs.
        unref: true,
        protect: true,
      },
      async () => {
        try {
          await runOnce()
        } catch (err) {
          log.error({ err }, 'the scheduled briefing failed')
        }
      },
    )
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `briefing.schedule (BRIEFCAST_BRIEFING_SCHEDULE): "${schedule}" is not a valid cron expression in ${timeZone}: ${(err as Error).message}`, {
      cause: err,
      details: { problems: ['briefing.schedule'] },
    })
  }
  log.info({ schedule, timeZone, next: job.nextRun()?.toISOString() }, 'daily briefing scheduled')
  // Catch up after downtime: if today's run time passed while the service was down (a deploy at 06:05
  // for a 06:00 schedule), make today's briefing now instead of skipping the day.
  // Not when re-armed by a settings change (src/admin/settings.ts): a new time earlier today is not a missed run.
  const catchUp = setImmediate(async () => {
    if (options.catchUp === false) return
    try {
      const now = new Date()
      const last = job.previousRuns(1, now)[0]
      if (last && dayInZone(last, timeZone) === dayInZone(now, timeZone) && !(await service.repo.getScheduled(dayInZone(now, timeZone)))) {
        log.info({ missed: last.toISOString() }, 'catching up on a missed scheduled briefing')
        await runOnce(now)
      }
    } catch (err) {
      log.error({ err }, 'catching up on the scheduled briefing failed')
    }
  })
  return {
    nextRun: () => job.nextRun(),
    runOnce,
    stop: () => {
      clearImmediate(catchUp)
      job.stop()
    },
  }
}
