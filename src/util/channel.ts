/**
 * One channel for "send a request to a worker thread or child process and await its answer", used by
 * every such client: the speech engines' worker pool (src/tts/worker-pool.ts), the article converter
 * (src/ingest/scripter.ts), the loudness meter and the MP3 encoder threads (src/audio/loudness-meter.ts,
 * src/audio/mp3-encoder.ts), both ffmpeg launchers (src/audio/ffmpeg-launcher.ts) and the render
 * process client (src/episodes/render-client.ts).
 *
 * A Channel numbers requests (`id`), keeps them in one pending map, routes the other side's replies
 * by id (events such as progress to the request's onEvent, the final reply settles it), rejects
 * everything pending when the other side dies, and keeps the process alive only while a request is
 * pending (an idle worker or child never holds a CLI open). Abort, per request: the caller's promise
 * rejects with ABORTED, and the other side is told (`cancel`) when its protocol can be told.
 *
 * Endpoints adapt the three transports: workerEndpoint (worker_threads, with transfer lists),
 * ipcEndpoint (a child process's IPC channel) and lineEndpoint (a child's stdin/stdout, one message a
 * line).
 */
import type { ChildProcess } from 'node:child_process'
import type { Transferable, Worker } from 'node:worker_threads'
import { AppError, type ErrorCode } from '../errors.ts'
import { fileError } from './files.ts'

/** Why an endpoint closed: an error event, or the thread/process exit. */
export interface CloseCause {
  error?: Error
  code?: number | null
  signal?: NodeJS.Signals | null
  /** e.g. "exit code 1", "killed by SIGKILL", or the error's message. */
  description: string
}

/** A transport: sends messages, delivers the other side's, reports its end once. */
export interface Endpoint<Out = unknown, In = unknown> {
  send(message: Out, transfer?: readonly Transferable[]): void
  ref(): void
  unref(): void
  listen(onMessage: (message: In) => void, onClose: (cause: CloseCause) => void): void
}

type Refable = { ref?(): void; unref?(): void } | null | undefined
const exitDescription = (code: number | null, signal: NodeJS.Signals | null) => (code !== null ? `exit code ${code}` : `killed by ${signal}`)

/** A worker thread: postMessage (with transfer lists), 'message', 'error' and 'exit'. */
export function workerEndpoint<Out, In>(worker: Worker): Endpoint<Out, In> {
  return {
    send: (message, transfer) => worker.postMessage(message, transfer),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    listen(onMessage, onClose) {
      worker.on('message', onMessage)
      worker.on('error', (error) => onClose({ error, description: error.message }))
      worker.on('exit', (code) => onClose({ code, description: exitDescription(code, null) }))
    },
  }
}

/** A child process's IPC channel (fork, or spawn with an 'ipc' stdio entry). */
export function ipcEndpoint<Out, In>(child: ChildProcess): Endpoint<Out, In> {
  const channel = () => child.channel as Refable
  return {
    send(message) {
      // A child that is going away: its 'exit' rejects what is pending.
      if (child.connected) child.send(message as object)
    },
    ref() {
      child.ref()
      channel()?.ref?.()
    },
    unref() {
      child.unref()
      channel()?.unref?.()
    },
    listen(onMessage, onClose) {
      child.on('message', (m) => onMessage(m as In))
      child.on('exit', (code, signal) => onClose({ code, signal, description: exitDescription(code, signal) }))
      child.on('error', (error) => onClose({ error, description: error.message }))
    },
  }
}

/** A child's stdin/stdout, one message a line: `encode` writes a message as a line, `decode` reads one (undefined: not a message). */
export function lineEndpoint<Out, In>(child: ChildProcess, codec: { encode(message: Out): string; decode(line: string): In | undefined }): Endpoint<Out, In> {
  const streams = [child.stdin, child.stdout] as unknown as Refable[]
  return {
    send: (message) => void child.stdin!.write(`${codec.encode(message)}\n`),
    ref() {
      child.ref()
      for (const s of streams) s?.ref?.()
    },
    unref() {
      child.unref()
      for (const s of streams) s?.unref?.()
    },
    listen(onMessage, onClose) {
      let buffer = ''
      child.stdout!.setEncoding('utf8')
      child.stdout!.on('data', (d: string) => {
        buffer += d
        let nl: number
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const m = codec.decode(buffer.slice(0, nl))
          buffer = buffer.slice(nl + 1)
          if (m !== undefined) onMessage(m)
        }
      })
      child.stdin!.on('error', () => {}) // EPIPE after the child died: its 'exit' says so
      child.on('exit', (code, signal) => onClose({ code, signal, description: exitDescription(code, signal) }))
      child.on('error', (error) => onClose({ error, description: error.message }))
    },
  }
}

