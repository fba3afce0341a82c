/**
 * A watchdog for one-shot commands. SIGKILL gives a process no chance to
 * clean up, so the CLI starts this small detached helper and tells it, over
 * a pipe, which temp paths and ffmpeg processes it owns. When the pipe closes
 * without "done" (the CLI died, however), the helper kills those processes and
 * removes those paths, then exits. A normal exit sends "done" first.
 */
import { spawn, type ChildProcess } from 'node:child_process'

const HELPER = `
const fs = require('fs'), path = require('path');
const tmps = new Set(), pids = new Set(), sweeps = [];
let buf = '', done = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d; let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const sp = line.indexOf(' '); const cmd = sp < 0 ? line : line.slice(0, sp); const arg = sp < 0 ? '' : line.slice(sp + 1);
    if (cmd === 'tmp') tmps.add(arg); else if (cmd === 'untmp') tmps.delete(arg);
    else if (cmd === 'pid') pids.add(Number(arg)); else if (cmd === 'unpid') pids.delete(Number(arg));
    else if (cmd === 'sweep') sweeps.push(JSON.parse(arg));
    else if (cmd === 'done') done = true;
  }
});
process.stdin.on('close', () => {
  if (done) return process.exit(0);
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  // Give killed ffmpeg processes a moment to release their files before removing them.
  setTimeout(() => {
    for (const p of tmps) { try { fs.rmSync(p, { recursive: true, force: true }) } catch {} }
    for (const s of sweeps) {
      try { for (const n of fs.readdirSync(s.dir)) if (n.startsWith(s.prefix)) fs.rmSync(path.join(s.dir, n), { recursive: true, force: true }) } catch {}
    }
    process.exit(0);
  }, 50);
});
`

export interface Janitor {
  addTemp(p: string): void
  removeTemp(p: string): void
  addPid(pid: number): void
  removePid(pid: number): void
  /** Remove entries of `dir` whose names start with `prefix` if this process dies. */
  sweepOnDeath(dir: string, prefix: string): void
  /** Normal exit: the helper exits without touching anything. */
  done(): void
}

export function startJanitor(): Janitor {
  let child: ChildProcess | undefined
  try {
    child = spawn(process.execPath, ['-e', HELPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
    child.on('error', () => {})
    child.stdin!.on('error', () => {})
    child.unref()
    ;(child.stdin as unknown as { unref?: () => void }).unref?.()
  } catch {
    child = undefined
  }
  const send = (line: string) => {
    if (child?.stdin?.writable) child.stdin.write(line + '\n')
  }
  return {
    addTemp: (p) => send(`tmp ${p}`),
    removeTemp: (p) => send(`untmp ${p}`),
    addPid: (pid) => send(`pid ${pid}`),
    removePid: (pid) => send(`unpid ${pid}`),
    sweepOnDeath: (dir, prefix) => send(`sweep ${JSON.stringify({ dir, prefix })}`),
    done: () => {
      send('done')
      child?.stdin?.end()
    },
  }
}
