/**
 * The cores this process may use, for sizing thread pools (espeak-ng workers, MP3 encoder threads):
 * os.availableParallelism() (the CPU affinity mask), lowered to the container's CPU quota when one is
 * set. Node 20 does not read cgroup quotas: in a container limited to 2 CPUs on a 64-core host,
 * availableParallelism() says 64, and a render would start 8 synthesis workers and 64 encoder
 * threads, each an isolate with its own memory, all throttled by the kernel to 2 CPUs' worth of time.
 *
 * cgroup v2: the smallest `cpu.max` ("<quota> <period>", or "max <period>") on the path from this
 * process's cgroup up to the root. cgroup v1: `cpu.cfs_quota_us` / `cpu.cfs_period_us` of its cpu
 * controller's cgroup (-1: none). A fractional quota rounds up (1.5 CPUs: 2 threads), at least 1.
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface CgroupFiles {
  /** /proc/self/cgroup */
  procSelfCgroup: string
  /** /sys/fs/cgroup */
  sysfsRoot: string
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

/** CPUs allowed by the cgroup quota (fractional), or undefined when there is none or it cannot be read. */
export function cgroupCpuQuota(files: CgroupFiles = { procSelfCgroup: '/proc/self/cgroup', sysfsRoot: '/sys/fs/cgroup' }): number | undefined {
  const lines = (read(files.procSelfCgroup) ?? '').split('\n').filter(Boolean)
  let quota: number | undefined
  const take = (q: number) => {
    if (Number.isFinite(q) && q > 0) quota = quota === undefined ? q : Math.min(quota, q)
  }
  // cgroup v2: "0::/path". Each level may limit; the tightest wins.
  const v2 = lines.find((l) => l.startsWith('0::'))
  if (v2) {
    let dir = path.posix.normalize(v2.slice(3) || '/')
    for (;;) {
      const max = read(path.join(files.sysfsRoot, dir, 'cpu.max'))?.trim().split(/\s+/)
      if (max && max[0] !== 'max' && max.length === 2) take(Number(max[0]) / Number(max[1]))
      if (dir === '/' || dir === '.') break
      dir = path.posix.dirname(dir)
    }
  }
  // cgroup v1: "N:cpu,cpuacct:/path" (the cpu controller, mounted alone or with cpuacct).
  const v1 = lines.map((l) => l.split(':')).find((p) => p.length >= 3 && p[1]!.split(',').includes('cpu'))
  if (v1) {
    const rel = path.posix.normalize(v1.slice(2).join(':') || '/')
    for (const mount of ['cpu,cpuacct', 'cpu', 'cpuacct,cpu']) {
      const q = Number(read(path.join(files.sysfsRoot, mount, rel, 'cpu.cfs_quota_us'))?.trim())
      const p = Number(read(path.join(files.sysfsRoot, mount, rel, 'cpu.cfs_period_us'))?.trim())
      if (Number.isFinite(q) && Number.isFinite(p) && p > 0) {
        if (q > 0) take(q / p)
        break
      }
    }
  }
  return quota
}

let cached: number | undefined

/** Cores to size thread pools by: the affinity mask, capped by the cgroup CPU quota (rounded up), at least 1. */
export function availableCores(): number {
  if (cached !== undefined) return cached
  const affinity = Math.max(1, os.availableParallelism())
  const quota = cgroupCpuQuota()
  cached = quota === undefined ? affinity : Math.max(1, Math.min(affinity, Math.ceil(quota - 1e-9)))
  return cached
}
