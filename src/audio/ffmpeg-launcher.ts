/**
 * The one place that starts ffmpeg and ffprobe, for the CLI and the service alike. Three runners, one
 * contract (FfmpegRunner: the same results and errors, SIGKILL on abort, spawned/exited pids reported
 * on ffmpegProcesses); every one of them starts the binary with runBinary (ffmpeg-run.mjs) or, for the
 * CLI, from a shell, and every one reads the outcome with runResult:
 * - spawnRunner: spawns from this process (the default; `briefcast doctor`, tests);
 * - FfmpegSpawner: the service's, through a small helper process (ffmpeg-launcher-child.mjs) so the
 *   service process is never forked during renders;
 * - ShellRunner: one-shot commands (`briefcast render`), from a long-lived /bin/sh (see there why).
 * The two helpers are talked to over a Channel (src/util/channel.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AppError } from '../errors.ts'
import { Channel, ipcEndpoint, lineEndpoint, stopChild, type CloseCause } from '../util/channel.ts'
import { runBinary, STDERR_TAIL_BYTES, type RunOutcome } from './ffmpeg-run.mjs'

export interface RunOptions {
  signal?: AbortSignal
}

export interface RunResult {
  stdout: string
  /** The last STDERR_TAIL_BYTES of stderr (ffmpeg writes its report there). */
  stderr: string
}

/** Runs a binary with arguments; rejects with FFMPEG_FAILED (stderr tail attached) or ABORTED. */
export type FfmpegRunner = (binary: string, args: string[], options?: RunOptions) => Promise<RunResult>

/** Spawned/exited ffmpeg processes, so a supervisor (the CLI's janitor) can kill them if this process dies. */
export const ffmpegProcesses = new EventEmitter<{ spawn: [pid: number]; exit: [pid: number] }>()

export function stderrTail(stderr: string, lines = 8): string {
  const all = stderr.trimEnd().split('\n')
  // At loglevel info the error may be followed by stream listings: prefer the lines that say what failed.
  const errors = all.filter((l) => /error|invalid|no such|denied|space left|could not|cannot|unable|failed|not supported/i.test(l))
  return (errors.length > 0 ? errors : all).slice(-lines).join('\n')
}

const aborted = (signal: AbortSignal) => new AppError('ABORTED', 'The operation was cancelled.', { cause: signal.reason })

/** The result of a run, or the error every runner rejects with. */
export function runResult(binary: string, args: string[], outcome: RunOutcome, signal?: AbortSignal): RunResult {
  if ('error' in outcome) {
    const e = outcome.error
    throw e.code === 'ENOENT' || e.code === 'EACCES'
      ? new AppError('FFMPEG_NOT_FOUND', `Cannot run ${binary} (${e.code}).`)
      : new AppError('FFMPEG_FAILED', `Running ${path.basename(binary)} failed: ${e.message}`)
  }
  if (signal?.aborted) throw aborted(signal)
  if (outcome.code === 0) return { stdout: outcome.stdout, stderr: outcome.stderr }
  const tail = stderrTail(outcome.stderr)
  throw new AppError('FFMPEG_FAILED', `${path.basename(binary)} exited with ${outcome.code ?? outcome.signal}: ${tail || '(no output)'}`, {
    details: { exitCode: outcome.code, signal: outcome.signal, stderrTail: tail, stderr: outcome.stderr, args },
  })
}

/** The default runner: spawn from this process, collect stdout and the tail of stderr, SIGKILL on abort. */
export const spawnRunner: FfmpegRunner = async (binary, args, options = {}) => {
  const { signal } = options
  if (signal?.aborted) throw aborted(signal)
  let pid: number | undefined
  const run = runBinary(binary, args, { onSpawn: (p) => ffmpegProcesses.emit('spawn', (pid = p)) })
  const onAbort = () => run.kill()
  signal?.addEventListener('abort', onAbort, { once: true })
  const outcome = await run.done
  signal?.removeEventListener('abort', onAbort)
  if (pid !== undefined) ffmpegProcesses.emit('exit', pid)
  return runResult(binary, args, outcome, signal)
}

/** How a helper's stop reads in the error: "exit 1", "exit SIGKILL", or what failed. */
const stopped = (cause: CloseCause) => (cause.error ? cause.error.message : `exit ${cause.code ?? cause.signal}`)

