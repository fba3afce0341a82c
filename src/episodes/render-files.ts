/** File moves the render stages share: everything is written in the run dir, then renamed into the cache. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { RunDir } from '../audio/tempdir.ts'
import { fileError } from '../util/files.ts'

export async function renameInto(from: string, to: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(to), { recursive: true })
    await fs.rename(from, to)
  } catch (err) {
    throw fileError(err, to)
  }
}

let tmpCounter = 0
/** Writes `data` to a file of the run dir, then renames it to `target` (readers never see half a file). */
export async function writeInto(run: RunDir, target: string, data: string): Promise<void> {
  const tmp = run.file(`${path.basename(target)}.${++tmpCounter}.tmp`)
  try {
    await fs.writeFile(tmp, data)
  } catch (err) {
    throw fileError(err, target)
  }
  await renameInto(tmp, target)
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file)
    return true
  } catch {
    return false
  }
}
