/**
 * Schema migrations: an ordered array, applied once each inside a transaction
 * and recorded in `schema_migrations`. Helpers APPEND their own entries (never
 * edit or reorder existing ones: a database in the field has already run them).
 * Ids are unique strings, prefixed by the owning area (e.g. 'feed-001-briefings').
 */
import type Database from 'better-sqlite3'

export interface Migration {
  id: string
  /** SQL executed with db.exec, or a function for data migrations. */
  up: string | ((db: Database.Database) => void)
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
  },
  {
    // Hardening: a job someone is waiting for (a Listen request) runs next, within the concurrency limit and its backoff.
    id: 'hardening-001-job-priority',
    up: `ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;`,
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
  },
]

/** Apply pending migrations in order; each in its own transaction. Returns the ids applied. */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)')
  const done = new Set((db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id))
  const seen = new Set<string>()
  const applied: string[] = []
  for (const m of list) {
    if (seen.has(m.id)) throw new Error(`Duplicate migration id ${m.id}`)
    seen.add(m.id)
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