export interface ChannelOptions<In> {
  /** The id a message of the other side answers (undefined: not about a request, see onMessage). Default: `message.id`. */
  idOf?: (message: In) => number | undefined
  /** Whether a message with a request's id settles it (else it is an event for the request's onEvent). Default: every one does. */
  isFinal?: (message: In) => boolean
  /** Messages that belong to no pending request (a "ready" handshake, usage reports, late answers). */
  onMessage?: (message: In) => void
  /** Every final reply to a request sent, also to one whose caller has gone (aborted); called once the request has left the pending map. */
  onReply?: (message: In, id: number) => void
  /** The message that tells the other side to stop request `id` (none: the protocol cannot be told; see RequestOptions.onAbort). */
  cancel?: (id: number) => unknown
  /**
   * After an abort: 'now' (default), the caller's promise rejects with ABORTED at once; 'answer', it settles with the
   * other side's answer to the cancelled request, as any request does (the process or thread is then known to have
   * stopped, and the caller reads the abort from the answer: e.g. an ffmpeg run killed, a render's ABORTED error).
   * Either way the request counts as pending until the other side answers it, or dies.
   */
  abort?: 'now' | 'answer'
  /** The error that rejects every pending request when the other side dies (and every later request). */
  closedError: (cause: CloseCause) => Error
  /** The message of the ABORTED error an aborted request rejects with. Default: "The operation was cancelled." */
  abortMessage?: string
  /** Keep the process alive while nothing is pending, until keepAlive(false). Default false. */
  keepAlive?: boolean
}

export interface RequestOptions<In> {
  signal?: AbortSignal
  /** Transferred, not copied (worker threads). */
  transfer?: readonly Transferable[]
  /** Messages about this request before its final reply (progress, pieces, a pid). */
  onEvent?: (message: In) => void
  /** On abort, besides the channel's cancel message (e.g. kill a process whose pid an event gave); `id` is the request's. */
  onAbort?: (id: number) => void
}

interface Pending<In> {
  resolve(reply: In): void
  reject(err: unknown): void
  /** Aborted: the other side has been told (and with abort 'now' the caller has gone). */
  abandoned: boolean
  /** The message has gone out (a message made by a function may still be in the making). */
  sent: boolean
  options: RequestOptions<In>
  detach(): void
}

/**
 * Requests to one worker thread or child process over an Endpoint. A request is its message with an
 * `id` added (an object), or what a function of the id returns (e.g. a line, or a message that must
 * wait for something first); it resolves with the final reply, which the caller interprets.
 */
export class Channel<Out extends object | string | number = object, In = { id?: number }> {
  readonly #endpoint: Endpoint<Out, In>
  readonly #options: ChannelOptions<In>
  readonly #pending = new Map<number, Pending<In>>()
  #next = 1
  #closed: Error | undefined
  #keepAlive: boolean
  #stopping = false

  constructor(endpoint: Endpoint<Out, In>, options: ChannelOptions<In>) {
    this.#endpoint = endpoint
    this.#options = options
    this.#keepAlive = options.keepAlive ?? false
    endpoint.listen(
      (m) => this.#onMessage(m),
      (cause) => this.#onClose(cause),
    )
    this.#refresh()
  }

  /** Requests not yet answered by the other side (including aborted ones it has not acknowledged). */
  get pending(): number {
    return this.#pending.size
  }

  /** Whether the other side has died (or close() was called): every request now rejects. */
  get closed(): boolean {
    return this.#closed !== undefined
  }

  /** Hold the process open while nothing is pending (e.g. while the other side starts and a caller waits for it). */
  keepAlive(on: boolean): void {
    this.#keepAlive = on
    this.#refresh()
  }

  /**
   * The other side is being stopped (worker.terminate(), stopChild) and the caller awaits its exit: hold the
   * process open from now on, whatever keepAlive says. An answer or a handshake that the other side sent before it
   * stopped can still arrive after the stop began; settling it (or keepAlive(false)) would unref the endpoint that
   * the stop had ref'd, and a process with nothing else to do would end before the exit it awaits (exit code 13:
   * unsettled top-level await). Call it before the stop; the endpoint's handle goes with its thread or process.
   */
  stopping(): void {
    this.#stopping = true
    this.#refresh()
  }

