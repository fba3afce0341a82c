/**
 * The command table: every `briefcast` command, subcommand and option, declared
 * once. src/cli/spec.ts parses argv against it and generates --help;
 * bin/cli-docs.ts generates docs/cli.md from it (a test keeps that page
 * current). Handlers live in their own modules and are imported only when
 * their command runs.
 *
 * To add a command: declare it here (name, summary, positionals, options,
 * load), write its handler as `export async function run(args: ParsedArgs):
 * Promise<number>` in src/cli/<name>.ts, then `npm run docs:cli`.
 */
import type { CommandSpec, OptionSpec } from './spec.ts'

const config: OptionSpec = { type: 'string', short: 'c', value: 'FILE', help: 'JSON config file', defaultText: 'BRIEFCAST_CONFIG or ./briefcast.config.json' }
const voice: OptionSpec = { type: 'string', short: 'v', value: 'PROFILE', help: 'voice profile (a file name in the voices directory, without .json)' }
const voicesDir: OptionSpec = {
  type: 'string',
  value: 'DIR',
  help: 'voices directory',
  defaultText: 'BRIEFCAST_VOICES_DIR, the config file, ./voices, else the shipped voices/',
}
const json: OptionSpec = { type: 'boolean', help: 'print the result as JSON on stdout' }
const quiet: OptionSpec = { type: 'boolean', short: 'q', help: 'no progress bar or summary' }
const output = (what: string): OptionSpec => ({ type: 'string', short: 'o', value: 'FILE', help: what, required: true })

