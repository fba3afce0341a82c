/**
 * An FfmpegRunner that runs ffmpeg through a small helper process (see
 * ffmpeg-spawner-child.mjs for why): the same results and errors as the
 * default spawnRunner in src/audio/ffmpeg.ts, without ever forking the
 * service process during renders. ffmpeg runs at a lower CPU priority.
 */
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ffmpegProcesses, stderrTail, type FfmpegRunner, type RunResult } from '../audio/ffmpeg.ts'
import { AppError } from '../errors.ts'

type Reply =
  | { id: number; pid: number }
  | { id: number; error: { code?: string; message: string } }
  | { id: number; code: number | null; signal: string | null; stdout: string; stderr: string }

interface Pending {
  binary: string
  args: string[]
  signal?: AbortSignal
  pid?: number
  resolve(r: RunResult): void
  reject(e: unknown): void
  cleanup(): void
}

export class FfmpegSpawner {
  #child: ChildProcess | undefined
  #next = 1
  readonly #pending = new Map<number, Pending>()
  #closed = false

  #ensure(): ChildProcess {
    if (this.#child && this.#child.connected) return this.#child
    const entry = fileURLToPath(new URL('./ffmpeg-spawner-child.mjs', import.meta.url))
    const child = fork(entry, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], cwd: path.dirname(entry) })
    child.on('message', (msg: Reply) => this.#onMessage(msg))
    const fail = (why: string) => {
      if (this.#child === child) this.#child = undefined
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id)
        p.cleanup()
        if (p.pid !== undefined) ffmpegProcesses.emit('exit', p.pid)
        p.reject(new AppError('FFMPEG_FAILED', `The ffmpeg spawner stopped (${why}).`))
      }
    }
    child.on('exit', (code, sig) => fail(`exit ${code ?? sig}`))
    child.on('error', (err) => fail(err.message))
    this.#child = child
    this.#idle()
    return child
  }

  /** Keep the process alive only while ffmpeg runs. */
  #idle(): void {
    const c = this.#child
    if (!c) return
    if (this.#pending.size === 0) {
      c.unref()
      ;(c.channel as { unref?: () => void } | undefined)?.unref?.()
    } else {
      c.ref()
      ;(c.channel as { ref?: () => void } | undefined)?.ref?.()
    }
  }

  #onMessage(msg: Reply): void {
    const p = this.#pending.get(msg.id)
    if (!p) return
    if ('pid' in msg) {
      p.pid = msg.pid
      ffmpegProcesses.emit('spawn', msg.pid)
      return
    }
    this.#pending.delete(msg.id)
    this.#idle()
    p.cleanup()
    if (p.pid !== undefined) ffmpegProcesses.emit('exit', p.pid)
    const { binary, args, signal } = p
    if ('error' in msg) {
      const e = msg.error
      p.reject(
        e.code === 'ENOENT' || e.code === 'EACCES'
          ? new AppError('FFMPEG_NOT_FOUND', `Cannot run ${binary} (${e.code}).`)
          : new AppError('FFMPEG_FAILED', `Running ${path.basename(binary)} failed: ${e.message}`),
      )
      return
    }
    if (signal?.aborted) return p.reject(new AppError('ABORTED', 'The operation was cancelled.', { cause: signal.reason }))
    if (msg.code === 0) return p.resolve({ stdout: msg.stdout, stderr: msg.stderr })
    const tail = stderrTail(msg.stderr)
    p.reject(
      new AppError('FFMPEG_FAILED', `${path.basename(binary)} exited with ${msg.code ?? msg.signal}: ${tail || '(no output)'}`, {
        details: { exitCode: msg.code, signal: msg.signal, stderrTail: tail, stderr: msg.stderr, args },
      }),
    )
  }

  readonly runner: FfmpegRunner = (binary, args, options = {}) =>
    new Promise<RunResult>((resolve, reject) => {
      const { signal } = options
      if (signal?.aborted) return reject(new AppError('ABORTED', 'The operation was cancelled.', { cause: signal.reason }))
      if (this.#closed) return reject(new AppError('ABORTED', 'The service is shutting down.'))
      const child = this.#ensure()
      const id = this.#next++
      const onAbort = () => {
        if (this.#child?.connected) this.#child.send({ kill: id })
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.set(id, { binary, args, signal, resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) })
      this.#idle()
      child.send({ id, binary, args })
    })

  /** Stop the helper; it kills any ffmpeg still running. */
  async close(): Promise<void> {
    this.#closed = true
    const c = this.#child
    this.#child = undefined
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r))
      // The idle child is unref'd: ref it, or a process with nothing else to do ends before its exit is seen.
      c.ref()
      if (c.connected) c.disconnect()
      else c.kill()
      const kill = setTimeout(() => c.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(kill)
    }
  }
}