  /** Send a message that is not a request (no id, no answer). */
  post(message: Out, transfer?: readonly Transferable[]): void {
    if (!this.#closed) this.#endpoint.send(message, transfer)
  }

  request(message: Out | ((id: number) => Out | Promise<Out>), options: RequestOptions<In> = {}): Promise<In> {
    const { signal } = options
    if (signal?.aborted) return Promise.reject(this.#aborted(signal))
    if (this.#closed) return Promise.reject(this.#closed)
    const id = this.#next++
    return new Promise<In>((resolve, reject) => {
      const onAbort = () => this.#abort(id, signal!)
      const entry: Pending<In> = { resolve, reject, abandoned: false, sent: false, options, detach: () => signal?.removeEventListener('abort', onAbort) }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.set(id, entry)
      this.#refresh()
      const send = (m: Out) => {
        // Aborted or closed while the message was being made: it never goes out.
        if (this.#pending.get(id) !== entry || entry.abandoned) return this.#drop(id)
        entry.sent = true
        this.#endpoint.send(m, options.transfer)
      }
      if (typeof message !== 'function') return send(typeof message === 'object' ? ({ ...message, id } as Out) : message)
      let made: Out | Promise<Out>
      try {
        made = message(id)
      } catch (err) {
        return this.#settle(id, (e) => e.reject(err))
      }
      if (!(made instanceof Promise)) return send(made)
      made.then(send, (err: unknown) => this.#settle(id, (e) => e.reject(err)))
    })
  }

  /** Reject everything pending with `error` and every later request (the caller then stops the thread or process). */
  close(error: Error): void {
    this.#onClose({ error, description: error.message }, error)
  }

  #abort(id: number, signal: AbortSignal): void {
    const entry = this.#pending.get(id)
    if (!entry || entry.abandoned) return
    entry.abandoned = true
    entry.options.onAbort?.(id)
    // Not sent yet: it never will be (see request), and there is nothing to cancel.
    const cancel = entry.sent ? this.#options.cancel?.(id) : undefined
    if (cancel !== undefined && !this.#closed) this.#endpoint.send(cancel as Out)
    // 'answer': settles when the other side answers (or dies).
    if (this.#options.abort === 'answer') return
    entry.reject(this.#aborted(signal))
    entry.resolve = () => {}
    entry.reject = () => {}
  }

  #aborted(signal: AbortSignal): AppError {
    return new AppError('ABORTED', this.#options.abortMessage ?? 'The operation was cancelled.', { cause: signal.reason })
  }

  #onMessage(m: In): void {
    const id = this.#options.idOf ? this.#options.idOf(m) : (m as { id?: unknown } | null)?.id
    const entry = typeof id === 'number' ? this.#pending.get(id) : undefined
    if (!entry) return this.#options.onMessage?.(m)
    if (this.#options.isFinal && !this.#options.isFinal(m)) {
      if (!entry.abandoned || this.#options.abort === 'answer') entry.options.onEvent?.(m)
      return
    }
    this.#settle(id as number, (e) => e.resolve(m))
    this.#options.onReply?.(m, id as number)
  }

  /** An aborted request that never went out: it waits for no answer (its caller has its ABORTED already, or gets it now). */
  #drop(id: number): void {
    this.#settle(id, (e) => e.reject(this.#aborted(e.options.signal!)))
  }

  #settle(id: number, how: (entry: Pending<In>) => void): void {
    const entry = this.#pending.get(id)
    if (!entry) return
    this.#pending.delete(id)
    entry.detach()
    this.#refresh()
    how(entry)
  }

  #onClose(cause: CloseCause, error?: Error): void {
    if (this.#closed) return
    this.#closed = error ?? this.#options.closedError(cause)
    const err = this.#closed
    for (const id of [...this.#pending.keys()]) this.#settle(id, (e) => e.reject(err))
  }

  #refresh(): void {
    if (this.#pending.size > 0 || this.#keepAlive || this.#stopping) this.#endpoint.ref()
    else this.#endpoint.unref()
  }
}

/**
 * Stop a child process: `end` asks it to go (disconnect its IPC channel, end its input), SIGKILL after
 * 5 s; resolves once it has exited. An idle child is unref'd: it is ref'd here, or a process with
 * nothing else to do would end (exit code 13: unsettled top-level await) before the exit is seen.
 */
export async function stopChild(c: ChildProcess | undefined, end: (c: ChildProcess) => void): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return
  const exited = new Promise((r) => c.once('exit', r))
  c.ref()
  end(c)
  const kill = setTimeout(() => c.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(kill)
}

/** The answer of the audio worker threads (loudness-worker.mjs, mp3-encoder-worker.mjs): a result, or an error to rethrow. */
export type ResultReply = { id: number; result?: unknown; error?: { code?: string; message: string; errno?: string; target?: string } }

/** The result of a ResultReply, or its error as an AppError (a file error mapped as every other write's, fileError). */
export function resultOf<T>(reply: ResultReply): T {
  const e = reply.error
  if (e?.code === 'FILE_ERROR') throw fileError(Object.assign(new Error(e.message), { code: e.errno }), e.target ?? '')
  if (e) throw new AppError((e.code as ErrorCode | undefined) ?? 'UNEXPECTED_ERROR', e.message)
  return reply.result as T
}