export const COMMANDS: CommandSpec[] = [
  {
    name: 'serve',
    summary: 'run the HTTP service (same as npm start)',
    description: `Runs the HTTP service: Listen endpoints, the embeddable player, podcast feeds and the admin API.
Settings come from environment variables (BRIEFCAST_*, PORT) and an optional JSON config file
(docs/configuration.md). Stops gracefully on SIGTERM or SIGINT. It renders too, unless --no-render
leaves rendering to \`briefcast worker\` processes (that needs BRIEFCAST_REDIS_URL; docs/deployment.md).`,
    options: {
      port: { type: 'string', short: 'p', value: 'N', help: 'port to listen on', int: { min: 0 }, defaultText: 'PORT or 8080' },
      'no-render': { type: 'boolean', help: 'serve only; workers render (needs BRIEFCAST_REDIS_URL)' },
      config,
    },
    load: async () => (await import('./serve.ts')).run,
  },
  {
    name: 'worker',
    summary: 'render jobs from the Redis queue (no HTTP service)',
    description: `Renders articles and briefings taken from the Redis job queue, for a fleet of API nodes
(\`briefcast serve\`) and workers sharing Redis, the database and the audio storage
(docs/deployment.md, "Running several nodes"). Needs BRIEFCAST_REDIS_URL. On SIGTERM it takes no new
jobs and finishes the current render, or hands it back to the queue after 10 s; if it is killed,
another worker takes its job over within about 15 seconds.`,
    options: {
      'health-port': { type: 'string', value: 'N', help: 'serve /healthz and /readyz on this port', int: { min: 0 }, defaultText: 'none' },
      config,
    },
    examples: ['BRIEFCAST_REDIS_URL=redis://10.0.0.5:6379 briefcast worker --health-port 9090'],
    load: async () => (await import('./worker.ts')).run,
  },
  {
    name: 'render',
    summary: 'render one article to an MP3/M4A episode with transcript and chapters',
    description: `Renders one article (HTML, Markdown, text or JSON; a file, an http(s) URL, or - for stdin) to an
episode, offline with the default engine. Also writes <out>.vtt (transcript) and <out>.chapters.json.
Every file goes to a temporary name first, so an interrupted run leaves nothing at the output paths.`,
    positionals: [{ name: 'input', help: 'article file, http(s) URL, or - for stdin', required: true }],
    options: {
      output: output('output audio file (.mp3 or .m4a)'),
      voice,
      format: { type: 'string', short: 'f', help: 'audio format', choices: ['mp3', 'm4a'], defaultText: 'from the output name, else the config' },
      title: { type: 'string', value: 'TEXT', help: 'episode title', defaultText: "the article's" },
      voices: voicesDir,
      config,
      json,
      quiet,
      verbose: { type: 'boolean', help: 'say where the time goes, on stderr' },
    },
    examples: ['briefcast render story.html -o story.mp3', 'curl -s https://example.com/story | briefcast render - -o story.mp3 --voice espeak-en'],
    espeak: true,
    load: async () => (await import('./render.ts')).run,
  },
  {
    name: 'briefing',
    summary: 'join several articles into one briefing episode (opening, stories, transitions, chapters)',
    description: `Joins several articles (HTML, Markdown, text or JSON files) into one briefing episode: a spoken opening
with the show's name and the date, each story's title and text, a transition between stories, a closing
line; one chapter per story. Also writes <out>.vtt (transcript) and <out>.chapters.json.`,
    positionals: [{ name: 'files', help: 'article files, in the order they are read', required: true, variadic: true }],
    options: {
      output: output('output audio file (.mp3 or .m4a)'),
      title: { type: 'string', value: 'TEXT', help: 'episode title', defaultText: '"<show>: <date>"' },
      show: { type: 'string', value: 'NAME', help: 'show name spoken in the opening', defaultText: 'config show.title' },
      mode: { type: 'string', help: 'read whole stories or only their ledes', choices: ['full', 'lede'], defaultText: 'config briefing.storyMode' },
      'lede-seconds': { type: 'string', value: 'N', help: 'lede time budget per story, in seconds', int: { min: 5 }, defaultText: 'config briefing.ledeSeconds' },
      voice: { ...voice, defaultText: "the profile for the first story's language" },
      date: { type: 'string', value: 'ISO', help: 'the day named in the opening', defaultText: 'now' },
      intro: { type: 'string', value: 'FILE', help: "intro jingle (overrides the profile's)" },
      outro: { type: 'string', value: 'FILE', help: "outro jingle (overrides the profile's)" },
      'allow-partial': { type: 'boolean', help: 'leave out files that fail to convert or are in another language' },
      voices: voicesDir,
      config,
      json,
      quiet,
    },
    examples: ['briefcast briefing a.html b.md c.txt -o today.mp3 --mode lede'],
    espeak: true,
    load: async () => (await import('./briefing.ts')).run,
  },
  {
    name: 'script',
    summary: 'print the script an article converts to (what would be read)',
    description: `Converts an article (HTML page or fragment, Markdown, plain text, or JSON {title, body, format, author,
publishedAt, language, url}) to the script that would be read, and prints it. Use "-" to read stdin.
The lexicon for the article's language (<voices>/lexicon/<lang>.json) is applied unless --lexicon none.`,
    positionals: [{ name: 'input', help: 'article file, or - for stdin', required: true }],
    options: {
      format: { type: 'string', help: 'output format', choices: ['text', 'json'], defaultText: 'text' },
      json: { type: 'boolean', help: 'same as --format json' },
      from: { type: 'string', help: 'input format', choices: ['html', 'markdown', 'text', 'json'], defaultText: 'detected' },
      language: { type: 'string', value: 'TAG', help: 'article language as BCP 47', defaultText: 'from the input, else detected' },
      title: { type: 'string', value: 'TEXT', help: 'article title', defaultText: 'from the input' },
      'target-chars': { type: 'string', value: 'N', help: 'target segment size in characters', int: { min: 1 }, defaultText: '450' },
      'max-bytes': { type: 'string', value: 'N', help: "hard segment limit in UTF-8 bytes (Google's limit)", int: { min: 1 }, defaultText: '5000' },
      lexicon: { type: 'string', value: 'NAME|none', help: 'pronunciation lexicon in <voices>/lexicon/', defaultText: "the article's language" },
      explain: { type: 'boolean', help: 'show what is read: per segment, each change for speech (written -> spoken), and what was dropped and why' },
      voices: voicesDir,
      config,
    },
    examples: ['briefcast script page.html', 'briefcast script page.html --explain', 'briefcast script - --format json < story.md'],
    load: async () => (await import('./script.ts')).run,
  },
  {
    name: 'say',
    summary: 'speak a line of text into a WAV file',
    description: `Synthesizes TEXT (or standard input when TEXT is "-") with a voice profile and writes a mono 16-bit
WAV file. Clips are cached, so saying the same text again is instant.`,
    positionals: [{ name: 'text', help: 'the text to speak, or - for stdin', required: true, variadic: true }],
    options: {
      output: output('output WAV file'),
      voice,
      language: { type: 'string', short: 'l', value: 'TAG', help: "use the voice profile for this language (instead of --voice)" },
      role: { type: 'string', short: 'r', help: "which of the profile's voices speaks", choices: ['title', 'body', 'quote', 'host'], defaultText: 'body' },
      ssml: { type: 'boolean', help: 'the text is SSML' },
      voices: voicesDir,
      config,
      json,
    },
    examples: ['briefcast say "Good morning." -o hello.wav --voice espeak-en'],
    espeak: true,
    load: async () => (await import('./say.ts')).run,
  },
  {
    name: 'voices',
    summary: 'list speech engines, voice profiles and voices',
    description: `Lists the speech engines, the voice profiles in the voices directory and the voices each engine offers.
Cloud engines (google, openai, polly, elevenlabs) are only asked when they are configured (credentials or
an endpoint) or named with --engine. Installed local neural models (sherpa-onnx) are listed with their speakers.`,
    options: {
      engine: { type: 'string', short: 'e', value: 'ID', help: 'only this engine' },
      language: { type: 'string', short: 'l', value: 'TAG', help: 'only voices for this language' },
      voices: voicesDir,
      config,
      json,
    },
    subcommands: [
      {
        name: 'install',
        summary: 'install a local neural voice model (a sherpa-onnx .tar.bz2 archive) into the models directory',
        description: `Installs a local neural voice model (a sherpa-onnx TTS model archive, .tar.bz2) into the models
directory (BRIEFCAST_MODELS_DIR, default ./models). A download that stops is resumed by running the same
command again. The archive may be at most BRIEFCAST_MODELS_MAX_BYTES; --sha256 checks it before unpacking.
Then name the model in a voice profile (see voices/examples/) and restart the service.`,
        positionals: [
          {
            name: 'model',
            help: 'a sherpa-onnx archive name (e.g. vits-piper-en_US-amy-low), an http(s) URL of such an archive (private addresses need BRIEFCAST_FETCH_ALLOWLIST), or a .tar.bz2 path',
            required: true,
          },
        ],
        options: {
          sha256: { type: 'string', value: 'HEX', help: "the archive's SHA-256, checked before unpacking" },
          config,
        },
        examples: ['briefcast voices install vits-piper-en_US-amy-low', 'briefcast voices install ./kokoro-en-v0_19.tar.bz2'],
        load: async () => (await import('./voices-install.ts')).run,
      },
    ],
    espeak: true,
    load: async () => (await import('./voices.ts')).run,
  },
  {
    name: 'users',
    summary: 'dashboard accounts: add, list, remove, reset-password',
    description: `Manages the accounts of the dashboard (/admin) in the service's database, also while the service runs:
for the first admin on a server without a browser, or a locked-out newsroom. Roles: admin (users, keys,
settings, sources), editor (articles, briefings, pronunciation, voices), viewer (read, figures). A new password
is generated and printed once, unless --password-stdin reads it from standard input (never from the command line).`,
    subcommands: [
      {
        name: 'add',
        summary: 'create a user',
        positionals: [{ name: 'name', help: 'user name (2-64 letters, digits, ".", "_", "@" or "-")', required: true }],
        options: {
          role: { type: 'string', short: 'r', value: 'ROLE', help: 'the role', choices: ['admin', 'editor', 'viewer'], defaultText: 'editor' },
          'password-stdin': { type: 'boolean', help: 'read the password from standard input instead of generating one' },
          config,
        },
        examples: ['briefcast users add ana --role admin', 'printf %s "$PW" | briefcast users add ben --password-stdin'],
        load: async () => (await import('./users.ts')).add,
      },
      {
        name: 'list',
        summary: 'users with their roles and last sign-in',
        options: { json, config },
        load: async () => (await import('./users.ts')).list,
      },
      {
        name: 'remove',
        summary: 'delete a user and end their sessions',
        positionals: [{ name: 'name', help: 'user name', required: true }],
        options: { config },
        load: async () => (await import('./users.ts')).remove,
      },
      {
        name: 'reset-password',
        summary: 'set a new password and end their sessions',
        positionals: [{ name: 'name', help: 'user name', required: true }],
        options: { 'password-stdin': { type: 'boolean', help: 'read the password from standard input instead of generating one' }, config },
        load: async () => (await import('./users.ts')).resetPassword,
      },
    ],
  },
  {
    name: 'move',
    summary: 'copy an embedded install into PostgreSQL and/or a bucket, resumably, and verify the copy',
    description: `Copies the install the usual settings point at (the SQLite file in the data directory, the files in the
cache directory) into PostgreSQL (--to-database) and/or S3-compatible object storage (--to-storage), so a
site can move to several nodes. The source is only read (one snapshot). The target database gets the
service's migrations, then every table, parents first, in batches by key, each batch one transaction; id
sequences continue after the copied ids. Files already in the bucket with the same size and SHA-256 are
skipped. An interrupted run resumes where it stopped when run again. At the end the copy is verified: row
counts, keys and content checksums per table, size and SHA-256 per file; any difference exits 1, naming it.
A target database holding rows that this move did not write is refused unless --replace-target.
Then start the service with BRIEFCAST_DATABASE_URL / BRIEFCAST_STORAGE_URL (docs/deployment.md).`,
    options: {
      'to-database': { type: 'string', value: 'URL', help: 'target PostgreSQL, postgres://USER@HOST:PORT/DB (the password from PGPASSWORD or ~/.pgpass keeps it off the command line)' },
      'to-storage': { type: 'string', value: 'URL', help: 'target bucket, s3://BUCKET/PREFIX?endpoint=...&region=... (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)' },
      'verify-only': { type: 'boolean', help: 'copy nothing; check that the targets hold what the source holds' },
      'replace-target': { type: 'boolean', help: 'delete every briefcast row in the target database before copying' },
      'batch-size': { type: 'string', value: 'N', help: 'rows per transaction', int: { min: 1 }, defaultText: '500' },
      concurrency: { type: 'string', value: 'N', help: 'files copied at a time', int: { min: 1 }, defaultText: '4' },
      config,
      json: { type: 'boolean', help: 'print the report (copy and verification) as JSON on stdout' },
      quiet,
    },
    examples: [
      'PGPASSWORD=... briefcast move --to-database postgres://briefcast@db.internal/briefcast --to-storage "s3://news-audio/briefcast?region=eu-central-1"',
      'briefcast move --to-database postgres://briefcast@db.internal/briefcast --to-storage "s3://news-audio/briefcast?region=eu-central-1" --verify-only',
    ],
    load: async () => (await import('./move.ts')).run,
  },
  {
    name: 'doctor',
    summary: 'check what the service needs and say how to fix what is missing',
    description: `Checks, in one screen, what briefcast needs and what it will do: ffmpeg and ffprobe, the voice profiles
and lexicons (and whether each profile's engine is usable), the data and cache directories, and the
public URL. Exits 0 when all is well, 1 when something needs fixing (with --strict, warnings count too).`,
    options: {
      json: { type: 'boolean', help: 'print the checks as JSON (for monitoring)' },
      strict: { type: 'boolean', help: 'exit 1 on warnings too' },
      voices: voicesDir,
      config,
    },
    load: async () => (await import('./doctor.ts')).run,
  },
]

/** The root of the table: `briefcast <command>`. */
export const ROOT: CommandSpec = {
  name: 'briefcast',
  summary: 'text-to-speech audio for news sites',
  description: `Self-hostable text-to-speech audio for news sites: Listen buttons, an embeddable player and podcast feeds.
Run \`briefcast <command> --help\` for a command's options.`,
  subcommands: COMMANDS,
  options: { version: { type: 'boolean', short: 'V', help: 'print the version' } },
}

/** Exit codes, one table for every command (docs/cli.md shows it). */
export const EXIT_CODES: { code: number; meaning: string }[] = [
  { code: 0, meaning: 'success (doctor: every check passed)' },
  { code: 1, meaning: 'the command ran and failed: bad input, a missing file, an engine or ffmpeg error (doctor: a check failed); the message says what to change' },
  { code: 2, meaning: 'usage error: an unknown command or option, a missing argument or a bad option value; nothing was done' },
  { code: 130, meaning: 'interrupted (Ctrl-C or SIGTERM); temporary files were removed' },
]
