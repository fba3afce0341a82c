/**
 * All settings in one validated, frozen object.
 * Precedence: CLI flags (overrides) > environment (BRIEFCAST_*, PORT) > config
 * file (JSON, BRIEFCAST_CONFIG or ./briefcast.config.json) > defaults. The
 * voices directory defaults to ./voices when it exists, else the package's own.
 * Every problem is reported at once in one CONFIG_INVALID error.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type * as Croner from 'croner'
import type IpAddr from 'ipaddr.js'
import { z } from 'zod'
import { AppError } from './errors.ts'
import { parsePublicStorageUrl, parseStorageUrl } from './storage/url.ts'
import { packageRoot } from './util/package-root.ts'
import { availableCores } from './util/cores.ts'
import { lazyPackage } from './util/lazy.ts'

// Required only when a schedule or an address list is set (src/util/lazy.ts).
const croner = lazyPackage<typeof Croner>('croner')
const ipaddrPackage = lazyPackage<typeof IpAddr>('ipaddr.js')

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v))])
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max)
const optionalString = z.string().trim().min(1).optional()

const cronExpression = z.string().trim().refine(
  (expr) => {
    try {
      new (croner().Cron)(expr, { paused: true })
      return true
    } catch {
      return false
    }
  },
  { message: 'is not a valid cron expression (e.g. "0 6 * * *" for 06:00 every day)' },
)

/**
 * Express's `trust proxy`, restricted to what is safe to set: false (no proxy), a hop count, or
 * comma-separated addresses/CIDRs and the names loopback, linklocal, uniquelocal. `true` (trust
 * every hop) would let any client choose its own address with X-Forwarded-For.
 */
