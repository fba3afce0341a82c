/**
 * All settings in one validated, frozen object.
 * Precedence: CLI flags (overrides) > environment (BRIEFCAST_*, PORT) > config
 * file (JSON, BRIEFCAST_CONFIG or ./briefcast.config.json) > defaults.
 * Every problem is reported at once in one CONFIG_INVALID error.
 */
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Cron } from 'croner'
import { z } from 'zod'
import { AppError } from './errors.ts'

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v))])
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max)
const optionalString = z.string().trim().min(1).optional()

const cronExpression = z.string().trim().refine(
  (expr) => {
    try {
      new Cron(expr, { paused: true })
      return true
    } catch {
      return false
    }
  },
  { message: 'is not a valid cron expression (e.g. "0 6 * * *" for 06:00 every day)' },
)

export const configSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().default('0.0.0.0'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  dataDir: z.string().default('./data'),
  cacheDir: z.string().default('./audio-cache'),
  voicesDir: z.string().default('./voices'),
  apiKey: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Absolute base URL used for every link in feeds and the player; defaults to http://localhost:<port>. */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  defaultVoice: z.string().default('default'),
  tts: z
    .object({
      /** Engine to fall back to when a cloud engine fails; off by default (a site may prefer silence to a different voice). */
      fallbackEngine: z.enum(['espeak-ng']).optional(),
      espeakWorkers: int(1, 64).default(Math.max(1, Math.min(os.availableParallelism(), 8))),
    })
    .prefault({}),
  google: z
    .object({
      keyFile: optionalString,
      projectId: optionalString,
      apiEndpoint: optionalString,
      port: int(1, 65535).optional(),
      requestsPerMinute: int(1, 100_000).default(900),
      maxRetries: int(0, 10).default(4),
    })
    .prefault({}),
  audio: z
    .object({
      bitrateKbps: int(32, 320).default(64),
      format: z.enum(['mp3', 'm4a']).default('mp3'),
      targetLufs: z.coerce.number().min(-40).max(-5).default(-16),
      truePeakDb: z.coerce.number().min(-9).max(0).default(-1),
      encodeConcurrency: int(1, 64).default(Math.max(1, os.availableParallelism())),
    })
    .prefault({}),
  cache: z
    .object({
      maxBytes: int(1024 * 1024).default(2 * 1024 * 1024 * 1024),
    })
    .prefault({}),
  jobs: z
    .object({
      concurrency: int(1, 32).default(1),
      maxAttempts: int(1, 20).default(3),
      retryBaseMs: int(0).default(2000),
    })
    .prefault({}),
  fetch: z
    .object({
      allowlist: z.array(z.string()).default([]),
      timeoutMs: int(100).default(10_000),
      maxBytes: int(1024).default(5 * 1024 * 1024),
    })
    .prefault({}),
  uploads: z
    .object({
      maxArticleBytes: int(1024).default(5 * 1024 * 1024),
      maxAssetBytes: int(1024).default(20 * 1024 * 1024),
    })
    .prefault({}),
  show: z
    .object({
      title: z.string().default('briefcast'),
      description: z.string().default('Audio editions of our articles.'),
      language: z.string().default('en'),
      author: z.string().default('briefcast'),
      ownerName: z.string().default('briefcast'),
      ownerEmail: z.email().default('podcast@example.com'),
      category: z.string().default('News'),
      explicit: bool.default(false),
      imageUrl: z.url().optional(),
      siteUrl: z.url().optional(),
      /** Stable podcast:guid for the show; derived from the public URL when unset. */
      guid: optionalString,
    })
    .prefault({}),
  briefing: z
    .object({
      /** Cron expression for the automatic daily briefing; unset = no schedule. */
      schedule: cronExpression.optional(),
      timeZone: z
        .string()
        .refine(
          (tz) => {
            try {
              new Intl.DateTimeFormat('en', { timeZone: tz })
              return true
            } catch {
              return false
            }
          },
          { message: 'is not an IANA time zone (e.g. "Europe/Berlin" or "UTC")' },
        )
        .default('UTC'),
      lookbackHours: int(1, 24 * 14).default(24),
      storyMode: z.enum(['full', 'lede']).default('lede'),
      ledeSeconds: int(10, 3600).default(60),
      /** Most stories an automatic ("last N hours") briefing takes, newest first. */
      maxStories: int(1, 100).default(10),
    })
    .prefault({}),
  feed: z
    .object({
      itemLimit: int(1, 10_000).default(100),
    })
    .prefault({}),
  admin: z
    .object({
      /** Name of the admin account created on first start (when there are no users yet). */
      initialUser: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/, 'must be 2-64 letters, digits, ".", "_", "@" or "-"').default('admin'),
      /** A dashboard session lasts this long after signing in. */
      sessionHours: int(1, 24 * 90).default(12),
      /** Wrong passwords (per user name or per client address) within a minute before further tries are refused. */
      loginMaxFailures: int(1, 1000).default(10),
    })
    .prefault({}),
})

