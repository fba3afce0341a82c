/**
 * util/cores.ts: thread pools are sized by the cores the process may use, which in a container is the
 * cgroup CPU quota, not the host's core count. The cgroup files are real files in a temp tree laid out
 * as the kernel lays out /proc/self/cgroup and /sys/fs/cgroup (v2 and v1).
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants, existsSync, promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableCores, cgroupCpuQuota } from '../../src/util/cores.ts'

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-cores-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

/** A fake /proc/self/cgroup and /sys/fs/cgroup with the given files (paths relative to the sysfs root). */
async function tree(name: string, procSelfCgroup: string, files: Record<string, string>) {
  const root = path.join(dir, name)
  const sysfsRoot = path.join(root, 'sys')
  await fs.mkdir(sysfsRoot, { recursive: true })
  for (const [rel, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(sysfsRoot, rel)), { recursive: true })
    await fs.writeFile(path.join(sysfsRoot, rel), text)
  }
  await fs.writeFile(path.join(root, 'cgroup'), procSelfCgroup)
  return { procSelfCgroup: path.join(root, 'cgroup'), sysfsRoot }
}

describe('cgroupCpuQuota', () => {
  it('reads cgroup v2 cpu.max: the tightest limit from the process cgroup up to the root', async () => {
    const t = await tree('v2', '0::/kubepods/pod1/ctr\n', {
      'cpu.max': 'max 100000\n',
      'kubepods/cpu.max': '400000 100000\n',
      'kubepods/pod1/cpu.max': '150000 100000\n',
      'kubepods/pod1/ctr/cpu.max': 'max 100000\n',
    })
    expect(cgroupCpuQuota(t)).toBe(1.5)
  })

  it('is undefined without a quota: "max" everywhere, no cpu controller files, or no cgroup at all', async () => {
    expect(cgroupCpuQuota(await tree('v2-max', '0::/a\n', { 'cpu.max': 'max 100000\n', 'a/cpu.max': 'max 100000\n' }))).toBeUndefined()
    expect(cgroupCpuQuota(await tree('v2-none', '0::/\n', {}))).toBeUndefined()
    expect(cgroupCpuQuota({ procSelfCgroup: path.join(dir, 'missing'), sysfsRoot: path.join(dir, 'missing-sys') })).toBeUndefined()
  })

  it('reads cgroup v1 cfs_quota_us / cfs_period_us of the cpu controller (-1: none)', async () => {
    const limited = await tree('v1', '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n', {
      'cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '200000\n',
      'cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    })
    expect(cgroupCpuQuota(limited)).toBe(2)
    const unlimited = await tree('v1-none', '4:cpu,cpuacct:/\n', { 'cpu,cpuacct/cpu.cfs_quota_us': '-1\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' })
    expect(cgroupCpuQuota(unlimited)).toBeUndefined()
  })
})

describe('availableCores', () => {
  it('is this machine\'s affinity count, capped by its own quota when there is one, at least 1', () => {
    const quota = cgroupCpuQuota()
    const affinity = os.availableParallelism()
    expect(availableCores()).toBe(quota === undefined ? affinity : Math.max(1, Math.min(affinity, Math.ceil(quota))))
  })
})

/**
 * A real cgroup (v1 cpu controller, as on this machine, or v2): a child process started inside one
 * limited to one CPU sizes its pools by one core. Needs a writable cgroup file system (root) and more
 * than one core to tell the difference; without either there is nothing to observe, and it says so.
 */
const V1 = '/sys/fs/cgroup/cpu'
const V2 = '/sys/fs/cgroup'
const canLimit = ((): string | undefined => {
  if (os.availableParallelism() < 2) return 'one core: a one-CPU quota changes nothing'
  const root = existsSync(path.join(V1, 'cpu.cfs_quota_us')) ? V1 : existsSync(path.join(V2, 'cgroup.controllers')) ? V2 : undefined
  if (!root) return 'no cgroup cpu controller here'
  try {
    accessSync(root, constants.W_OK)
    return undefined
  } catch {
    return 'no write access to the cgroup file system'
  }
})()
describe.skipIf(canLimit !== undefined)(`availableCores in a real cgroup${canLimit ? ` (skipped: ${canLimit})` : ''}`, () => {
  it('a process in a cgroup limited to one CPU sees one core', async () => {
    const v1 = existsSync(path.join(V1, 'cpu.cfs_quota_us'))
    const group = path.join(v1 ? V1 : V2, `briefcast-test-${process.pid}`)
    await fs.mkdir(group)
    try {
      if (v1) {
        await fs.writeFile(path.join(group, 'cpu.cfs_period_us'), '100000')
        await fs.writeFile(path.join(group, 'cpu.cfs_quota_us'), '100000')
      } else await fs.writeFile(path.join(group, 'cpu.max'), '100000 100000')
      const script = `import('${path.resolve('src/util/cores.ts')}').then((m) => console.log(m.availableCores(), require('node:os').availableParallelism()))`
      const out = execFileSync('/bin/sh', ['-c', 'echo $$ > "$1/cgroup.procs" && exec "$2" --import tsx -e "$3"', 'sh', group, process.execPath, script], { encoding: 'utf8' })
      const [cores, affinity] = out.trim().split(/\s+/).map(Number)
      expect(affinity).toBeGreaterThan(1)
      expect(cores).toBe(1)
    } finally {
      await fs.rmdir(group).catch(() => {})
    }
  })
})
