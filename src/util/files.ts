import { randomBytes } from 'node:crypto'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { AppError } from '../errors.ts'

/** A temp path beside the target, so the final rename stays on one filesystem (atomic). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/** Write to a temp file, fsync, then rename: readers never see a half-written file. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true })
  const tmp = tempPathFor(target)
  try {
    const fh = await fs.open(tmp, 'w')
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fs.rename(tmp, target)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw fileError(err, target)
  }
}

/** Map filesystem errors to AppErrors that say what to change. */
export function fileError(err: unknown, target: string): AppError {
  if (err instanceof AppError) return err
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError('DISK_FULL', `No space left on the device writing ${target}.`, { cause: err })
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR')
    return new AppError('OUTPUT_NOT_WRITABLE', `Cannot write ${target} (${code}).`, { cause: err })
  return new AppError('UNEXPECTED_ERROR', `Writing ${target} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}

export function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256')
  for (const p of parts) {
    h.update(p)
    h.update('\0')
  }
  return h.digest('hex')
}
