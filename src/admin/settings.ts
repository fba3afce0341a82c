/**
 * Run-time settings: the few settings that are safe to change while the
 * service runs (docs/admin.md, "Settings"), stored in the database as
 * overrides of the configured value (environment / config file) and applied
 * at once: applySettings() swaps deps.config for the configured config with
 * the overrides merged in, so everything that reads deps.config when it works
 * (the feeds, briefings, the sources API, the dashboard) sees the new values
 * on its next request. Values are checked with the same zod rules as
 * src/config.ts.
 *
 * All SQL for the settings lives in settingsRepository() below (the table is
 * made by migration admin-004-settings in src/store/migrations.ts).
 */
import type { z } from 'zod'
import { configSchema, ENV_MAP, type Config } from '../config.ts'
import { AppError } from '../errors.ts'

// ---------------------------------------------------------------- repository

export interface StoredSetting {
  key: string
  value: unknown
  updatedAt: string
  updatedBy: string
}

/** The settings table: key -> JSON value (store.settings, src/store/admin.ts). */
export interface SettingsRepository {
  all(): Promise<StoredSetting[]>
  /** In one transaction: store `set` (key -> value), delete the keys in `reset`. */
  save(set: Record<string, unknown>, reset: string[], by: string): Promise<void>
}

// ---------------------------------------------------------------- the settings

type Section = 'show' | 'briefing' | 'feed' | 'sources'

export interface SettingDef {
  /** "show.title": the config path. */
  key: string
  section: Section
  field: string
  label: string
  help: string
  input: 'text' | 'textarea' | 'email' | 'url' | 'checkbox' | 'number' | 'select'
  options?: readonly string[]
  /** May be unset (null): no schedule, no site link. */
  nullable?: boolean
  /** Re-arm the briefing schedule when this changes. */
  schedule?: boolean
}

/** The zod rule of a config field, exactly as src/config.ts has it. */
function fieldSchema(section: Section, field: string): z.ZodType {
  const sectionSchema = configSchema.shape[section] as unknown as { unwrap(): z.ZodObject }
  const s = sectionSchema.unwrap().shape[field] as z.ZodType | undefined
  if (!s) throw new Error(`config has no ${section}.${field}`)
  return s
}

const def = (key: string, label: string, help: string, input: SettingDef['input'], extra: Partial<SettingDef> = {}): SettingDef => {
  const [section, field] = key.split('.') as [Section, string]
  return { key, section, field, label, help, input, ...extra }
}

export const SETTINGS: readonly SettingDef[] = [
  def('show.title', 'Show title', 'The podcast\'s name in the feeds and the briefing\'s opening.', 'text'),
  def('show.description', 'Description', 'The show\'s description in podcast apps.', 'textarea'),
  def('show.author', 'Author', 'itunes:author of the feeds.', 'text'),
  def('show.ownerName', 'Owner name', 'itunes:owner; directories write to the owner.', 'text'),
  def('show.ownerEmail', 'Owner e-mail', 'itunes:owner e-mail (also podcast:locked\'s owner).', 'email'),
  def('show.category', 'Category', 'An Apple Podcasts category, e.g. "News".', 'text'),
  def('show.explicit', 'Explicit', 'Mark the show explicit in podcast apps.', 'checkbox'),
  def('show.siteUrl', 'Site URL', 'The newsroom\'s site, linked from the feeds (empty: none).', 'url', { nullable: true }),
  def('show.locked', 'podcast:locked', 'Tell other platforms not to import the feed.', 'checkbox'),
  def('feed.itemLimit', 'Episodes per feed', 'The newest this many episodes are in each feed.', 'number'),
  def('briefing.schedule', 'Briefing schedule', 'Cron expression, e.g. "0 6 * * *" for 06:00 every day (empty: no automatic briefing).', 'text', { nullable: true, schedule: true }),
  def('briefing.timeZone', 'Time zone', 'IANA time zone of the schedule and the spoken date, e.g. "Europe/Berlin".', 'text', { schedule: true }),
  def('briefing.lookbackHours', 'Look back (hours)', 'An automatic briefing takes stories from at most this many hours back.', 'number', { schedule: true }),
  def('briefing.maxStories', 'Most stories', 'Most stories an automatic briefing takes, newest first.', 'number', { schedule: true }),
  def('briefing.storyMode', 'Each story', '"lede": its first seconds; "full": the whole story.', 'select', { options: ['lede', 'full'], schedule: true }),
  def('briefing.ledeSeconds', 'Lede seconds', 'How long a story\'s lede is, in seconds.', 'number', { schedule: true }),
  def('sources.intervalSeconds', 'Default polling interval (seconds)', 'For sources added without their own interval from now on.', 'number'),
]

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]))
const ENV_BY_PATH = new Map(Object.entries(ENV_MAP).map(([env, p]) => [p, env]))

/** The environment variable that configures a setting (shown next to the default). */
export const envNameOf = (key: string): string | undefined => ENV_BY_PATH.get(key)

function valueAt(config: Config, key: string): unknown {
  const d = BY_KEY.get(key)!
  return (config[d.section] as Record<string, unknown>)[d.field] ?? null
}