export type Config = Readonly<z.infer<typeof configSchema>> & { readonly publicUrl: string }

/** Environment variable -> config path. */
export const ENV_MAP: Record<string, string> = {
  PORT: 'port',
  BRIEFCAST_HOST: 'host',
  BRIEFCAST_LOG_LEVEL: 'logLevel',
  BRIEFCAST_DATA_DIR: 'dataDir',
  BRIEFCAST_CACHE_DIR: 'cacheDir',
  BRIEFCAST_VOICES_DIR: 'voicesDir',
  BRIEFCAST_API_KEY: 'apiKey',
  BRIEFCAST_PUBLIC_URL: 'publicUrl',
  BRIEFCAST_DEFAULT_VOICE: 'defaultVoice',
  BRIEFCAST_FALLBACK_ENGINE: 'tts.fallbackEngine',
  BRIEFCAST_ESPEAK_WORKERS: 'tts.espeakWorkers',
  BRIEFCAST_GOOGLE_KEY_FILE: 'google.keyFile',
  BRIEFCAST_GOOGLE_PROJECT_ID: 'google.projectId',
  BRIEFCAST_GOOGLE_API_ENDPOINT: 'google.apiEndpoint',
  BRIEFCAST_GOOGLE_REQUESTS_PER_MINUTE: 'google.requestsPerMinute',
  BRIEFCAST_BITRATE_KBPS: 'audio.bitrateKbps',
  BRIEFCAST_AUDIO_FORMAT: 'audio.format',
  BRIEFCAST_ENCODE_CONCURRENCY: 'audio.encodeConcurrency',
  BRIEFCAST_CACHE_MAX_BYTES: 'cache.maxBytes',
  BRIEFCAST_JOB_CONCURRENCY: 'jobs.concurrency',
  BRIEFCAST_JOB_MAX_ATTEMPTS: 'jobs.maxAttempts',
  BRIEFCAST_FETCH_ALLOWLIST: 'fetch.allowlist',
  BRIEFCAST_FETCH_TIMEOUT_MS: 'fetch.timeoutMs',
  BRIEFCAST_SHOW_TITLE: 'show.title',
  BRIEFCAST_SHOW_DESCRIPTION: 'show.description',
  BRIEFCAST_SHOW_LANGUAGE: 'show.language',
  BRIEFCAST_SHOW_AUTHOR: 'show.author',
  BRIEFCAST_SHOW_OWNER_NAME: 'show.ownerName',
  BRIEFCAST_SHOW_OWNER_EMAIL: 'show.ownerEmail',
  BRIEFCAST_SHOW_CATEGORY: 'show.category',
  BRIEFCAST_SHOW_EXPLICIT: 'show.explicit',
  BRIEFCAST_SHOW_IMAGE_URL: 'show.imageUrl',
  BRIEFCAST_SHOW_SITE_URL: 'show.siteUrl',
  BRIEFCAST_BRIEFING_SCHEDULE: 'briefing.schedule',
  BRIEFCAST_BRIEFING_TIMEZONE: 'briefing.timeZone',
  BRIEFCAST_BRIEFING_LOOKBACK_HOURS: 'briefing.lookbackHours',
  BRIEFCAST_BRIEFING_STORY_MODE: 'briefing.storyMode',
  BRIEFCAST_BRIEFING_LEDE_SECONDS: 'briefing.ledeSeconds',
  BRIEFCAST_BRIEFING_MAX_STORIES: 'briefing.maxStories',
  BRIEFCAST_FEED_ITEM_LIMIT: 'feed.itemLimit',
  BRIEFCAST_ADMIN_USER: 'admin.initialUser',
  BRIEFCAST_SESSION_HOURS: 'admin.sessionHours',
  BRIEFCAST_LOGIN_MAX_FAILURES: 'admin.loginMaxFailures',
}

