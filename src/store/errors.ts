/**
 * Which database errors mean "the database is unreachable or overloaded right
 * now" (retry later) rather than "this write is wrong" (a bug or bad input).
 * A render that hits one waits and retries; it never ends failed because of it.
 */
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
const TRANSIENT_SQLITE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN'])

export function isTransientStoreError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') {
    if (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_SQLITE_CODES.has(code)) return true
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_IOERR')) return true
    // PostgreSQL SQLSTATE: 08 connection exception, 53 insufficient resources, 57P0x shutdown/cannot connect now,
    // 57014 statement timeout, 40001/40P01 serialization failure/deadlock.
    if (/^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[1-4]$/.test(code) || code === '57014' || code === '40001' || code === '40P01') return true
  }
  const message = (err as { message?: unknown }).message
  // pg: a pool that cannot get a connection, or a connection that died mid-query.
  if (typeof message === 'string' && /timeout exceeded when trying to connect|Connection terminated|connection error|Client has encountered a connection error/i.test(message)) return true
  const cause = (err as { cause?: unknown }).cause
  return cause !== undefined && cause !== err && isTransientStoreError(cause)
}
