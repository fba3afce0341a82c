/**
 * Per-run temp directories under <cacheDir>/tmp/<pid>-<random>/. Everything a
 * render writes before its final rename lives there (same filesystem as the
 * cache, so renames are atomic), the run removes it on success, failure and
 * abort, and the next start sweeps directories whose process is gone (SIGKILL).
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileError } from '../util/files.ts'

export function tempRoot(cacheDir: string): string {
  return path.join(cacheDir, 'tmp')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const swept = new Set<string>()

/** Removes run directories left by processes that no longer exist. Cheap; done once per cache dir per process. */
export async function sweepStaleRunDirs(cacheDir: string, force = false): Promise<string[]> {
  const root = tempRoot(cacheDir)
  if (swept.has(root) && !force) return []
  swept.add(root)
  let entries: string[]
  try {
    entries = await fs.readdir(root)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of entries) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1])
    if (!pid || pid === process.pid || alive(pid)) continue
    await fs.rm(path.join(root, name), { recursive: true, force: true }).catch(() => {})
    removed.push(name)
  }
  return removed
}

export interface RunDir {
  path: string
  file(name: string): string
  remove(): Promise<void>
}

export async function createRunDir(cacheDir: string): Promise<RunDir> {
  await sweepStaleRunDirs(cacheDir)
  const dir = path.join(tempRoot(cacheDir), `${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await fs.mkdir(dir, { recursive: true })
  } catch (err) {
    throw fileError(err, dir)
  }
  return {
    path: dir,
    file: (name) => path.join(dir, name),
    remove: () => fs.rm(dir, { recursive: true, force: true }).catch(() => {}),
  }
}