const LIST_PATHS = new Set(['fetch.allowlist'])

type Tree = Record<string, unknown>

function setPath(target: Tree, dotted: string, value: unknown): void {
  const keys = dotted.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    const next = node[key]
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {}
    node = node[key] as Tree
  }
  node[keys[keys.length - 1]!] = value
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base }
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue
    const b = out[k]
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof b === 'object' && b !== null && !Array.isArray(b)
        ? deepMerge(b as Tree, v as Tree)
        : v
  }
  return out
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv
  /** Path of a JSON config file; defaults to BRIEFCAST_CONFIG or ./briefcast.config.json when it exists. */
  file?: string
  /** Highest precedence, e.g. CLI flags: dotted paths or nested objects. */
  overrides?: Tree
  cwd?: string
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const problems: string[] = []

  let fileTree: Tree = {}
  const explicitFile = options.file ?? env.BRIEFCAST_CONFIG
  const filePath = explicitFile ? path.resolve(cwd, explicitFile) : path.resolve(cwd, 'briefcast.config.json')
  if (explicitFile || existsSync(filePath)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(filePath, 'utf8'))
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) problems.push(`${filePath}: must contain a JSON object`)
      else fileTree = parsed as Tree
    } catch (err) {
      problems.push(`${filePath}: ${(err as Error).message}`)
    }
  }

  const envTree: Tree = {}
  for (const [name, dotted] of Object.entries(ENV_MAP)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    setPath(envTree, dotted, LIST_PATHS.has(dotted) ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw)
  }

  const overTree: Tree = {}
  for (const [k, v] of Object.entries(options.overrides ?? {})) {
    if (v === undefined) continue
    if (k.includes('.')) setPath(overTree, k, v)
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) overTree[k] = deepMerge((overTree[k] as Tree) ?? {}, v as Tree)
    else overTree[k] = v
  }

  const merged = deepMerge(deepMerge(fileTree, envTree), overTree)
  const result = configSchema.safeParse(merged)
  if (!result.success) {
    const reverseEnv = Object.fromEntries(Object.entries(ENV_MAP).map(([e, p]) => [p, e]))
    for (const issue of result.error.issues) {
      const dotted = issue.path.join('.')
      const envName = reverseEnv[dotted]
      problems.push(`${dotted}${envName ? ` (${envName})` : ''}: ${issue.message}`)
    }
  }
  if (problems.length > 0 || !result.success) {
    throw new AppError('CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } })
  }
  const data = result.data
  const resolveDir = (p: string) => path.resolve(cwd, p)
  const config = {
    ...data,
    dataDir: resolveDir(data.dataDir),
    cacheDir: resolveDir(data.cacheDir),
    voicesDir: resolveDir(data.voicesDir),
    publicUrl: (data.publicUrl ?? `http://localhost:${data.port}`).replace(/\/+$/, ''),
  }
  return deepFreeze(config)
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object') {
    for (const v of Object.values(obj)) deepFreeze(v)
    Object.freeze(obj)
  }
  return obj
}
