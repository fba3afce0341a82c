/**
 * Characters sent to cloud speech engines, per engine and calendar month
 * (UTC), in the engine_usage table (migration engines-001-usage). Sites budget
 * cloud TTS by characters; these are the characters each provider bills for
 * the calls briefcast made (clip-cache hits cost nothing and are not counted).
 */
import type Database from 'better-sqlite3'

export interface EngineUsageRow {
  engine: string
  /** 'YYYY-MM' (UTC). */
  month: string
  characters: number
  requests: number
}

/** 'YYYY-MM' of a date, in UTC. */
export function usageMonth(at: Date = new Date()): string {
  return at.toISOString().slice(0, 7)
}

export interface EngineUsageRepository {
  add(engine: string, characters: number, at?: Date): void
  /** Rows of a month (default: the current one), or of every month when month is 'all'; newest month first, then by engine. */
  list(month?: string | 'all'): EngineUsageRow[]
}

export function engineUsageRepository(db: Database.Database): EngineUsageRepository {
  const add = db.prepare(
    `INSERT INTO engine_usage (engine, month, characters, requests) VALUES (?, ?, ?, 1)
     ON CONFLICT (engine, month) DO UPDATE SET characters = characters + excluded.characters, requests = requests + 1`,
  )
  const ofMonth = db.prepare('SELECT engine, month, characters, requests FROM engine_usage WHERE month = ? ORDER BY engine')
  const all = db.prepare('SELECT engine, month, characters, requests FROM engine_usage ORDER BY month DESC, engine')
  return {
    add(engine, characters, at = new Date()) {
      if (!Number.isFinite(characters) || characters <= 0) return
      add.run(engine, usageMonth(at), Math.round(characters))
    },
    list(month = usageMonth()) {
      return (month === 'all' ? all.all() : ofMonth.all(month)) as EngineUsageRow[]
    },
  }
}
