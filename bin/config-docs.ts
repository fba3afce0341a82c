/**
 * Writes docs/configuration.md from the zod schema in src/config.ts and its
 * ENV_MAP, so the page cannot drift from the code: `npm run docs:config`.
 * tests/docs/config-docs.test.ts fails when the page is stale or a setting
 * has no description. A new setting's description goes in src/config.ts
 * (`.describe('...')`) or in DESCRIPTIONS below.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { configSchema, ENV_MAP } from '../src/config.ts'

export const CONFIG_DOCS_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url))

/** What each setting does, by dotted path (a `.describe()` in the schema wins). */
export const DESCRIPTIONS: Record<string, string> = {
  'database.url': "PostgreSQL for several nodes: `postgres://user:password@host:5432/database` (or `postgresql://`). Unset: the SQLite file `<dataDir>/briefcast.db`. An unreachable database stops start-up with CONFIG_INVALID naming this setting and the host; the password is never printed. See docs/deployment.md.",
  'database.poolMax': "PostgreSQL: connections per process at most.",
  'database.statementTimeoutMs': "PostgreSQL: a statement running longer is cancelled by the server (statement_timeout).",
  'database.connectTimeoutMs': "PostgreSQL: how long to wait for a connection, a new one or a free one in the pool.",
  'server.trustProxy': "Reverse proxies whose X-Forwarded-For is believed, as Express's trust proxy: a number of hops, `loopback`, or comma-separated addresses/CIDRs. Used wherever a client address matters (rate limits, listen stats, per-client connection limit). See docs/security.md.",
  'server.headersTimeoutMs': "Time a client has to send the request headers.",
  'server.requestTimeoutMs': "Time a client has to send the whole request, body included.",
  'server.keepAliveTimeoutMs': "How long an idle keep-alive connection stays open.",
  'server.maxConnections': "Open connections at most, all clients together.",
  'server.maxConnectionsPerClient': "Open connections at most per client address (trusted proxies are exempt).",
  'tts.sherpaWorkers': "Worker threads of the local neural engine (sherpa-onnx), each with the model loaded.",
  'models.dir': "Where `briefcast voices install` puts local neural voice models (sherpa-onnx).",
  'models.maxBytes': "Largest model archive `briefcast voices install` downloads or unpacks.",
  'openai.baseUrl': "Base URL of the OpenAI-compatible speech API (OpenAI, Kokoro-FastAPI, LocalAI, openedai-speech...).",
  'openai.apiKey': "API key sent as Bearer; needed for api.openai.com, optional for self-hosted servers.",
  'openai.model': "Speech model, e.g. tts-1, tts-1-hd or gpt-4o-mini-tts (a profile's voice may name its own).",
  'openai.responseFormat': "Audio format asked of the server: wav or pcm.",
  'openai.requestsPerMinute': "Requests per minute at most: per process, or for all processes together when `redis.url` is set.",
  'openai.maxRetries': "Retries of 429, 5xx and network failures, with exponential backoff and jitter (Retry-After honoured).",
  'openai.timeoutMs': "Time limit of one request.",
  'polly.region': "AWS region of Amazon Polly.",
  'polly.accessKeyId': "AWS access key id (else the SDK's default credential chain).",
  'polly.secretAccessKey': "AWS secret access key.",
  'polly.sessionToken': "AWS session token, for temporary credentials.",
  'polly.endpoint': "Polly endpoint URL (a VPC endpoint, or a local server in tests).",
  'polly.engine': "Polly engine: standard, neural, long-form or generative (a profile's voice may name its own).",
  'polly.requestsPerMinute': "Requests per minute at most: per process, or for all processes together when `redis.url` is set.",
  'polly.maxRetries': "Retries of throttling, 5xx and network failures, with exponential backoff and jitter.",
  'polly.timeoutMs': "Time limit of one request.",
  'elevenlabs.baseUrl': "Base URL of the ElevenLabs API.",
  'elevenlabs.apiKey': "ElevenLabs API key (sent as xi-api-key).",
  'elevenlabs.model': "ElevenLabs model id, e.g. eleven_multilingual_v2.",
  'elevenlabs.outputFormat': "PCM output format asked of ElevenLabs, e.g. pcm_22050.",
  'elevenlabs.requestsPerMinute': "Requests per minute at most: per process, or for all processes together when `redis.url` is set.",
  'elevenlabs.maxRetries': "Retries of 429, 5xx and network failures, with exponential backoff and jitter (Retry-After honoured).",
  'elevenlabs.timeoutMs': "Time limit of one request.",
  port: 'HTTP port.',
  host: 'Address to listen on.',
  logLevel: 'pino log level; logs are JSON lines on stdout. `debug` also logs every public request.',
  dataDir: 'SQLite database (WAL) and the generated API key.',
  cacheDir: 'Clips, pieces, episodes, assets and temp files of renders.',
  voicesDir: 'Voice profiles, pronunciation lexicons and jingles.',
  apiKey: 'API key for /api (Bearer). Unset: generated once, printed once and kept in `<dataDir>/api-key` (mode 0600).',
  publicUrl: 'Absolute base URL for every link in feeds, the player and the API. Set it behind a reverse proxy: URLs are never built from Host headers.',
  defaultVoice: 'Voice profile used when an article names none.',
  'tts.fallbackEngine': 'Speak with this engine when a cloud engine is unavailable, out of quota or unauthenticated. Off by default: a site may prefer silence to a different voice.',
  'tts.espeakWorkers': 'espeak-ng worker threads. The first starts with the engine, the others only while jobs wait. The render process uses one fewer than the machine has cores unless this is set.',
  'google.keyFile': 'Service-account key file; unset = Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud or the metadata server).',
  'google.projectId': 'Google Cloud project id.',
  'google.apiEndpoint': 'Text-to-Speech API endpoint (host), e.g. a regional endpoint.',
  'google.port': 'Port of the API endpoint.',
  'google.requestsPerMinute': 'Limit of requests per minute (below Google\'s default quota of 1 000): per process, or for all processes together when `redis.url` is set.',
  'google.maxRetries': 'Retries with exponential backoff and jitter on UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED; never on INVALID_ARGUMENT.',
  'audio.bitrateKbps': 'MP3 CBR bitrate (AAC uses at least 48).',
  'audio.format': 'Episode format.',
  'audio.targetLufs': 'Integrated loudness target of every episode (+/- 1 LU).',
  'audio.truePeakDb': 'True-peak ceiling, dBTP.',
  'audio.encodeConcurrency': 'MP3 encoder threads (LAME in WebAssembly; they also level and measure each piece). Render processes (`briefcast render`/`briefing` and the service\'s render process) use half the cores, at least one, unless this is set; `briefcast render` of a short article (up to 8 K characters of speech, a few minutes) uses one per core.',
  'storage.url': "Object storage for episodes, transcripts, chapters, timings, the clip and piece caches and assets: `s3://BUCKET/PREFIX?endpoint=https://host:port&region=REGION&forcePathStyle=true` (AWS S3, MinIO, Ceph, R2...). Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the SDK's default chain, never from the URL. Unset: files stay in the cache directory. Checked at start-up. See docs/deployment.md#storage.",
  'storage.publicUrl': "Base URL of a CDN or public bucket serving the storage prefix; when set, versioned audio, sidecar and asset URLs redirect (302) to `<publicUrl>/<key>` instead of being proxied. Only with storage.url.",
  'storage.connectTimeoutMs': "Time to connect to the object storage before a request fails (it is retried up to 3 times).",
  'storage.requestTimeoutMs': "Time an object storage request may stay without data before it fails.",
  'cache.maxBytes': 'Size cap of the clip cache; least recently used clips are evicted.',
  'jobs.concurrency': 'Render jobs at once.',
  'jobs.maxAttempts': 'Attempts per render before it ends failed.',
  'jobs.retryBaseMs': 'Backoff before the first retry; doubles with each attempt (2 s, 4 s, ...).',
  'redis.url': 'Redis for running several nodes: a `redis://` (or `rediss://`) URL selects the distributed job queue (BullMQ), the cross-node event bus (progressive listening on any node) and the fleet-wide cloud-engine rate limits. Unset = the in-process queue. See docs/deployment.md.',
  'redis.prefix': 'Prefix of every Redis key and queue name, so several briefcast installations can share one Redis.',
  'fleet.singleMachine': 'Allow the Redis queue with SQLite and local files when every process runs on one machine and shares the data and cache directories (several workers on one box). Refused otherwise: another machine could not read them.',
  'fetch.allowlist': 'Hosts allowed to resolve to private, loopback or link-local addresses when an article is added by URL: host, `*.domain`, IP or CIDR (comma list in the environment). Others are refused with URL_NOT_ALLOWED.',
  'fetch.timeoutMs': 'Time limit of a URL fetch.',
  'fetch.maxBytes': 'Size limit of a URL fetch.',
  'uploads.maxArticleBytes': 'Largest article upload or JSON body.',
  'uploads.maxAssetBytes': 'Largest asset upload (cover art, jingle).',
  'show.title': 'Name of the show in the feeds and the briefing\'s opening line.',
  'show.description': 'Feed description.',
  'show.language': 'Language of the show and of scheduled briefings.',
  'show.author': 'itunes:author; also the ID3 artist of briefings.',
  'show.ownerName': 'itunes:owner name.',
  'show.ownerEmail': 'itunes:owner e-mail.',
  'show.category': 'itunes:category; "News > Daily News" gives a subcategory.',
  'show.explicit': 'itunes:explicit.',
  'show.imageUrl': 'Cover art of the feeds (1400-3000 px square JPEG/PNG); unset = the newest cover uploaded to /api/assets.',
  'show.locked': 'podcast:locked with the owner e-mail: true tells other platforms not to import the feed.',
  'sources.urls': 'Feed (RSS, Atom, JSON Feed) or news-sitemap URLs to poll with the defaults below; ids come from their host and path. See docs/publishing.md.',
  'sources.list': 'Sources with their own settings (config file only): id, kind, url, intervalSeconds, voice, language, storyMode, include/exclude rules, secret. See docs/publishing.md.',
  'sources.intervalSeconds': 'How often a source is polled (conditional GET; failures back off).',
  'sources.maxBytes': 'Largest feed or sitemap document read.',
  'sources.concurrency': 'Sources polled at once.',
  'sources.tickMs': "Shortest time between two polling rounds (the scheduler's tick).",
  'sources.webhookToleranceSeconds': "How old a webhook's signed timestamp may be, either way, in seconds (replay protection).",
  'admin.initialUser': 'Name of the admin account created on first start, when there are no users yet (its generated password is printed once). See docs/admin.md.',
  'admin.sessionHours': 'A dashboard session lasts this long after signing in.',
  'admin.loginMaxFailures': 'Wrong passwords (per user name or per client address) within a minute before further tries are refused for a while.',
  'show.siteUrl': 'The site\'s home page: the feed\'s link.',
  'show.guid': 'podcast:guid of the show; unset = UUIDv5 of the feed URL. Set it once the feed is public: the guid must stay when the feed moves.',
  'briefing.schedule': 'Cron expression for the automatic daily briefing, read by croner (a 6th leading field is seconds), e.g. `0 6 * * *`. Unset = no automatic briefing.',
  'briefing.timeZone': 'IANA time zone of the schedule and of the spoken date.',
  'briefing.lookbackHours': 'A scheduled briefing takes articles published since the previous one, at most this far back.',
  'briefing.storyMode': '`full` reads each story whole; `lede` reads its first paragraphs up to `ledeSeconds`.',
  'briefing.ledeSeconds': 'Time budget of a lede.',
  'briefing.maxStories': 'Most stories an automatic ("last N hours") briefing takes, newest first.',
  'feed.itemLimit': 'Most items in a feed, newest first.',
}