type SpawnerReply = { id: number; pid: number } | ({ id: number } & RunOutcome)

/**
 * An FfmpegRunner that runs ffmpeg through a small helper process (see
 * ffmpeg-launcher-child.mjs for why): the same results and errors as
 * spawnRunner, without ever forking the service process during renders.
 * ffmpeg runs at a lower CPU priority.
 */
export class FfmpegSpawner {
  #child: ChildProcess | undefined
  #channel: Channel<object, SpawnerReply> | undefined
  #closed = false

  #ensure(): Channel<object, SpawnerReply> {
    if (this.#channel && !this.#channel.closed && this.#child?.connected) return this.#channel
    const entry = fileURLToPath(new URL('./ffmpeg-launcher-child.mjs', import.meta.url))
    const child = fork(entry, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], cwd: path.dirname(entry) })
    this.#child = child
    this.#channel = new Channel<object, SpawnerReply>(ipcEndpoint(child), {
      isFinal: (m) => !('pid' in m),
      cancel: (id) => ({ kill: id }),
      // ffmpeg is known to be dead when the helper answers; the answer then says ABORTED (runResult).
      abort: 'answer',
      closedError: (cause) => new AppError('FFMPEG_FAILED', `The ffmpeg spawner stopped (${stopped(cause)}).`),
    })
    return this.#channel
  }

  readonly runner: FfmpegRunner = async (binary, args, options = {}) => {
    const { signal } = options
    if (signal?.aborted) throw aborted(signal)
    if (this.#closed) throw new AppError('ABORTED', 'The service is shutting down.')
    let pid: number | undefined
    try {
      const outcome = await this.#ensure().request(
        { binary, args },
        { signal, onEvent: (m) => 'pid' in m && ffmpegProcesses.emit('spawn', (pid = m.pid)) },
      )
      return runResult(binary, args, outcome as RunOutcome, signal)
    } finally {
      if (pid !== undefined) ffmpegProcesses.emit('exit', pid)
    }
  }

  /** Stop the helper; it kills any ffmpeg still running. */
  async close(): Promise<void> {
    this.#closed = true
    const c = this.#child
    this.#child = undefined
    await stopChild(c, (child) => (child.connected ? child.disconnect() : child.kill()))
  }
}

/**
 * An FfmpegRunner for one-shot commands (`briefcast render`) that starts
 * ffmpeg from a long-lived /bin/sh instead of from node.
 *
 * Why: spawning forks the calling process, and until the child execs it is a
 * copy of the caller whose page tables map all of the caller's memory. Forking
 * the ~250 MB render process a few hundred times (two ffmpeg runs per piece)
 * made the measured peak RSS of the process tree grow with the input length
 * (one more ~100-150 MB "node" child caught mid-fork: 309 MB at 20 minutes,
 * 405 MB at 60). A fork of a ~2 MB shell is harmless, and the node process is
 * forked exactly once, here. The service's FfmpegSpawner (a node helper) exists
 * for the event loop's sake; for the CLI a shell is far smaller.
 *
 * Protocol: for job N we write `<dir>/N.sh` (`exec 'binary' 'arg'...`, single-
 * quoted, so no argument is ever interpreted by the shell) and send "N" on the
 * shell's stdin; it runs the job in the background with stdout/stderr to
 * `<dir>/N.out` / `<dir>/N.err` and answers "pid N <pid>" and "exit N <status>".
 */
const SCRIPT = `exec 3>&1 1>/dev/null
dir=$1
while IFS= read -r id; do
  (
    sh "$dir/$id.sh" </dev/null >"$dir/$id.out" 2>"$dir/$id.err" &
    p=$!
    echo "pid $id $p" >&3
    wait "$p"
    echo "exit $id $?" >&3
  ) &
done
wait
`

