/**
 * Schema migrations: an ordered array, applied once each inside a transaction
 * and recorded in `schema_migrations`. Helpers APPEND their own entries (never
 * edit or reorder existing ones: a database in the field has already run them).
 * Ids are unique strings, prefixed by the owning area (e.g. 'feed-001-briefings').
 *
 * Every migration has a SQLite form (`up`) and a PostgreSQL form (`postgres`):
 * the types differ (INTEGER PRIMARY KEY AUTOINCREMENT vs identity, BLOB vs
 * bytea, WITHOUT ROWID, 64-bit epoch-ms columns are bigint on PostgreSQL), the
 * resulting tables are the same to the query layer (schema.ts). JSON stays TEXT
 * on both, so one query layer reads it the same way.
 */
import type Database from 'better-sqlite3'
import type pg from 'pg'
import { urlKey } from '../sources/url-key.ts'

export interface Migration {
  id: string
  /** SQLite: SQL executed with db.exec, or a function for data migrations. */
  up: string | ((db: Database.Database) => void)
  /** PostgreSQL: SQL (several statements allowed), or a function for data migrations. Missing = the migration cannot run on PostgreSQL. */
  postgres?: string | ((client: pg.PoolClient) => Promise<void>)
}

/** Epoch ms of a publication time, null when absent or unparseable (the embargo filter in feeds; src/sources/embargo.ts). */
export function publishedMs(publishedAt: string | null | undefined): number | null {
  if (!publishedAt) return null
  const t = Date.parse(publishedAt)
  return Number.isNaN(t) ? null : t
}

