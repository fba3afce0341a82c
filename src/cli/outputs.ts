import { promises as fs } from 'node:fs'
import type { Janitor } from '../audio/janitor.ts'
import { AppError } from '../errors.ts'
import { fileError, tempPathFor } from '../util/files.ts'

/**
 * Put a rendered episode's files (audio, transcript, chapters) at the user's
 * output paths: copy each from the cache to a temp name beside its target
 * first, and rename only once every copy succeeded, so an interrupted or
 * failed run never leaves a partial file at an output path. Temp names are
 * pushed to `temps` (the caller removes them in its finally) and told to the
 * janitor, which removes them if the process is killed.
 */
export async function publishOutputs(
  copies: readonly (readonly [from: string, to: string])[],
  { janitor, temps, signal }: { janitor: Janitor; temps: string[]; signal: AbortSignal },
): Promise<void> {
  const staged: [string, string][] = []
  for (const [from, to] of copies) {
    const tmp = tempPathFor(to)
    temps.push(tmp)
    janitor.addTemp(tmp)
    try {
      await fs.copyFile(from, tmp)
    } catch (err) {
      throw fileError(err, to)
    }
    if (signal.aborted) throw new AppError('ABORTED', 'The operation was cancelled.')
    staged.push([tmp, to])
  }
  for (const [tmp, to] of staged) {
    try {
      await fs.rename(tmp, to)
    } catch (err) {
      throw fileError(err, to)
    }
    janitor.removeTemp(tmp)
  }
}