const quote = (s: unknown) => `'${String(s).replace(/'/g, `'\\''`)}'`

type ShellLine = { what: string; id: number; value: number }

export class ShellRunner {
  readonly #dir: string
  #child: ChildProcess | undefined
  #channel: Channel<number, ShellLine> | undefined
  /** ffmpeg processes running now (killed by close()). */
  readonly #pids = new Set<number>()
  #closed = false

  /** `dir`: an existing private directory (a per-run temp dir) for the job files. */
  constructor(dir: string) {
    this.#dir = dir
  }

  #ensure(): Channel<number, ShellLine> {
    const c = this.#child
    if (this.#channel && !this.#channel.closed && c && c.exitCode === null && c.signalCode === null) return this.#channel
    const child = spawn('/bin/sh', ['-c', SCRIPT, 'sh', this.#dir], { stdio: ['pipe', 'pipe', 'ignore'], windowsHide: true })
    this.#child = child
    const endpoint = lineEndpoint<number, ShellLine>(child, {
      encode: (id) => String(id),
      decode: (line) => {
        const [what, id, value] = line.split(' ')
        return { what: what!, id: Number(id), value: Number(value) }
      },
    })
    this.#channel = new Channel<number, ShellLine>(endpoint, {
      isFinal: (m) => m.what === 'exit',
      abort: 'answer',
      closedError: (cause) => new AppError('FFMPEG_FAILED', `The ffmpeg launcher shell stopped (${stopped(cause)}).`),
    })
    return this.#channel
  }

  /**
   * Start the shell now rather than with the first job: the fork then happens while this process is
   * still small and busy loading, not on the way to the first encode of a re-render.
   */
  start(): this {
    if (!this.#closed) this.#ensure()
    return this
  }

  readonly runner: FfmpegRunner = async (binary, args, options = {}) => {
    const { signal } = options
    if (signal?.aborted) throw aborted(signal)
    if (this.#closed) throw new AppError('ABORTED', 'The ffmpeg launcher is closed.')
    let pid: number | undefined
    let base: string | undefined
    const kill = () => pid !== undefined && killPid(pid)
    try {
      const exit = await this.#ensure().request(
        async (id) => {
          base = path.join(this.#dir, String(id))
          try {
            await fs.writeFile(`${base}.sh`, `exec ${[binary, ...args].map(quote).join(' ')}\n`)
          } catch (err) {
            throw new AppError('FFMPEG_FAILED', `Cannot start ${path.basename(binary)}: ${(err as Error).message}`, { cause: err })
          }
          return id
        },
        {
          signal,
          onAbort: kill,
          onEvent: (m) => {
            if (m.what !== 'pid') return
            this.#pids.add((pid = m.value))
            ffmpegProcesses.emit('spawn', pid)
            // Aborted between the request and the start: kill it now.
            if (signal?.aborted) kill()
          },
        },
      )
      pid = this.#release(pid)
      const status = exit.value
      const [stdout, err] = await Promise.all([fs.readFile(`${base}.out`, 'utf8').catch(() => ''), fs.readFile(`${base}.err`, 'utf8').catch(() => '')])
      const stderr = err.slice(-STDERR_TAIL_BYTES)
      // sh's own codes for "cannot execute" (126) and "not found" (127), as the spawn runner's ENOENT/EACCES.
      if ((status === 126 || status === 127) && !stdout && new RegExp(`${binary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(not found|No such file|Permission denied)`).test(err))
        return runResult(binary, args, { error: { code: status === 127 ? 'ENOENT' : 'EACCES', message: err } }, signal)
      const sig = status > 128 ? `signal ${status - 128}` : null
      return runResult(binary, args, { code: sig ? null : status, signal: sig, stdout, stderr }, signal)
    } catch (err) {
      // The shell died with the job running: the job goes with it (an aborted one has exited already).
      if (this.#channel?.closed) kill()
      throw err
    } finally {
      this.#release(pid)
      if (base) await Promise.all(['sh', 'out', 'err'].map((ext) => fs.rm(`${base}.${ext}`, { force: true })))
    }
  }

  /** Forget a finished job's pid (undefined: nothing left to kill). */
  #release(pid: number | undefined): undefined {
    if (pid !== undefined && this.#pids.delete(pid)) ffmpegProcesses.emit('exit', pid)
    return undefined
  }

  /** Stop the shell; kills any ffmpeg still running. */
  async close(): Promise<void> {
    this.#closed = true
    for (const pid of this.#pids) killPid(pid)
    const c = this.#child
    this.#child = undefined
    await stopChild(c, (child) => child.stdin!.end())
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {}
}