export const migrations: Migration[] = [
  {
    id: 'service-001-core',
    up: `
      CREATE TABLE articles (
        id            TEXT PRIMARY KEY,
        external_id   TEXT UNIQUE,
        url           TEXT,
        title         TEXT NOT NULL,
        author        TEXT,
        published_at  TEXT,
        language      TEXT NOT NULL,
        voice         TEXT,
        profile_id    TEXT NOT NULL,
        source        BLOB NOT NULL,
        source_format TEXT,
        content_hash  TEXT NOT NULL,
        script_json   TEXT NOT NULL,
        excerpt       TEXT,
        revision      INTEGER NOT NULL DEFAULT 1,
        status        TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','rendering','ready','failed')),
        progress      REAL NOT NULL DEFAULT 0,
        error_json    TEXT,
        episode_id    INTEGER,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );
      CREATE INDEX articles_created ON articles (created_at DESC, id DESC);

      CREATE TABLE episodes (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        article_id    TEXT REFERENCES articles (id) ON DELETE CASCADE,
        revision      INTEGER NOT NULL,
        hash          TEXT NOT NULL,
        format        TEXT NOT NULL,
        mime_type     TEXT NOT NULL,
        audio_file    TEXT NOT NULL,
        vtt_file      TEXT NOT NULL,
        chapters_file TEXT NOT NULL,
        timings_file  TEXT NOT NULL,
        bytes         INTEGER NOT NULL,
        duration_ms   INTEGER NOT NULL,
        chapters_json TEXT NOT NULL,
        loudness_json TEXT NOT NULL,
        stats_json    TEXT NOT NULL,
        created_at    TEXT NOT NULL
      );
      CREATE INDEX episodes_article ON episodes (article_id, id DESC);
      CREATE INDEX episodes_hash ON episodes (hash);

      CREATE TABLE jobs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        kind         TEXT NOT NULL,
        subject_id   TEXT NOT NULL,
        payload_json TEXT NOT NULL DEFAULT '{}',
        status       TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        run_after    INTEGER NOT NULL,
        progress     REAL NOT NULL DEFAULT 0,
        error_json   TEXT,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        started_at   TEXT,
        finished_at  TEXT
      );
      CREATE INDEX jobs_runnable ON jobs (status, run_after, id);
      CREATE INDEX jobs_subject ON jobs (kind, subject_id, status);

      CREATE TABLE assets (
        id            TEXT PRIMARY KEY,
        kind          TEXT NOT NULL CHECK (kind IN ('jingle','cover')),
        file          TEXT NOT NULL,
        original_name TEXT,
        mime_type     TEXT NOT NULL,
        bytes         INTEGER NOT NULL,
        duration_ms   INTEGER,
        width         INTEGER,
        height        INTEGER,
        created_at    TEXT NOT NULL
      );
    `,
    postgres: `
      CREATE TABLE articles (
        id            text PRIMARY KEY,
        external_id   text UNIQUE,
        url           text,
        title         text NOT NULL,
        author        text,
        published_at  text,
        language      text NOT NULL,
        voice         text,
        profile_id    text NOT NULL,
        source        bytea NOT NULL,
        source_format text,
        content_hash  text NOT NULL,
        script_json   text NOT NULL,
        excerpt       text,
        revision      integer NOT NULL DEFAULT 1,
        status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','rendering','ready','failed')),
        progress      double precision NOT NULL DEFAULT 0,
        error_json    text,
        episode_id    bigint,
        created_at    text NOT NULL,
        updated_at    text NOT NULL
      );
      CREATE INDEX articles_created ON articles (created_at DESC, id DESC);

      CREATE TABLE episodes (
        id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        article_id    text REFERENCES articles (id) ON DELETE CASCADE,
        revision      integer NOT NULL,
        hash          text NOT NULL,
        format        text NOT NULL,
        mime_type     text NOT NULL,
        audio_file    text NOT NULL,
        vtt_file      text NOT NULL,
        chapters_file text NOT NULL,
        timings_file  text NOT NULL,
        bytes         bigint NOT NULL,
        duration_ms   bigint NOT NULL,
        chapters_json text NOT NULL,
        loudness_json text NOT NULL,
        stats_json    text NOT NULL,
        created_at    text NOT NULL
      );
      CREATE INDEX episodes_article ON episodes (article_id, id DESC);
      CREATE INDEX episodes_hash ON episodes (hash);

      CREATE TABLE jobs (
        id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        kind         text NOT NULL,
        subject_id   text NOT NULL,
        payload_json text NOT NULL DEFAULT '{}',
        status       text NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
        attempts     integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        run_after    bigint NOT NULL,
        progress     double precision NOT NULL DEFAULT 0,
        error_json   text,
        created_at   text NOT NULL,
        updated_at   text NOT NULL,
        started_at   text,
        finished_at  text
      );
      CREATE INDEX jobs_runnable ON jobs (status, run_after, id);
      CREATE INDEX jobs_subject ON jobs (kind, subject_id, status);

      CREATE TABLE assets (
        id            text PRIMARY KEY,
        kind          text NOT NULL CHECK (kind IN ('jingle','cover')),
        file          text NOT NULL,
        original_name text,
        mime_type     text NOT NULL,
        bytes         bigint NOT NULL,
        duration_ms   bigint,
        width         integer,
        height        integer,
        created_at    text NOT NULL
      );
    `,
  },
  {
    // Listen counts (player helper): per article and UTC day, no visitor data at all.
    id: 'player-001-listen-stats',
    up: `
      CREATE TABLE listen_stats (
        article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        day        TEXT NOT NULL,
        starts     INTEGER NOT NULL DEFAULT 0,
        p25        INTEGER NOT NULL DEFAULT 0,
        p50        INTEGER NOT NULL DEFAULT 0,
        p75        INTEGER NOT NULL DEFAULT 0,
        p100       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (article_id, day)
      ) WITHOUT ROWID;
    `,
    postgres: `
      CREATE TABLE listen_stats (
        article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        day        text NOT NULL,
        starts     bigint NOT NULL DEFAULT 0,
        p25        bigint NOT NULL DEFAULT 0,
        p50        bigint NOT NULL DEFAULT 0,
        p75        bigint NOT NULL DEFAULT 0,
        p100       bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (article_id, day)
      );
    `,
  },
  {
    // Feed helper: briefings (several articles joined into one episode). The script is a snapshot taken when
    // the briefing is created, so later edits of an article do not change a published briefing.
    id: 'feed-001-briefings',
    up: `
      CREATE TABLE briefings (
        id           TEXT PRIMARY KEY,
        title        TEXT NOT NULL,
        origin       TEXT NOT NULL CHECK (origin IN ('api','schedule')),
        day          TEXT,
        language     TEXT NOT NULL,
        profile_id   TEXT NOT NULL,
        status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','rendering','ready','failed')),
        progress     REAL NOT NULL DEFAULT 0,
        error_json   TEXT,
        stories_json TEXT NOT NULL,
        skipped_json TEXT NOT NULL DEFAULT '[]',
        script_json  TEXT NOT NULL,
        options_json TEXT NOT NULL DEFAULT '{}',
        episode_id   INTEGER REFERENCES episodes (id) ON DELETE SET NULL,
        published_at TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL
      );
      CREATE INDEX briefings_published ON briefings (published_at DESC, id DESC);
      -- one scheduled briefing per day (in the schedule's time zone), even across restarts
      CREATE UNIQUE INDEX briefings_scheduled_day ON briefings (day) WHERE origin = 'schedule';
    `,
    postgres: `
      CREATE TABLE briefings (
        id           text PRIMARY KEY,
        title        text NOT NULL,
        origin       text NOT NULL CHECK (origin IN ('api','schedule')),
        day          text,
        language     text NOT NULL,
        profile_id   text NOT NULL,
        status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','rendering','ready','failed')),
        progress     double precision NOT NULL DEFAULT 0,
        error_json   text,
        stories_json text NOT NULL,
        skipped_json text NOT NULL DEFAULT '[]',
        script_json  text NOT NULL,
        options_json text NOT NULL DEFAULT '{}',
        episode_id   bigint REFERENCES episodes (id) ON DELETE SET NULL,
        published_at text NOT NULL,
        created_at   text NOT NULL,
        updated_at   text NOT NULL
      );
      CREATE INDEX briefings_published ON briefings (published_at DESC, id DESC);
      CREATE UNIQUE INDEX briefings_scheduled_day ON briefings (day) WHERE origin = 'schedule';
    `,
  },
  {
    // Hardening: a job someone is waiting for (a Listen request) runs next, within the concurrency limit and its backoff.
    id: 'hardening-001-job-priority',
    up: `ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;`,
    postgres: `ALTER TABLE jobs ADD COLUMN priority integer NOT NULL DEFAULT 0;`,
  },
  {
    // Engines helper: characters sent to cloud speech engines, per engine and UTC calendar month (tts/usage.ts).
    id: 'engines-001-usage',
    up: `
      CREATE TABLE engine_usage (
        engine     TEXT NOT NULL,
        month      TEXT NOT NULL,
        characters INTEGER NOT NULL DEFAULT 0,
        requests   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (engine, month)
      ) WITHOUT ROWID;
    `,
    postgres: `
      CREATE TABLE engine_usage (
        engine     text NOT NULL,
        month      text NOT NULL,
        characters bigint NOT NULL DEFAULT 0,
        requests   bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (engine, month)
      );
    `,
  },
  {
    // Sources helper: the site's own feeds and sitemaps (polled), webhooks (pushed), and the page URL a story is found by.
    // url_key is written with the url by the articles repository (urlKey in src/sources/url-key.ts): a plain column,
    // so the database stays readable by any SQLite tool (no application function in its schema).
    id: 'sources-001-sources',
    up: `
      ALTER TABLE articles ADD COLUMN url_key TEXT;
      CREATE INDEX articles_url_key ON articles (url_key);

      CREATE TABLE sources (
        id              TEXT PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('feed','sitemap','webhook')),
        url             TEXT,
        origin          TEXT NOT NULL CHECK (origin IN ('api','config')),
        options_json    TEXT NOT NULL DEFAULT '{}',
        interval_s      INTEGER NOT NULL,
        enabled         INTEGER NOT NULL DEFAULT 1,
        secret_enc      TEXT,
        next_poll_at    INTEGER NOT NULL DEFAULT 0,
        failures        INTEGER NOT NULL DEFAULT 0,
        last_poll_at    TEXT,
        last_success_at TEXT,
        last_error_at   TEXT,
        last_error_json TEXT,
        polls           INTEGER NOT NULL DEFAULT 0,
        not_modified    INTEGER NOT NULL DEFAULT 0,
        bytes_fetched   INTEGER NOT NULL DEFAULT 0,
        items_seen      INTEGER NOT NULL DEFAULT 0,
        items_ingested  INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      );

      -- Validators of every document a source fetches (the feed, a sitemap index and its sitemaps).
      CREATE TABLE source_documents (
        source_id     TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        url           TEXT NOT NULL,
        etag          TEXT,
        last_modified TEXT,
        PRIMARY KEY (source_id, url)
      ) WITHOUT ROWID;

      -- One row per story a source has carried. article_id becomes NULL when the article is deleted: a tombstone,
      -- so a story removed from briefcast is not brought back by the next poll.
      CREATE TABLE source_items (
        source_id    TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        item_key     TEXT NOT NULL,
        external_id  TEXT NOT NULL,
        article_id   TEXT REFERENCES articles (id) ON DELETE SET NULL,
        fingerprint  TEXT NOT NULL,
        published_at TEXT,
        state        TEXT NOT NULL CHECK (state IN ('live','removed','skipped','failed')),
        error_json   TEXT,
        first_seen_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        PRIMARY KEY (source_id, item_key)
      ) WITHOUT ROWID;
      CREATE INDEX source_items_article ON source_items (article_id);

      CREATE TABLE webhook_deliveries (
        source_id    TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        delivery_id  TEXT NOT NULL,
        received_at  INTEGER NOT NULL,
        status       INTEGER NOT NULL,
        response_json TEXT NOT NULL,
        PRIMARY KEY (source_id, delivery_id)
      ) WITHOUT ROWID;
    `,
    postgres: `
      -- url_key: a plain column, computed in application code (src/sources/url-key.ts).
      ALTER TABLE articles ADD COLUMN url_key text;
      CREATE INDEX articles_url_key ON articles (url_key);

      CREATE TABLE sources (
        id              text PRIMARY KEY,
        kind            text NOT NULL CHECK (kind IN ('feed','sitemap','webhook')),
        url             text,
        origin          text NOT NULL CHECK (origin IN ('api','config')),
        options_json    text NOT NULL DEFAULT '{}',
        interval_s      integer NOT NULL,
        enabled         integer NOT NULL DEFAULT 1,
        secret_enc      text,
        next_poll_at    bigint NOT NULL DEFAULT 0,
        failures        integer NOT NULL DEFAULT 0,
        last_poll_at    text,
        last_success_at text,
        last_error_at   text,
        last_error_json text,
        polls           bigint NOT NULL DEFAULT 0,
        not_modified    bigint NOT NULL DEFAULT 0,
        bytes_fetched   bigint NOT NULL DEFAULT 0,
        items_seen      bigint NOT NULL DEFAULT 0,
        items_ingested  bigint NOT NULL DEFAULT 0,
        created_at      text NOT NULL,
        updated_at      text NOT NULL
      );

      CREATE TABLE source_documents (
        source_id     text NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        url           text NOT NULL,
        etag          text,
        last_modified text,
        PRIMARY KEY (source_id, url)
      );

      CREATE TABLE source_items (
        source_id    text NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        item_key     text NOT NULL,
        external_id  text NOT NULL,
        article_id   text REFERENCES articles (id) ON DELETE SET NULL,
        fingerprint  text NOT NULL,
        published_at text,
        state        text NOT NULL CHECK (state IN ('live','removed','skipped','failed')),
        error_json   text,
        first_seen_at text NOT NULL,
        last_seen_at text NOT NULL,
        PRIMARY KEY (source_id, item_key)
      );
      CREATE INDEX source_items_article ON source_items (article_id);

      CREATE TABLE webhook_deliveries (
        source_id    text NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        delivery_id  text NOT NULL,
        received_at  bigint NOT NULL,
        status       integer NOT NULL,
        response_json text NOT NULL,
        PRIMARY KEY (source_id, delivery_id)
      );
    `,
  },
  {
    // Store layer (issue #14): url_key and published_ms are plain columns computed in application code (SQLite and
    // PostgreSQL alike; url_key was a generated column over a custom SQLite function before). Existing rows are backfilled.
    id: 'store-001-app-keys',
    up: (db) => {
      db.exec(`
        DROP INDEX IF EXISTS articles_url_key;
        ALTER TABLE articles DROP COLUMN url_key;
        ALTER TABLE articles ADD COLUMN url_key TEXT;
        ALTER TABLE articles ADD COLUMN published_ms INTEGER;
      `)
      const set = db.prepare('UPDATE articles SET url_key = ?, published_ms = ? WHERE id = ?')
      for (const r of db.prepare('SELECT id, url, published_at FROM articles').all() as { id: string; url: string | null; published_at: string | null }[])
        set.run(urlKey(r.url), publishedMs(r.published_at), r.id)
      db.exec('CREATE INDEX articles_url_key ON articles (url_key)')
    },
    postgres: 'ALTER TABLE articles ADD COLUMN published_ms bigint;',
  },
  {
    // Admin: dashboard accounts, their sessions, and named API keys. Secrets are stored hashed only:
    // passwords with scrypt (salted, slow), session tokens and API keys (256-bit random) with sha256.
    id: 'admin-001-accounts',
    up: `
      CREATE TABLE users (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin','editor','viewer')),
        created_at    TEXT NOT NULL,
        last_login_at TEXT
      );
      CREATE TABLE sessions (
        token_hash   TEXT PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf_token   TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE TABLE api_keys (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        key_hash     TEXT NOT NULL UNIQUE,
        prefix       TEXT NOT NULL,
        role         TEXT NOT NULL CHECK (role IN ('admin','editor','viewer')),
        created_by   TEXT,
        created_at   TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at   TEXT
      );
    `,
    postgres: `
      CREATE TABLE users (
        id            integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        username      text NOT NULL,
        password_hash text NOT NULL,
        role          text NOT NULL CHECK (role IN ('admin','editor','viewer')),
        created_at    text NOT NULL,
        last_login_at text
      );
      CREATE UNIQUE INDEX users_username ON users (lower(username));
      CREATE TABLE sessions (
        token_hash   text PRIMARY KEY,
        user_id      integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf_token   text NOT NULL,
        created_at   text NOT NULL,
        expires_at   bigint NOT NULL
      );
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE TABLE api_keys (
        id           text PRIMARY KEY,
        name         text NOT NULL,
        key_hash     text NOT NULL UNIQUE,
        prefix       text NOT NULL,
        role         text NOT NULL CHECK (role IN ('admin','editor','viewer')),
        created_by   text,
        created_at   text NOT NULL,
        last_used_at text,
        revoked_at   text
      );
    `,
  },
  {
    // Admin: pronunciation lexicons, editable in the dashboard. Seeded once per lexicon from voices/lexicon/<name>.json
    // (lexicon_sources records that the seed happened, so a lexicon emptied by an editor is not seeded again).
    id: 'admin-002-lexicons',
    up: `
      CREATE TABLE lexicon_sources (
        name      TEXT PRIMARY KEY,
        seeded_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE lexicon_entries (
        name           TEXT NOT NULL,
        match          TEXT NOT NULL,
        say            TEXT NOT NULL,
        case_sensitive INTEGER NOT NULL DEFAULT 0,
        updated_at     TEXT NOT NULL,
        PRIMARY KEY (name, match)
      ) WITHOUT ROWID;
    `,
    postgres: `
      CREATE TABLE lexicon_sources (
        name      text PRIMARY KEY,
        seeded_at text NOT NULL
      );
      CREATE TABLE lexicon_entries (
        name           text NOT NULL,
        match          text NOT NULL,
        say            text NOT NULL,
        case_sensitive integer NOT NULL DEFAULT 0,
        updated_at     text NOT NULL,
        PRIMARY KEY (name, match)
      );
    `,
  },
  {
    // Admin: podcast downloads, IAB-style: one per client per episode per UTC day. A client is a keyed hash
    // (HMAC with a random key kept in admin_secrets) of day, address and user agent, never the address itself; it
    // counts once the client has fetched a minute of audio (or the whole episode when shorter);
    // seen-rows older than two days are deleted.
    id: 'admin-003-downloads',
    up: `
      CREATE TABLE download_stats (
        article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        day        TEXT NOT NULL,
        downloads  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (article_id, day)
      ) WITHOUT ROWID;
      CREATE TABLE download_clients (
        day        TEXT NOT NULL,
        article_id TEXT NOT NULL,
        client     TEXT NOT NULL,
        bytes      INTEGER NOT NULL DEFAULT 0,
        counted    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, article_id, client)
      ) WITHOUT ROWID;
      CREATE TABLE admin_secrets (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
    postgres: `
      CREATE TABLE download_stats (
        article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        day        text NOT NULL,
        downloads  integer NOT NULL DEFAULT 0,
        PRIMARY KEY (article_id, day)
      );
      CREATE TABLE download_clients (
        day        text NOT NULL,
        article_id text NOT NULL,
        client     text NOT NULL,
        bytes      bigint NOT NULL DEFAULT 0,
        counted    integer NOT NULL DEFAULT 0,
        PRIMARY KEY (day, article_id, client)
      );
      CREATE TABLE admin_secrets (
        name  text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    // Run-time settings (src/admin/settings.ts): overrides of configured values, changed from the dashboard.
    id: 'admin-004-settings',
    up: `
      CREATE TABLE runtime_settings (
        key        TEXT PRIMARY KEY,
        value_json TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
    postgres: `
      CREATE TABLE runtime_settings (
        key        text PRIMARY KEY,
        value_json text NOT NULL,
        updated_at text NOT NULL,
        updated_by text NOT NULL
      );
    `,
  },
]

function checkUnique(list: readonly Migration[]): void {
  const seen = new Set<string>()
  for (const m of list) {
    if (seen.has(m.id)) throw new Error(`Duplicate migration id ${m.id}`)
    seen.add(m.id)
  }
}

/** SQLite: apply pending migrations in order, each in its own transaction. Returns the ids applied. */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations): string[] {
  checkUnique(list)
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)')
  const done = new Set((db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id))
  const applied: string[] = []
  for (const m of list) {
    if (done.has(m.id)) continue
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up)
      else m.up(db)
      db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(m.id, new Date().toISOString())
    })()
    applied.push(m.id)
  }
  return applied
}

/**
 * PostgreSQL: apply pending migrations in order, each in its own transaction (DDL is transactional there).
 * An advisory lock per schema serializes nodes that start at the same time: one migrates, the others wait and find nothing to do.
 */
export async function migratePostgres(pool: pg.Pool, list: readonly Migration[] = migrations): Promise<string[]> {
  checkUnique(list)
  const missing = list.filter((m) => m.postgres === undefined).map((m) => m.id)
  if (missing.length) throw new Error(`Migrations without a PostgreSQL form: ${missing.join(', ')}`)
  const client = await pool.connect()
  const lock = "SELECT hashtext('briefcast-migrate:' || current_schema()) AS k"
  try {
    const key = ((await client.query(lock)).rows[0] as { k: number }).k
    await client.query('SELECT pg_advisory_lock($1)', [key])
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at text NOT NULL)')
      const done = new Set(((await client.query('SELECT id FROM schema_migrations')).rows as { id: string }[]).map((r) => r.id))
      const applied: string[] = []
      for (const m of list) {
        if (done.has(m.id)) continue
        await client.query('BEGIN')
        try {
          if (typeof m.postgres === 'string') await client.query(m.postgres)
          else await m.postgres!(client)
          await client.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [m.id, new Date().toISOString()])
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {})
          throw new Error(`Migration ${m.id} failed: ${(err as Error).message}`, { cause: err })
        }
        applied.push(m.id)
      }
      return applied
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {})
    }
  } finally {
    client.release()
  }
}
