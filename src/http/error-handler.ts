/**
 * The ONE error middleware: every error becomes `{error: {code, message, help, details?}}`
 * with the catalogue's status. Body-parser, multer and send errors are mapped
 * to our codes; anything unknown is 500 UNEXPECTED_ERROR and logged with its stack.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express'
import type { Logger } from 'pino'
import { AppError, databaseUnavailable } from '../errors.ts'
import { isTransientStoreError } from '../store/errors.ts'

interface HttpishError {
  type?: string
  status?: number
  statusCode?: number
  code?: string
  field?: string
  expose?: boolean
  limit?: number
  name?: string
  message?: string
}

/** Map errors from Express' own middleware (body-parser, multer) to AppErrors. */
export function normalizeError(err: unknown): AppError {
  if (err instanceof AppError) return err
  const e = (err ?? {}) as HttpishError
  if (e.name === 'MulterError') {
    switch (e.code) {
      case 'LIMIT_FILE_SIZE':
        return new AppError('FILE_TOO_LARGE', `The uploaded file is larger than the limit.`, { details: { field: e.field } })
      case 'LIMIT_FIELD_VALUE':
        return new AppError('INPUT_TOO_LARGE', `The form field "${e.field}" is larger than the limit.`, { details: { field: e.field } })
      case 'LIMIT_FILE_COUNT':
        return new AppError('VALIDATION_FAILED', 'Send one file per request.', { details: { field: e.field } })
      case 'LIMIT_UNEXPECTED_FILE':
        return new AppError('VALIDATION_FAILED', `Unexpected file field "${e.field}"; send the file as "file".`, { details: { field: e.field } })
      default:
        return new AppError('VALIDATION_FAILED', `Upload rejected: ${e.message} (${e.code}).`, { details: { code: e.code, field: e.field } })
    }
  }
  // busboy's parse errors reach us through multer, which tags them with storageErrors.
  if (err instanceof Error && Array.isArray((err as { storageErrors?: unknown }).storageErrors))
    return new AppError('VALIDATION_FAILED', `The multipart/form-data body is malformed: ${err.message}.`, { help: 'Send a well-formed multipart/form-data body (e.g. curl -F file=@story.md).' })
  switch (e.type) {
    case 'entity.parse.failed':
      return new AppError('INVALID_JSON', `The request body is not valid JSON: ${e.message}`)
    case 'entity.too.large':
      return new AppError('INPUT_TOO_LARGE', `The request body is larger than the limit of ${e.limit} bytes.`)
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', e.message ?? 'Unsupported body encoding.')
    case 'request.aborted':
      return new AppError('ABORTED', 'The client closed the request.')
  }
  const status = e.status ?? e.statusCode
  if (status === 416) return new AppError('RANGE_NOT_SATISFIABLE', 'The requested range is not inside the file.')
  if (status === 404) return new AppError('NOT_FOUND', 'Not found.')
  if (err instanceof URIError) return new AppError('VALIDATION_FAILED', 'The request URL has malformed percent-encoding.', { help: 'Encode the URL correctly (RFC 3986).' })
  if (status && status >= 400 && status < 500) return new AppError('VALIDATION_FAILED', e.expose && e.message ? e.message : 'Bad request.', { status })
  if (err instanceof Error && err.name === 'AbortError') return new AppError('ABORTED', 'The operation was cancelled.')
  if (isTransientStoreError(err)) return databaseUnavailable(err)
  return new AppError('UNEXPECTED_ERROR', 'An unexpected error occurred.', { cause: err })
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = normalizeError(err)
    if (e.code === 'UNEXPECTED_ERROR' || e.status >= 500) logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed')
    else logger.debug({ code: e.code, method: req.method, url: req.originalUrl }, e.message)
    if (res.headersSent) {
      // Too late for a JSON error (a stream was under way): cut the connection so the client sees a truncated response.
      res.destroy()
      return
    }
    res.status(e.status)
    // The database or another dependency is away for a moment: tell clients when to come back.
    if (e.status === 503 && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', '5')
    if (e.code === 'UNAUTHORIZED') res.setHeader('WWW-Authenticate', 'Bearer realm="briefcast"')
    res.setHeader('Cache-Control', 'no-store')
    res.json({ error: e.toJSON() })
  }
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('NOT_FOUND', `No route for ${req.method} ${req.path}.`))
}
