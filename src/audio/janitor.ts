/**
 * A watchdog for one-shot commands. SIGKILL gives a process no chance to
 * clean up, so the CLI starts this small detached helper and tells it, over
 * a pipe, which temp paths and ffmpeg processes it owns. When the pipe closes
 * without "done" (the CLI died, however), the helper kills those processes and
 * removes those paths, then exits. A normal exit sends "done" first.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'

/**
 * POSIX sh (a few hundred kB of memory, against ~40 MB for a second node process). Lines:
 * "tmp <path>", "pid <n>", "unpid <n>", "sweep <dir>\t<prefix>", "done". Temp paths that were renamed
 * into place no longer exist, so removing them all on death is safe; pids are dropped on exit so a
 * recycled pid is never killed.
 */
const SH_HELPER = `
tmps=""; pids=" "; sweeps=""; done=0
nl='
'
while IFS= read -r line; do
  cmd=\${line%% *}; arg=\${line#* }
  case "$cmd" in
    tmp) tmps="$tmps$arg$nl" ;;
    pid) pids="$pids$arg " ;;
    unpid) pids=$(printf '%s' "$pids" | sed "s/ $arg / /") ;;
    sweep) sweeps="$sweeps$arg$nl" ;;
    done) done=1 ;;
  esac
done
[ "$done" = 1 ] && exit 0
for p in $pids; do kill -9 "$p" 2>/dev/null; done
sleep 0.05
printf '%s' "$tmps" | while IFS= read -r p; do [ -n "$p" ] && rm -rf -- "$p"; done
printf '%s' "$sweeps" | while IFS="$(printf '\t')" read -r d prefix; do
  [ -n "$d" ] && [ -n "$prefix" ] && for f in "$d/$prefix"*; do [ -e "$f" ] && rm -rf -- "$f"; done
done
exit 0
`

/** The same in JS for platforms without /bin/sh. */
const NODE_HELPER = `
const fs = require('fs'), path = require('path');
const tmps = new Set(), pids = new Set(), sweeps = [];
let buf = '', done = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d; let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const sp = line.indexOf(' '); const cmd = sp < 0 ? line : line.slice(0, sp); const arg = sp < 0 ? '' : line.slice(sp + 1);
    if (cmd === 'tmp') tmps.add(arg);
    else if (cmd === 'pid') pids.add(Number(arg)); else if (cmd === 'unpid') pids.delete(Number(arg));
    else if (cmd === 'sweep') sweeps.push(arg.split('\\t'));
    else if (cmd === 'done') done = true;
  }
});
process.stdin.on('close', () => {
  if (done) return process.exit(0);
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  setTimeout(() => {
    for (const p of tmps) { try { fs.rmSync(p, { recursive: true, force: true }) } catch {} }
    for (const [dir, prefix] of sweeps) {
      try { for (const n of fs.readdirSync(dir)) if (prefix && n.startsWith(prefix)) fs.rmSync(path.join(dir, n), { recursive: true, force: true }) } catch {}
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
    const useSh = process.platform !== 'win32' && existsSync('/bin/sh')
    child = useSh
      ? spawn('/bin/sh', ['-c', SH_HELPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
      : spawn(process.execPath, ['-e', NODE_HELPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
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
    // Paths with line breaks cannot travel over this line protocol; ours never have them.
    addTemp: (p) => !p.includes('\n') && send(`tmp ${p}`),
    removeTemp: () => {},
    addPid: (pid) => send(`pid ${pid}`),
    removePid: (pid) => send(`unpid ${pid}`),
    sweepOnDeath: (dir, prefix) => !dir.includes('\n') && !dir.includes('\t') && send(`sweep ${dir}\t${prefix}`),
    done: () => {
      send('done')
      child?.stdin?.end()
    },
  }
}
