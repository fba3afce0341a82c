/**
 * The tables as Kysely sees them (one query layer for SQLite and PostgreSQL).
 * Column types are what both drivers hand back: TEXT for JSON and ISO times,
 * numbers for integers (pg's int8/numeric are parsed to numbers in postgres.ts),
 * Buffer for BLOB/bytea. Booleans are INTEGER 0/1 on both.
 */
import type { Generated } from 'kysely'

export interface ArticlesTable {
  id: string
  external_id: string | null
  url: string | null
  /** urlKey(url), computed in application code (src/sources/url-key.ts). */
  url_key: string | null
  title: string
  author: string | null
  published_at: string | null
  /** Date.parse(published_at) (null when absent or unparseable): the embargo filter of feeds. */
  published_ms: number | null
  language: string
  voice: string | null
  profile_id: string
  source: Buffer
  source_format: string | null
  content_hash: string
  script_json: string
  excerpt: string | null
  revision: Generated<number>
  status: Generated<string>
  progress: Generated<number>
  error_json: string | null
  episode_id: number | null
  created_at: string
  updated_at: string
}

export interface EpisodesTable {
  id: Generated<number>
  article_id: string | null
  revision: number
  hash: string
  format: string
  mime_type: string
  audio_file: string
  vtt_file: string
  chapters_file: string
  timings_file: string
  bytes: number
  duration_ms: number
  chapters_json: string
  loudness_json: string
  stats_json: string
  created_at: string
}

export interface JobsTable {
  id: Generated<number>
  kind: string
  subject_id: string
  payload_json: Generated<string>
  status: string
  attempts: Generated<number>
  max_attempts: number
  run_after: number
  progress: Generated<number>
  error_json: string | null
  priority: Generated<number>
  created_at: string
  updated_at: string
  started_at: string | null
  finished_at: string | null
}

export interface AssetsTable {
  id: string
  kind: string
  file: string
  original_name: string | null
  mime_type: string
  bytes: number
  duration_ms: number | null
  width: number | null
  height: number | null
  created_at: string
}

export interface ListenStatsTable {
  article_id: string
  day: string
  starts: Generated<number>
  p25: Generated<number>
  p50: Generated<number>
  p75: Generated<number>
  p100: Generated<number>
}

export interface BriefingsTable {
  id: string
  title: string
  origin: string
  day: string | null
  language: string
  profile_id: string
  status: Generated<string>
  progress: Generated<number>
  error_json: string | null
  stories_json: string
  skipped_json: Generated<string>
  script_json: string
  options_json: Generated<string>
  episode_id: number | null
  published_at: string
  created_at: string
  updated_at: string
}

export interface EngineUsageTable {
  engine: string
  month: string
  characters: Generated<number>
  requests: Generated<number>
}

export interface SourcesTable {
  id: string
  kind: string
  url: string | null
  origin: string
  options_json: Generated<string>
  interval_s: number
  enabled: Generated<number>
  secret_enc: string | null
  next_poll_at: Generated<number>
  failures: Generated<number>
  last_poll_at: string | null
  last_success_at: string | null
  last_error_at: string | null
  last_error_json: string | null
  polls: Generated<number>
  not_modified: Generated<number>
  bytes_fetched: Generated<number>
  items_seen: Generated<number>
  items_ingested: Generated<number>
  created_at: string
  updated_at: string
}

export interface SourceDocumentsTable {
  source_id: string
  url: string
  etag: string | null
  last_modified: string | null
}

export interface SourceItemsTable {
  source_id: string
  item_key: string
  external_id: string
  article_id: string | null
  fingerprint: string
  published_at: string | null
  state: string
  error_json: string | null
  first_seen_at: string
  last_seen_at: string
}

export interface WebhookDeliveriesTable {
  source_id: string
  delivery_id: string
  received_at: number
  status: number
  response_json: string
}

export interface SchemaMigrationsTable {
  id: string
  applied_at: string
}

/** Admin (migrations admin-001..003): accounts, sessions, API keys, lexicons, podcast downloads. */
export interface UsersTable {
  id: Generated<number>
  /** Unique case-insensitively (COLLATE NOCASE on SQLite, a unique index on lower(username) on PostgreSQL). */
  username: string
  password_hash: string
  role: string
  created_at: string
  last_login_at: string | null
}

export interface SessionsTable {
  token_hash: string
  user_id: number
  csrf_token: string
  created_at: string
  expires_at: number
}

export interface ApiKeysTable {
  id: string
  name: string
  key_hash: string
  prefix: string
  role: string
  created_by: string | null
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export interface LexiconSourcesTable {
  name: string
  seeded_at: string
}

export interface LexiconEntriesTable {
  name: string
  match: string
  say: string
  case_sensitive: Generated<number>
  updated_at: string
}

export interface DownloadStatsTable {
  article_id: string
  day: string
  downloads: Generated<number>
}

export interface DownloadClientsTable {
  day: string
  article_id: string
  client: string
  bytes: Generated<number>
  counted: Generated<number>
}

export interface AdminSecretsTable {
  name: string
  value: string
}

export interface RuntimeSettingsTable {
  key: string
  value_json: string
  updated_at: string
  updated_by: string
}

export interface DB {
  runtime_settings: RuntimeSettingsTable
  users: UsersTable
  sessions: SessionsTable
  api_keys: ApiKeysTable
  lexicon_sources: LexiconSourcesTable
  lexicon_entries: LexiconEntriesTable
  download_stats: DownloadStatsTable
  download_clients: DownloadClientsTable
  admin_secrets: AdminSecretsTable
  articles: ArticlesTable
  episodes: EpisodesTable
  jobs: JobsTable
  assets: AssetsTable
  listen_stats: ListenStatsTable
  briefings: BriefingsTable
  engine_usage: EngineUsageTable
  sources: SourcesTable
  source_documents: SourceDocumentsTable
  source_items: SourceItemsTable
  webhook_deliveries: WebhookDeliveriesTable
  schema_migrations: SchemaMigrationsTable
}