/** Defaults that depend on the machine, in words (the page must not change with the number of cores). A core is one the process may use: the CPU affinity capped by a cgroup CPU quota (src/util/cores.ts). */
const DEFAULT_TEXT: Record<string, string> = {
  'tts.espeakWorkers': 'one per core (CPU quota respected), at most 8',
  'audio.encodeConcurrency': 'one per core (CPU quota respected)',
  publicUrl: '`http://localhost:<port>`',
  apiKey: 'generated, in `<dataDir>/api-key`',
}

/** Settings only the environment sets, not part of the schema. */
const OTHER_ENV: [string, string][] = [
  ['BRIEFCAST_CONFIG', 'Path of the JSON config file (default `./briefcast.config.json`, when present).'],
  ['FFMPEG_PATH, FFPROBE_PATH', 'ffmpeg binaries; else `ffmpeg`/`ffprobe` on PATH, else the ones `npm ci` installs (@ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe). Checked at start-up: 4.1 or newer, with libmp3lame.'],
  ['GOOGLE_APPLICATION_CREDENTIALS', 'Google Application Default Credentials (when `google.keyFile` is unset).'],
  ['BRIEFCAST_RENDER_CPU', '`nice`: run the render process at nice 10 instead of SCHED_IDLE (for a box kept busy by other work, where idle-priority renders could wait a long time).'],
]