/** Check one value with config.ts's rule (and: text may not be empty). Throws VALIDATION_FAILED naming the field. */
export function parseSetting(key: string, value: unknown): unknown {
  const d = BY_KEY.get(key)
  if (!d) throw new AppError('VALIDATION_FAILED', `"${key}" is not a setting that can be changed here; these can: ${SETTINGS.map((s) => s.key).join(', ')}.`, { details: { problems: [{ field: key, message: 'unknown setting' }] } })
  const fail = (message: string) => new AppError('VALIDATION_FAILED', `Invalid setting ${key}: ${message}.`, { details: { problems: [{ field: key, message }] } })
  if (value === null || (typeof value === 'string' && value.trim() === '')) {
    if (d.nullable) return null
    throw fail('may not be empty; send a value, or reset it to the configured default')
  }
  if (typeof value === 'string' && (d.input === 'text' || d.input === 'textarea') && value.length > 4000) throw fail('is longer than 4000 characters')
  const parsed = fieldSchema(d.section, d.field).safeParse(typeof value === 'string' ? value.trim() : value)
  if (!parsed.success) throw fail(parsed.error.issues.map((i) => i.message).join('; '))
  return parsed.data
}

// ---------------------------------------------------------------- applying

interface Holder {
  config: Config
  store: { settings: SettingsRepository }
}

const configured = new WeakMap<object, Config>()

/** The configured config (environment / file), before run-time settings. */
export function configuredConfig(deps: Holder): Config {
  return configured.get(deps) ?? deps.config
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object' && !Object.isFrozen(obj)) {
    for (const v of Object.values(obj)) deepFreeze(v)
    Object.freeze(obj)
  }
  return obj
}

/** The configured config with the stored settings merged in (a stored value that no longer passes the rules is ignored). */
export function effectiveConfig(base: Config, stored: readonly StoredSetting[]): Config {
  const sections: Partial<Record<Section, Record<string, unknown>>> = {}
  for (const s of stored) {
    const d = BY_KEY.get(s.key)
    if (!d) continue
    let v: unknown
    try {
      v = parseSetting(s.key, s.value)
    } catch {
      continue
    }
    const sec = (sections[d.section] ??= { ...(base[d.section] as Record<string, unknown>) })
    if (v === null) delete sec[d.field]
    else sec[d.field] = v
  }
  return deepFreeze({ ...base, ...sections }) as Config
}

/** Put the stored settings into effect: deps.config becomes the configured config plus the overrides. */
export async function applySettings(deps: Holder): Promise<Config> {
  const stored = await deps.store.settings.all()
  let base = configured.get(deps)
  if (!base) {
    base = deps.config
    configured.set(deps, base)
  }
  deps.config = effectiveConfig(base, stored)
  return deps.config
}

export interface SettingView extends SettingDef {
  env: string | null
  /** The configured value (what "reset to default" returns to). */
  default: unknown
  /** What applies now. */
  value: unknown
  overridden: boolean
  updatedAt: string | null
  updatedBy: string | null
}

/** True once applySettings ran for these deps. */
export const settingsApplied = (deps: object): boolean => configured.has(deps)

export async function listSettings(deps: Holder): Promise<SettingView[]> {
  const base = configuredConfig(deps)
  const stored = new Map((await deps.store.settings.all()).map((s) => [s.key, s]))
  return SETTINGS.map((d) => {
    const s = stored.get(d.key)
    return {
      ...d,
      env: envNameOf(d.key) ?? null,
      default: valueAt(base, d.key),
      value: valueAt(deps.config, d.key),
      overridden: s !== undefined,
      updatedAt: s?.updatedAt ?? null,
      updatedBy: s?.updatedBy ?? null,
    }
  })
}

/**
 * Validate every change first (nothing is stored when one is bad), store them,
 * apply them. A value equal to the configured one removes the override (the
 * setting follows the configuration again). Returns the keys that changed.
 */
export async function changeSettings(deps: Holder, change: { set?: Record<string, unknown>; reset?: string[] }, by: string): Promise<string[]> {
  const base = configuredConfig(deps)
  const set: Record<string, unknown> = {}
  const reset = new Set<string>()
  for (const k of change.reset ?? []) {
    if (!BY_KEY.has(k)) parseSetting(k, null)
    reset.add(k)
  }
  for (const [k, v] of Object.entries(change.set ?? {})) {
    const value = parseSetting(k, v)
    if (reset.has(k)) throw new AppError('VALIDATION_FAILED', `Setting ${k} is both set and reset; send one.`, { details: { problems: [{ field: k, message: 'both set and reset' }] } })
    if (JSON.stringify(value) === JSON.stringify(valueAt(base, k))) reset.add(k)
    else set[k] = value
  }
  const before = new Map(SETTINGS.map((d) => [d.key, JSON.stringify(valueAt(deps.config, d.key))]))
  await deps.store.settings.save(set, [...reset], by)
  await applySettings(deps)
  return SETTINGS.filter((d) => before.get(d.key) !== JSON.stringify(valueAt(deps.config, d.key))).map((d) => d.key)
}

export const isScheduleSetting = (key: string): boolean => BY_KEY.get(key)?.schedule === true
