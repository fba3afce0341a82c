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
import { spawn, type ChildProcess } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { AppError } from '../errors.ts'
import { ffmpegProcesses, stderrTail, type FfmpegRunner, type RunResult } from './ffmpeg.ts'

const STDERR_TAIL_BYTES = 8 * 1024

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

interface Pending {
  binary: string
  args: string[]
  signal?: AbortSignal
  pid?: number
  resolve(r: RunResult): void
  reject(e: unknown): void
  cleanup(): void
}

export class ShellRunner {
  readonly #dir: string
  #child: ChildProcess | undefined
  #next = 1
  #buffer = ''
  readonly #pending = new Map<number, Pending>()
  #closed = false

  /** `dir`: an existing private directory (a per-run temp dir) for the job files. */
  constructor(dir: string) {
    this.#dir = dir
  }

  #ensure(): ChildProcess {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) return this.#child
    const child = spawn('/bin/sh', ['-c', SCRIPT, 'sh', this.#dir], { stdio: ['pipe', 'pipe', 'ignore'], windowsHide: true })
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (d: string) => {
      this.#buffer += d
      let nl: number
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl)
        this.#buffer = this.#buffer.slice(nl + 1)
        this.#onLine(line)
      }
    })
    child.stdin!.on('error', () => {})
    const fail = (why: string) => {
      if (this.#child === child) this.#child = undefined
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id)
        p.cleanup()
        if (p.pid !== undefined) {
          try {
            process.kill(p.pid, 'SIGKILL')
          } catch {}
          ffmpegProcesses.emit('exit', p.pid)
        }
        p.reject(new AppError('FFMPEG_FAILED', `The ffmpeg launcher shell stopped (${why}).`))
      }
    }
    child.on('exit', (code, sig) => fail(`exit ${code ?? sig}`))
    child.on('error', (err) => fail(err.message))
    this.#child = child
    return child
  }

  /**
   * Start the shell now rather than with the first job: the fork then happens while this process is
   * still small and busy loading, not on the way to the first encode of a re-render.
   */
  start(): this {
    if (!this.#closed) {
      this.#ensure()
      this.#idle()
    }
    return this
  }

  /** Keep the process alive only while ffmpeg runs (a CLI exits when its work is done). */
  #idle(): void {
    const c = this.#child
    if (!c) return
    const streams = [c.stdin, c.stdout] as unknown as ({ ref?(): void; unref?(): void } | null)[]
    if (this.#pending.size === 0) {
      c.unref()
      for (const s of streams) s?.unref?.()
    } else {
      c.ref()
      for (const s of streams) s?.ref?.()
    }
  }

  #onLine(line: string): void {
    const [what, idText, value] = line.split(' ')
    const id = Number(idText)
    const p = this.#pending.get(id)
    if (!p) return
    if (what === 'pid') {
      p.pid = Number(value)
      ffmpegProcesses.emit('spawn', p.pid)
      // Aborted between the request and the start: kill it now.
      if (p.signal?.aborted) this.#kill(p)
      return
    }
    if (what !== 'exit') return
    this.#pending.delete(id)
    this.#idle()
    p.cleanup()
    if (p.pid !== undefined) ffmpegProcesses.emit('exit', p.pid)
    void this.#finish(id, p, Number(value))
  }

  async #finish(id: number, p: Pending, status: number): Promise<void> {
    const base = path.join(this.#dir, String(id))
    const [stdout, err] = await Promise.all([fs.readFile(`${base}.out`, 'utf8').catch(() => ''), fs.readFile(`${base}.err`, 'utf8').catch(() => '')])
    await Promise.all(['sh', 'out', 'err'].map((ext) => fs.rm(`${base}.${ext}`, { force: true })))
    const { binary, args, signal } = p
    const stderr = err.slice(-STDERR_TAIL_BYTES)
    if (signal?.aborted) return p.reject(new AppError('ABORTED', 'The operation was cancelled.', { cause: signal.reason }))
    if (status === 0) return p.resolve({ stdout, stderr })
    // sh's own codes for "cannot execute" (126) and "not found" (127), as the spawn runner's ENOENT/EACCES.
    if ((status === 126 || status === 127) && !stdout && new RegExp(`${binary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(not found|No such file|Permission denied)`).test(err))
      return p.reject(new AppError('FFMPEG_NOT_FOUND', `Cannot run ${binary} (${status === 127 ? 'ENOENT' : 'EACCES'}).`))
    const sig = status > 128 ? `signal ${status - 128}` : null
    const code = sig ? null : status
    const tail = stderrTail(stderr)
    p.reject(
      new AppError('FFMPEG_FAILED', `${path.basename(binary)} exited with ${code ?? sig}: ${tail || '(no output)'}`, {
        details: { exitCode: code, signal: sig, stderrTail: tail, stderr, args },
      }),
    )
  }

  #kill(p: Pending): void {
    if (p.pid === undefined) return
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {}
  }

  readonly runner: FfmpegRunner = (binary, args, options = {}) =>
    new Promise<RunResult>((resolve, reject) => {
      const { signal } = options
      if (signal?.aborted) return reject(new AppError('ABORTED', 'The operation was cancelled.', { cause: signal.reason }))
      if (this.#closed) return reject(new AppError('ABORTED', 'The ffmpeg launcher is closed.'))
      const id = this.#next++
      const pending: Pending = { binary, args, signal, resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) }
      const onAbort = () => this.#kill(pending)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.set(id, pending)
      fs.writeFile(path.join(this.#dir, `${id}.sh`), `exec ${[binary, ...args].map(quote).join(' ')}\n`).then(
        () => {
          if (!this.#pending.has(id)) return
          const child = this.#ensure()
          this.#idle()
          child.stdin!.write(`${id}\n`)
        },
        (err: unknown) => {
          this.#pending.delete(id)
          pending.cleanup()
          reject(new AppError('FFMPEG_FAILED', `Cannot start ${path.basename(binary)}: ${(err as Error).message}`, { cause: err }))
        },
      )
    })

  /** Stop the shell; kills any ffmpeg still running. */
  async close(): Promise<void> {
    this.#closed = true
    for (const p of this.#pending.values()) this.#kill(p)
    const c = this.#child
    this.#child = undefined
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r))
      c.ref()
      c.stdin!.end()
      const kill = setTimeout(() => c.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(kill)
    }
  }
}