interface JsonSchema {
  type?: string | string[]
  enum?: unknown[]
  default?: unknown
  description?: string
  minimum?: number
  maximum?: number
  minLength?: number
  format?: string
  items?: JsonSchema
  properties?: Record<string, JsonSchema>
  anyOf?: JsonSchema[]
}

interface Row {
  path: string
  env?: string
  type: string
  default: string
  description: string
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' | ')
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join(' or ')
  const t = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any')
  if (t === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`
  const range = s.minimum !== undefined || s.maximum !== undefined ? ` ${s.minimum ?? ''}..${s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : ''}` : ''
  return `${s.format ?? t}${range}`
}

function showDefault(path: string, v: unknown): string {
  if (DEFAULT_TEXT[path]) return DEFAULT_TEXT[path]
  if (v === undefined) return '-'
  if (typeof v === 'number' && v >= 1024 * 1024 && v % (1024 * 1024) === 0) return v % (1024 ** 3) === 0 ? `${v / 1024 ** 3} GiB` : `${v / 1024 ** 2} MiB`
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``
}

/** One row per leaf setting, in schema order. */
export function configRows(): Row[] {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  // Defaults as the schema applies them (JSON Schema loses some, e.g. behind a transform).
  const defaults = configSchema.parse({}) as Record<string, unknown>
  const defaultAt = (path: string) => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], defaults)
  const envFor = Object.fromEntries(Object.entries(ENV_MAP).map(([env, p]) => [p, env]))
  const rows: Row[] = []
  const walk = (node: JsonSchema, prefix: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key
      if (child.type === 'object' && child.properties) walk(child, path)
      else rows.push({ path, env: envFor[path], type: typeOf(child), default: showDefault(path, defaultAt(path)), description: child.description ?? DESCRIPTIONS[path] ?? '' })
    }
  }
  walk(schema, '')
  return rows
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function renderConfigDocs(): string {
  const rows = configRows()
  const sections = new Map<string, Row[]>()
  for (const r of rows) {
    const section = r.path.includes('.') ? r.path.split('.')[0]! : ''
    sections.set(section, [...(sections.get(section) ?? []), r])
  }
  const titles: Record<string, string> = {
    '': 'Service',
    tts: 'Speech engines (`tts`)',
    google: 'Google Cloud Text-to-Speech (`google`)',
    audio: 'Audio (`audio`)',
    cache: 'Clip cache (`cache`)',
    jobs: 'Render jobs (`jobs`)',
    fetch: 'Adding articles by URL (`fetch`)',
    uploads: 'Uploads (`uploads`)',
    show: 'Show metadata for the feeds (`show`)',
    briefing: 'Daily briefing (`briefing`)',
    feed: 'Feeds (`feed`)',
  }
  const out: string[] = [
    '<!-- Generated by bin/config-docs.ts from src/config.ts: run `npm run docs:config`; do not edit by hand. -->',
    '',
    '# Configuration',
    '',
    'For operators. Settings come from, highest first: command-line flags, environment variables',
    '(`BRIEFCAST_*`, `PORT`), a JSON config file (`BRIEFCAST_CONFIG`, else `./briefcast.config.json`',
    'when present; the same shape as the dotted names below), then built-in defaults. They are',
    'validated once at start-up (`src/config.ts`, zod) and every problem is reported at once',
    '(`CONFIG_INVALID`, naming the setting and its environment variable; exit code 1).',
    '',
    'Example `briefcast.config.json`:',
    '',
    '```json',
    '{',
    '  "publicUrl": "https://listen.example.com",',
    '  "show": { "title": "The Daily Example", "ownerEmail": "audio@example.com", "imageUrl": "https://example.com/cover.jpg" },',
    '  "briefing": { "schedule": "0 6 * * 1-5", "timeZone": "Europe/Berlin" },',
    '  "google": { "keyFile": "/secrets/tts.json" },',
    '  "defaultVoice": "google-en-us"',
    '}',
    '```',
    '',
    'Users own their data: nothing leaves the machine unless a cloud engine (Google) is',
    'configured; the player makes no third-party requests and the listen counts store no personal data.',
    '',
  ]
  for (const [section, list] of sections) {
    out.push(`## ${titles[section] ?? `\`${section}\``}`, '', '| setting | environment | type | default | what it does |', '|---|---|---|---|---|')
    for (const r of list) out.push(`| \`${r.path}\` | ${r.env ? `\`${r.env}\`` : '-'} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`)
    out.push('')
  }
  out.push('## Other environment variables', '', '| variable | what it does |', '|---|---|')
  for (const [name, what] of OTHER_ENV) out.push(`| ${name.split(', ').map((n) => `\`${n}\``).join(', ')} | ${cell(what)} |`)
  out.push('')
  return out.join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs())
  process.stdout.write(`wrote ${CONFIG_DOCS_PATH}\n`)
}
