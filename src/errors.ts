/**
 * One error class for everything a user (or an operator) can cause, and one
 * catalogue of codes. Each code has an HTTP status and a default hint that says
 * what to change. tests/errors.test.ts keeps this catalogue in sync with the
 * README's table of error codes.
 */
import { isTransientStoreError } from './store/errors.ts'

export const ERROR_CATALOGUE = {
  // input / article conversion
  EMPTY_INPUT: { status: 400, help: 'Send a non-empty article body.' },
  NO_ARTICLE_TEXT: { status: 422, help: 'The input has no readable article text; send the article body, not a page shell.' },
  UNSUPPORTED_FORMAT: { status: 415, help: 'Send HTML, Markdown, plain text or JSON {title, body, format}.' },
  INPUT_TOO_LARGE: { status: 413, help: 'Send a smaller input.' },
  INVALID_ENCODING: { status: 400, help: 'Send text encoded as UTF-8.' },
  BINARY_INPUT: { status: 415, help: 'The input looks like a binary file; send text, HTML or Markdown.' },
  INVALID_JSON: { status: 400, help: 'Send well-formed JSON.' },
  VALIDATION_FAILED: { status: 400, help: 'Fix the fields named in the details.' },
  // TTS
  UNKNOWN_ENGINE: { status: 400, help: 'Use one of the engines listed by `briefcast voices`.' },
  UNKNOWN_VOICE: { status: 400, help: 'Use a voice listed by `briefcast voices`.' },
  UNKNOWN_PROFILE: { status: 400, help: 'Use a voice profile from the voices/ directory.' },
  INVALID_PROFILE: { status: 500, help: 'Fix the voice profile file named in the details.' },
  UNSUPPORTED_LANGUAGE: { status: 422, help: 'No configured engine speaks this language; add a voice profile for it.' },
  TEXT_TOO_LONG: { status: 422, help: 'Split the text into smaller segments.' },
  SSML_REJECTED: { status: 422, help: 'Fix the SSML markup or send plain text.' },
  ENGINE_UNAVAILABLE: { status: 503, help: 'The speech engine is not reachable; retry later or configure a fallback engine.' },
  ENGINE_FAILED: { status: 502, help: 'The speech engine failed; see the details.' },
  MISSING_CREDENTIALS: { status: 500, help: "Configure the engine's credentials named in the message (e.g. GOOGLE_APPLICATION_CREDENTIALS, OPENAI_API_KEY, AWS_ACCESS_KEY_ID, ELEVENLABS_API_KEY)." },
  ENGINE_AUTH_FAILED: { status: 502, help: 'The speech engine refused the configured key; fix the setting named in the message.' },
  QUOTA_EXCEEDED: { status: 402, help: "The speech engine account's quota or credit is used up; raise it, wait for the reset, or configure a fallback engine." },
  RATE_LIMITED: { status: 429, help: 'Too many requests; retry later.' },
  MODEL_NOT_INSTALLED: { status: 500, help: 'Install the model with `briefcast voices install <name|URL|path>`, or change the voice profile.' },
  INVALID_MODEL_ARCHIVE: { status: 422, help: "Give a sherpa-onnx TTS model archive (.tar.bz2) from sherpa-onnx's tts-models releases." },
  UNKNOWN_MODEL_LAYOUT: { status: 422, help: 'Install a Piper/VITS or Kokoro model as sherpa-onnx publishes them (model .onnx, tokens.txt, espeak-ng-data/ or voices.bin).' },
  CHECKSUM_MISMATCH: { status: 422, help: 'The download is not the file that was expected; check the URL and the --sha256 value and retry.' },
  // audio
  FFMPEG_NOT_FOUND: { status: 500, help: 'Install ffmpeg (with libmp3lame) or set FFMPEG_PATH / FFPROBE_PATH.' },
  FFMPEG_TOO_OLD: { status: 500, help: 'Install ffmpeg 4.1 or newer, or set FFMPEG_PATH.' },
  FFMPEG_FAILED: { status: 500, help: 'ffmpeg failed; see the stderr tail in the details.' },
  INVALID_AUDIO: { status: 415, help: 'Send an audio file ffmpeg can read (MP3, WAV, M4A, OGG).' },
  INVALID_IMAGE: { status: 415, help: 'Send a JPEG or PNG image.' },
  OUTPUT_NOT_WRITABLE: { status: 500, help: 'Choose an output path in a writable directory.' },
  DISK_FULL: { status: 507, help: 'Free disk space and retry.' },
  ABORTED: { status: 499, help: 'The operation was cancelled.' },
  // service
  UNAUTHORIZED: { status: 401, help: 'Send the API key as "Authorization: Bearer <key>".' },
  FORBIDDEN: { status: 403, help: 'Ask an admin for a role that allows this, or use a key with that role.' },
  CSRF_FAILED: { status: 403, help: 'Send the form from the dashboard itself; reload the page to get a fresh token.' },
  NOT_FOUND: { status: 404, help: 'Check the id or URL.' },
  ARTICLE_NOT_FOUND: { status: 404, help: 'Check the article id.' },
  EPISODE_NOT_READY: { status: 409, help: 'The episode is still rendering; retry shortly or use the progressive stream.' },
  CONFLICT: { status: 409, help: 'The resource already exists.' },
  PRECONDITION_FAILED: { status: 412, help: 'Read the resource again (GET) and retry with its current ETag in If-Match.' },
  FILE_TOO_LARGE: { status: 413, help: 'Upload a smaller file.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, help: 'Send a supported Content-Type.' },
  RANGE_NOT_SATISFIABLE: { status: 416, help: 'Request a byte range inside the file.' },
  URL_NOT_ALLOWED: { status: 422, help: 'The URL resolves to a private address; add its host to BRIEFCAST_FETCH_ALLOWLIST to permit it.' },
  FETCH_FAILED: { status: 502, help: 'The URL could not be fetched; check it and retry.' },
  MALFORMED_SOURCE: { status: 422, help: 'The source is not an RSS, Atom or JSON feed nor a sitemap; check its URL.' },
  SOURCE_NOT_FOUND: { status: 404, help: 'Check the source id (GET /api/sources lists them).' },
  INVALID_SIGNATURE: { status: 401, help: 'Sign the raw body as docs/publishing.md says: Briefcast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, with the source secret and the current time.' },
  COVER_SIZE: { status: 422, help: 'Upload square cover art from 1400x1400 to 3000x3000 pixels.' },
  BRIEFING_EMPTY: { status: 422, help: 'Choose articles that exist and are ready.' },
  STORAGE_UNAVAILABLE: { status: 503, help: 'The object storage (BRIEFCAST_STORAGE_URL) did not answer; check that the bucket and its endpoint are reachable, then retry.' },
  DATABASE_UNAVAILABLE: { status: 503, help: 'The database (BRIEFCAST_DATABASE_URL) is not answering; retry after the seconds given in Retry-After. GET /readyz shows whether it is down.' },
  RENDER_CRASHED: { status: 500, help: "The render stopped its worker process every time it was tried; see the workers' logs, then edit the article (PUT /api/articles/{id}) or render it again from the pronunciation page." },
  SERVICE_UNAVAILABLE: { status: 503, help: 'The service is starting; retry after the seconds given in Retry-After.' },
  MOVE_SOURCE_NOT_READY: { status: 409, help: 'Run `briefcast move` with the settings of the embedded install to copy, after this version has started on it once.' },
  MOVE_TARGET_UNREACHABLE: { status: 503, help: 'Check the host, credentials and name in --to-database / --to-storage; nothing was copied.' },
  MOVE_TARGET_NOT_EMPTY: { status: 409, help: 'Move into an empty database (or schema), or add --replace-target to delete what the target holds first.' },
  MOVE_VERIFY_FAILED: { status: 500, help: 'Run `briefcast move` again without --verify-only to copy what differs, then verify again; do not switch the settings before it passes.' },
  CONFIG_INVALID: { status: 500, help: 'Fix the settings named in the details.' },
  UNEXPECTED_ERROR: { status: 500, help: 'An unexpected error occurred; see the server log.' },
} as const satisfies Record<string, { status: number; help: string }>

export type ErrorCode = keyof typeof ERROR_CATALOGUE

export interface AppErrorOptions {
  status?: number
  details?: unknown
  help?: string
  cause?: unknown
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: unknown
  readonly help: string

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = options.status ?? ERROR_CATALOGUE[code].status
    this.details = options.details
    this.help = options.help ?? ERROR_CATALOGUE[code].help
  }

  toJSON(): { code: ErrorCode; message: string; help: string; details?: unknown } {
    return {
      code: this.code,
      message: this.message,
      help: this.help,
      ...(this.details === undefined ? {} : { details: this.details }),
    }
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError
}

/** Wrap anything into an AppError; AppErrors pass through unchanged. */
export function toAppError(err: unknown, fallback: ErrorCode = 'UNEXPECTED_ERROR'): AppError {
  if (err instanceof AppError) return err
  if (err instanceof Error && err.name === 'AbortError') return new AppError('ABORTED', 'The operation was cancelled.', { cause: err })
  if (isTransientStoreError(err)) return databaseUnavailable(err)
  const message = err instanceof Error ? err.message : String(err)
  return new AppError(fallback, message, { cause: err })
}

/** Throws ABORTED if the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('ABORTED', 'The operation was cancelled.', { cause: signal.reason })
}

/** The database is unreachable or overloaded right now (src/store/errors.ts): 503, retry later; the cause is kept. */
export function databaseUnavailable(err: unknown): AppError {
  // The reason (an address, a driver message) is for the log, through the cause; readers get the code.
  return new AppError('DATABASE_UNAVAILABLE', 'The database is not answering; retry in a moment.', { cause: err })
}