const trustProxy = z
  .union([z.boolean(), z.number(), z.string()])
  .transform((v, ctx): false | number | string[] => {
    const text = String(v).trim().toLowerCase()
    if (text === '' || text === 'false' || text === '0') return false
    if (/^\d+$/.test(text)) return Number(text)
    const entries = text.split(',').map((e) => e.trim()).filter(Boolean)
    const bad = entries.filter((e) => !['loopback', 'linklocal', 'uniquelocal'].includes(e) && !isAddressOrCidr(e))
    if (text === 'true' || bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be false, a number of proxy hops, or comma-separated proxy addresses/CIDRs (or loopback, linklocal, uniquelocal)${text === 'true' ? '; "true" would trust any client\'s X-Forwarded-For' : `; not ${bad.join(', ')}`}`,
      })
      return z.NEVER
    }
    return entries
  })

function isAddressOrCidr(entry: string): boolean {
  try {
    const ipaddr = ipaddrPackage()
    if (entry.includes('/')) ipaddr.parseCIDR(entry)
    else ipaddr.parse(entry)
    return true
  } catch {
    return false
  }
}

/** postgres://host/db or postgresql://... with a host and a database name. */
export function isPostgresUrl(value: string): boolean {
  try {
    const u = new URL(value)
    return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '' && u.pathname.length > 1
  } catch {
    return false
  }
}

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
  /** The database: unset url = the SQLite file in dataDir; postgres:// = PostgreSQL (docs/deployment.md). */
  database: z
    .object({
      url: z
        .string()
        .refine(isPostgresUrl, { message: 'must be a postgres:// or postgresql:// URL, e.g. postgres://briefcast:secret@db.internal:5432/briefcast (unset = the SQLite file in the data dir)' })
        .optional(),
      poolMax: int(1, 1000).default(10),
      statementTimeoutMs: int(100, 3_600_000).default(30_000),
      connectTimeoutMs: int(100, 600_000).default(5_000),
    })
    .prefault({}),
  /** HTTP server limits and proxy trust: docs/security.md. */
  server: z
    .object({
      trustProxy: trustProxy.default(false),
      /** Time a client gets to send the request headers. */
      headersTimeoutMs: int(100, 600_000).default(10_000),
      /** Time a client gets to send the whole request, body included (uploads). */
      requestTimeoutMs: int(100, 3_600_000).default(120_000),
      /** Idle keep-alive connections are closed after this; longer than a load balancer's usual 60 s idle timeout. */
      keepAliveTimeoutMs: int(0, 600_000).default(65_000),
      maxConnections: int(1, 1_000_000).default(4096),
      /** Open connections per client address (trusted proxies are exempt: all their readers share one address). */
      maxConnectionsPerClient: int(1, 1_000_000).default(64),
    })
    .prefault({}),
  tts: z
    .object({
      /** Engine to fall back to when a cloud engine fails; off by default (a site may prefer silence to a different voice). */
      fallbackEngine: z.enum(['espeak-ng']).optional(),
      espeakWorkers: int(1, 64).default(Math.max(1, Math.min(availableCores(), 8))),
      /** Worker threads of the local neural engine (sherpa-onnx); each keeps its own copy of the models it used. */
      sherpaWorkers: int(1, 64).default(Math.max(1, Math.min(availableCores(), 2))),
    })
    .prefault({}),
  models: z
    .object({
      /** Where `briefcast voices install` puts local neural models (sherpa-onnx). */
      dir: z.string().default('./models'),
      /** Largest model archive `briefcast voices install` accepts. */
      maxBytes: int(1024 * 1024).default(2 * 1024 * 1024 * 1024),
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
  /** OpenAI's speech API, or a server that copies it (Kokoro-FastAPI, LocalAI, openedai-speech). */
  openai: z
    .object({
      /** Server root; requests go to {baseUrl}/v1/audio/speech ("/v1" at the end is accepted too). */
      baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.openai.com'),
      /** Required by api.openai.com; self-hosted servers usually take none. */
      apiKey: optionalString,
      model: z.string().trim().min(1).default('gpt-4o-mini-tts'),
      /** wav (sample rate from the header) or pcm (raw 24 kHz, as OpenAI documents it). */
      responseFormat: z.enum(['wav', 'pcm']).default('wav'),
      requestsPerMinute: int(1, 100_000).default(500),
      maxRetries: int(0, 10).default(4),
      timeoutMs: int(1000).default(120_000),
    })
    .prefault({}),
  polly: z
    .object({
      region: z.string().trim().min(1).default('us-east-1'),
      /** Static keys; without them the AWS SDK's default chain (shared config, SSO, instance role) is used. */
      accessKeyId: optionalString,
      secretAccessKey: optionalString,
      sessionToken: optionalString,
      /** Another endpoint (a VPC endpoint, a test server). */
      endpoint: z.url({ protocol: /^https?$/ }).optional(),
      /** Polly engine for voices that name none: standard, neural, long-form or generative. */
      engine: z.enum(['standard', 'neural', 'long-form', 'generative']).default('neural'),
      /** Polly's default SynthesizeSpeech quota is 8 transactions per second per account. */
      requestsPerMinute: int(1, 100_000).default(400),
      maxRetries: int(0, 10).default(4),
      timeoutMs: int(1000).default(60_000),
    })
    .prefault({}),
  elevenlabs: z
    .object({
      baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.elevenlabs.io'),
      apiKey: optionalString,
      model: z.string().trim().min(1).default('eleven_multilingual_v2'),
      /** PCM output; pcm_44100 needs a Pro plan. */
      outputFormat: z.enum(['pcm_16000', 'pcm_22050', 'pcm_24000', 'pcm_44100']).default('pcm_22050'),
      requestsPerMinute: int(1, 100_000).default(120),
      maxRetries: int(0, 10).default(4),
      timeoutMs: int(1000).default(120_000),
    })
    .prefault({}),
  audio: z
    .object({
      bitrateKbps: int(32, 320).default(64),
      format: z.enum(['mp3', 'm4a']).default('mp3'),
      targetLufs: z.coerce.number().min(-40).max(-5).default(-16),
      truePeakDb: z.coerce.number().min(-9).max(0).default(-1),
      encodeConcurrency: int(1, 64).default(Math.max(1, availableCores())),
    })
    .prefault({}),
  cache: z
    .object({
      maxBytes: int(1024 * 1024).default(2 * 1024 * 1024 * 1024),
    })
    .prefault({}),
  /** Where episodes, sidecars, clips, pieces and assets live: docs/deployment.md#storage. */
  storage: z
    .object({
      url: z
        .string()
        .trim()
        .min(1)
        .superRefine((v, ctx) => {
          const loc = parseStorageUrl(v)
          if (typeof loc === 'string') ctx.addIssue({ code: 'custom', message: loc })
        })
        .optional(),
      publicUrl: z
        .string()
        .trim()
        .min(1)
        .transform((v, ctx) => {
          const out = parsePublicStorageUrl(v)
          if (typeof out === 'string') return out
          ctx.addIssue({ code: 'custom', message: out.problem })
          return z.NEVER
        })
        .optional(),
      connectTimeoutMs: int(100, 120_000).default(5000),
      requestTimeoutMs: int(1000, 600_000).default(30_000),
    })
    .prefault({}),
  jobs: z
    .object({
      concurrency: int(1, 32).default(1),
      maxAttempts: int(1, 20).default(3),
      retryBaseMs: int(0).default(2000),
    })
    .prefault({}),
  /** The distributed job queue and cross-node event bus (docs/deployment.md, "Running several nodes"). */
  redis: z
    .object({
      url: z
        .string()
        .trim()
        .regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379')
        .optional(),
      prefix: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1-40 letters, digits, dots, dashes or underscores').default('briefcast'),
    })
    .prefault({}),
  fleet: z
    .object({
      singleMachine: bool.default(false),
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
      /** podcast:locked with the owner e-mail: "yes" tells other platforms not to import the feed. */
      locked: bool.default(true),
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
  sources: z
    .object({
      /** Feed or sitemap URLs to poll with the defaults below (ids from their host and path). */
      urls: z.array(z.url({ protocol: /^https?$/ })).default([]),
      /** Sources with their own settings (config file only); see docs/publishing.md. */
      list: z.array(z.lazy(() => sourceConfigSchema)).default([]),
      intervalSeconds: int(10, 86_400).default(300),
      /** Largest feed or sitemap document read. */
      maxBytes: int(1024).default(10 * 1024 * 1024),
      concurrency: int(1, 16).default(2),
      /** Shortest time between two polling rounds (the scheduler's tick). */
      tickMs: int(10, 60_000).default(1000),
      /** How old a webhook's signed timestamp may be (either way), in seconds. */
      webhookToleranceSeconds: int(30, 3600).default(300),
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

const sourceRule = z.object({ categories: z.array(z.string().trim().min(1)).max(100).optional(), paths: z.array(z.string().trim().startsWith('/')).max(100).optional() }).strict()

/** A source, as the config file and POST /api/sources take it. */
/**
 * MP3 encoder threads of a render process (`briefcast render`/`briefing` and the service's render
 * child), unless audio.encodeConcurrency is set (env or file). A short one-shot render (`short`: a
 * script of at most a few minutes of speech, isShortScript in src/cli/wasm-tier.ts) gets one per
 * core: espeak-ng is busy only about a fifth of the time, so with a single encoder thread the second
 * core of a 2-core machine sat idle and the corpus page took 6.0 s against 3.9 s with two (docs/benchmarks.md). Anything longer,
 * and the service's render process, get half the cores, at least one: each thread is a V8 isolate whose
 * dead clip buffers wait for its own garbage collector, and a second thread took a 60-minute render's
 * peak RSS from ~180-190 MB to ~220-250 MB (the goal is under 200 MB).
 */
export function renderEncodeThreads(config: Config, short = false): number {
  const builtIn = Math.max(1, availableCores())
  if (process.env.BRIEFCAST_ENCODE_CONCURRENCY || config.audio.encodeConcurrency !== builtIn) return config.audio.encodeConcurrency
  return short ? builtIn : Math.max(1, Math.floor(builtIn / 2))
}

export const sourceConfigSchema = z
  .object({
    id: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes (up to 63), e.g. "main-feed"'),
    kind: z.enum(['feed', 'sitemap', 'webhook']).optional(),
    url: z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' }).optional(),
    intervalSeconds: z.coerce.number().int().min(1).max(86_400).optional(),
    enabled: z.boolean().optional(),
    voice: z.string().trim().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a voice profile id').optional(),
    language: z.string().trim().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 language tag').optional(),
    storyMode: z.enum(['full', 'lede']).optional(),
    include: sourceRule.optional(),
    exclude: sourceRule.optional(),
    /** Webhook secret (at least 24 characters); the API can generate one instead. */
    secret: z.string().min(24, 'must be at least 24 characters').max(256).optional(),
  })
  .strict()
  .refine((s) => s.kind === 'webhook' || s.url !== undefined, { message: 'a feed or sitemap source needs a "url"', path: ['url'] })

export type SourceConfig = z.infer<typeof sourceConfigSchema>

export type Config = Readonly<z.infer<typeof configSchema>> & {
  readonly publicUrl: string
  /** Whether the public URL was configured (env, file or flag) rather than defaulted to http://localhost:<port>. */
  readonly publicUrlSet: boolean
}

/** Environment variable -> config path. */
export const ENV_MAP: Record<string, string> = {
  PORT: 'port',
  BRIEFCAST_HOST: 'host',
  BRIEFCAST_LOG_LEVEL: 'logLevel',
  BRIEFCAST_DATA_DIR: 'dataDir',
  BRIEFCAST_DATABASE_URL: 'database.url',
  BRIEFCAST_DATABASE_POOL_MAX: 'database.poolMax',
  BRIEFCAST_DATABASE_STATEMENT_TIMEOUT_MS: 'database.statementTimeoutMs',
  BRIEFCAST_DATABASE_CONNECT_TIMEOUT_MS: 'database.connectTimeoutMs',
  BRIEFCAST_CACHE_DIR: 'cacheDir',
  BRIEFCAST_VOICES_DIR: 'voicesDir',
  BRIEFCAST_API_KEY: 'apiKey',
  BRIEFCAST_PUBLIC_URL: 'publicUrl',
  BRIEFCAST_DEFAULT_VOICE: 'defaultVoice',
  BRIEFCAST_TRUST_PROXY: 'server.trustProxy',
  BRIEFCAST_HEADERS_TIMEOUT_MS: 'server.headersTimeoutMs',
  BRIEFCAST_REQUEST_TIMEOUT_MS: 'server.requestTimeoutMs',
  BRIEFCAST_KEEP_ALIVE_TIMEOUT_MS: 'server.keepAliveTimeoutMs',
  BRIEFCAST_MAX_CONNECTIONS: 'server.maxConnections',
  BRIEFCAST_MAX_CONNECTIONS_PER_CLIENT: 'server.maxConnectionsPerClient',
  BRIEFCAST_FALLBACK_ENGINE: 'tts.fallbackEngine',
  BRIEFCAST_ESPEAK_WORKERS: 'tts.espeakWorkers',
  BRIEFCAST_SHERPA_WORKERS: 'tts.sherpaWorkers',
  BRIEFCAST_MODELS_DIR: 'models.dir',
  BRIEFCAST_MODELS_MAX_BYTES: 'models.maxBytes',
  BRIEFCAST_GOOGLE_KEY_FILE: 'google.keyFile',
  BRIEFCAST_GOOGLE_PROJECT_ID: 'google.projectId',
  BRIEFCAST_GOOGLE_API_ENDPOINT: 'google.apiEndpoint',
  BRIEFCAST_GOOGLE_REQUESTS_PER_MINUTE: 'google.requestsPerMinute',
  OPENAI_BASE_URL: 'openai.baseUrl',
  BRIEFCAST_OPENAI_BASE_URL: 'openai.baseUrl',
  OPENAI_API_KEY: 'openai.apiKey',
  BRIEFCAST_OPENAI_API_KEY: 'openai.apiKey',
  BRIEFCAST_OPENAI_MODEL: 'openai.model',
  BRIEFCAST_OPENAI_RESPONSE_FORMAT: 'openai.responseFormat',
  BRIEFCAST_OPENAI_REQUESTS_PER_MINUTE: 'openai.requestsPerMinute',
  AWS_REGION: 'polly.region',
  BRIEFCAST_POLLY_REGION: 'polly.region',
  AWS_ACCESS_KEY_ID: 'polly.accessKeyId',
  AWS_SECRET_ACCESS_KEY: 'polly.secretAccessKey',
  AWS_SESSION_TOKEN: 'polly.sessionToken',
  BRIEFCAST_POLLY_ENDPOINT: 'polly.endpoint',
  BRIEFCAST_POLLY_ENGINE: 'polly.engine',
  BRIEFCAST_POLLY_REQUESTS_PER_MINUTE: 'polly.requestsPerMinute',
  BRIEFCAST_ELEVENLABS_BASE_URL: 'elevenlabs.baseUrl',
  ELEVENLABS_API_KEY: 'elevenlabs.apiKey',
  BRIEFCAST_ELEVENLABS_API_KEY: 'elevenlabs.apiKey',
  BRIEFCAST_ELEVENLABS_MODEL: 'elevenlabs.model',
  BRIEFCAST_ELEVENLABS_OUTPUT_FORMAT: 'elevenlabs.outputFormat',
  BRIEFCAST_ELEVENLABS_REQUESTS_PER_MINUTE: 'elevenlabs.requestsPerMinute',
  BRIEFCAST_BITRATE_KBPS: 'audio.bitrateKbps',
  BRIEFCAST_AUDIO_FORMAT: 'audio.format',
  BRIEFCAST_ENCODE_CONCURRENCY: 'audio.encodeConcurrency',
  BRIEFCAST_CACHE_MAX_BYTES: 'cache.maxBytes',
  BRIEFCAST_STORAGE_URL: 'storage.url',
  BRIEFCAST_STORAGE_PUBLIC_URL: 'storage.publicUrl',
  BRIEFCAST_STORAGE_CONNECT_TIMEOUT_MS: 'storage.connectTimeoutMs',
  BRIEFCAST_STORAGE_REQUEST_TIMEOUT_MS: 'storage.requestTimeoutMs',
  BRIEFCAST_JOB_CONCURRENCY: 'jobs.concurrency',
  BRIEFCAST_JOB_MAX_ATTEMPTS: 'jobs.maxAttempts',
  BRIEFCAST_REDIS_URL: 'redis.url',
  BRIEFCAST_REDIS_PREFIX: 'redis.prefix',
  BRIEFCAST_FLEET_SINGLE_MACHINE: 'fleet.singleMachine',
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
  BRIEFCAST_SHOW_LOCKED: 'show.locked',
  BRIEFCAST_BRIEFING_SCHEDULE: 'briefing.schedule',
  BRIEFCAST_BRIEFING_TIMEZONE: 'briefing.timeZone',
  BRIEFCAST_BRIEFING_LOOKBACK_HOURS: 'briefing.lookbackHours',
  BRIEFCAST_BRIEFING_STORY_MODE: 'briefing.storyMode',
  BRIEFCAST_BRIEFING_LEDE_SECONDS: 'briefing.ledeSeconds',
  BRIEFCAST_BRIEFING_MAX_STORIES: 'briefing.maxStories',
  BRIEFCAST_FEED_ITEM_LIMIT: 'feed.itemLimit',
  BRIEFCAST_SOURCE_URLS: 'sources.urls',
  BRIEFCAST_SOURCE_INTERVAL_SECONDS: 'sources.intervalSeconds',
  BRIEFCAST_SOURCE_MAX_BYTES: 'sources.maxBytes',
  BRIEFCAST_SOURCE_CONCURRENCY: 'sources.concurrency',
  BRIEFCAST_WEBHOOK_TOLERANCE_SECONDS: 'sources.webhookToleranceSeconds',
  BRIEFCAST_ADMIN_USER: 'admin.initialUser',
  BRIEFCAST_SESSION_HOURS: 'admin.sessionHours',
  BRIEFCAST_LOGIN_MAX_FAILURES: 'admin.loginMaxFailures',
}

const LIST_PATHS = new Set(['fetch.allowlist', 'sources.urls'])

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
  if (result.success && result.data.storage.publicUrl && !result.data.storage.url)
    problems.push('storage.publicUrl (BRIEFCAST_STORAGE_PUBLIC_URL): only works with object storage; set BRIEFCAST_STORAGE_URL too, or unset it')
  if (problems.length > 0 || !result.success) {
    throw new AppError('CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } })
  }
  const data = result.data
  const resolveDir = (p: string) => path.resolve(cwd, p)
  // The voices directory: a flag, the environment or the config file name it; else ./voices of the
  // working directory when there is one; else the voices/ shipped with the package, so the CLI and
  // the service work from any directory.
  const voicesDir = merged.voicesDir !== undefined || existsSync(resolveDir(data.voicesDir)) ? resolveDir(data.voicesDir) : path.join(packageRoot(), 'voices')
  const config = {
    ...data,
    dataDir: resolveDir(data.dataDir),
    cacheDir: resolveDir(data.cacheDir),
    voicesDir,
    publicUrl: (data.publicUrl ?? `http://localhost:${data.port}`).replace(/\/+$/, ''),
    publicUrlSet: data.publicUrl !== undefined,
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
