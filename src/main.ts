/**
 * Wiring only: config -> adapters -> createApp(deps) -> listen.
 * `npm start` runs this file; `briefcast serve` calls startService().
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pino, type Logger } from 'pino'
import { generatePassword } from './admin/secrets.ts'
import { applySettings } from './admin/settings.ts'
import { createFfmpeg } from './audio/ffmpeg.ts'
import { loadConfig, type Config, type LoadConfigOptions } from './config.ts'
import { ensureDefaultCover } from './feed/cover.ts'
import { FfmpegSpawner } from './audio/ffmpeg-launcher.ts'
import { JobQueue } from './episodes/jobs.ts'
import type { Queue } from './episodes/queue.ts'
import { checkFleetConfig, type NodeRole } from './fleet/config-check.ts'
import type { Fleet } from './fleet/redis.ts'
import { startReconciler } from './fleet/reconcile.ts'
import { RenderProcess, serviceEngines } from './episodes/render-client.ts'
import { RenderCoordinator } from './episodes/render-coordinator.ts'
import { AppError, toAppError } from './errors.ts'
import { createRequestHandler } from './http/app.ts'
import { limitConnectionsPerClient, serverOptions } from './http/limits.ts'
import { preparePlayerBundle } from './http/player/bundle.ts'
import { feedRuntime } from './http/routes/feed.ts'
import type { AppDeps } from './http/deps.ts'
import { publicUrlProblem, publicUrls } from './http/urls.ts'
import { blobStoreFor, checkStorageAtStartup, closeBlobStoreFor, storageHealth } from './storage/index.ts'
import { openStore, storeOptions, type Store } from './store/index.ts'
import { sourcesRuntime } from './sources/runtime.ts'
import { createSpeechService } from './tts/index.ts'
import type { EngineUsageRepository } from './tts/usage.ts'
import { lexiconNameFor } from './tts/lexicon.ts'

export interface StartOptions extends LoadConfigOptions {
  /** Defaults to a pino JSON logger at config.logLevel on stdout. */
  logger?: Logger
  /** Install SIGTERM/SIGINT handlers that shut down gracefully (default true). */
  handleSignals?: boolean
  /** Seconds running jobs get to finish on shutdown before they are checkpointed (default 10). */
  shutdownGraceMs?: number
  /** Called once the socket is bound, before the service is ready (requests meanwhile get 503 SERVICE_UNAVAILABLE). */
  onListening?: (url: string) => void
  /** Where first-start secrets (a generated API key, the first admin's password) are shown once; default stdout. */
  print?: (text: string) => void
  /** 'all' (default): serve and render; 'api': serve only, workers render (`briefcast serve --no-render`). */
  role?: Exclude<NodeRole, 'worker'>
}

export interface Service {
  server: http.Server
  config: Config
  deps: AppDeps
  /** Base URL the server is reachable at (config.publicUrl). */
  url: string
  close(): Promise<void>
}

/**
 * The API key: BRIEFCAST_API_KEY / config, else data/api-key; on a fresh
 * machine a key is generated, saved there (mode 0600) and printed once.
 */
export async function resolveApiKey(config: Config, print: (line: string) => void): Promise<string> {
  if (config.apiKey) return config.apiKey
  const file = path.join(config.dataDir, 'api-key')
  try {
    const key = (await fs.readFile(file, 'utf8')).trim()
    if (key.length >= 16) return key
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AppError('CONFIG_INVALID', `Cannot read the API key file ${file}: ${(err as Error).message}`)
  }
  const key = randomBytes(24).toString('base64url')
  await fs.mkdir(config.dataDir, { recursive: true })
  await fs.writeFile(file, key + '\n', { mode: 0o600 })
  await fs.chmod(file, 0o600)
  print(`\nGenerated an API key (shown once; saved in ${file}, mode 0600):\n\n    ${key}\n\nUse it as "Authorization: Bearer <key>" for /api. Set BRIEFCAST_API_KEY to choose your own.\n\n`)
  return key
}

/**
 * On a fresh database: an admin account (config.admin.initialUser) with a
 * generated password, printed once. Only its scrypt hash is stored; a lost
 * password is reset with `briefcast users reset-password <name>`.
 */
export async function createFirstAdmin(deps: Pick<AppDeps, 'config' | 'store' | 'logger'>, print: (line: string) => void): Promise<void> {
  const repo = deps.store.accounts
  if ((await repo.countUsers()) > 0) return
  const password = generatePassword()
  const user = await repo.addUser(deps.config.admin.initialUser, password, 'admin')
  deps.logger.info({ username: user.username }, 'created the first admin account')
  print(`\nCreated the dashboard's first admin (shown once; only a hash is stored):\n\n    user:     ${user.username}\n    password: ${password}\n\nSign in at ${deps.config.publicUrl}/admin. Reset it with \`briefcast users reset-password ${user.username}\`.\n\n`)
}

/**
 * The shape of this node's fleet for the start-up check (src/fleet/config-check.ts). The database and
 * storage branches of issue #14 fill in their kinds from their own settings.
 */
export function fleetShape(config: Config, role: NodeRole) {
  return { role, database: config.database.url ? ('postgres' as const) : ('sqlite' as const), storage: config.storage.url ? ('s3' as const) : ('local' as const) }
}

/** The job queue: BullMQ on Redis when redis.url is set, else the in-process queue on the store. */
async function createQueue(config: Config, logger: Logger, store: Store): Promise<{ jobs: Queue; fleet?: Fleet }> {
  const log = logger.child({ component: 'jobs' })
  const settings = { concurrency: config.jobs.concurrency, maxAttempts: config.jobs.maxAttempts, retryBaseMs: config.jobs.retryBaseMs }
  if (!config.redis.url) return { jobs: new JobQueue({ store, logger: log, ...settings }) }
  // Loaded only when used: a single node never loads BullMQ or ioredis.
  const { openFleet } = await import('./fleet/redis.ts')
  const { BullJobQueue } = await import('./fleet/bull-queue.ts')
  const fleet = openFleet(config.redis.url, config.redis.prefix, logger.child({ component: 'redis' }))
  return { jobs: new BullJobQueue({ fleet, logger: log, ...settings }), fleet }
}

export type ServiceDeps = AppDeps & { renderProcess: RenderProcess; fleet?: Fleet; role: NodeRole; close(graceMs?: number): Promise<void> }

/** Build every adapter. Every start-up problem (ffmpeg, engines, database) is reported at once. */
export async function createDeps(config: Config, logger: Logger, role: NodeRole = 'all'): Promise<ServiceDeps> {
  checkFleetConfig(config, fleetShape(config, role))
  await fs.mkdir(config.dataDir, { recursive: true })
  await fs.mkdir(config.cacheDir, { recursive: true })
  // ffmpeg runs through a small spawner process: forking the service itself for every piece stalls its event loop.
  const spawner = new FfmpegSpawner()
  // Cloud characters billed in this process (voice samples) and in the render process, recorded once the store is open.
  const usage: { repo?: EngineUsageRepository } = {}
  const onUsage = (u: { engine: string; characters: number }) => {
    usage.repo?.add(u.engine, u.characters).catch((err: unknown) => logger.warn({ err, engine: u.engine }, 'recording engine usage failed'))
  }
  // Object storage (BRIEFCAST_STORAGE_URL): a wrong bucket, endpoint or credentials stop the start-up here.
  const blobs = blobStoreFor(config)
  const [ffmpegR, speechR, storeR, blobsR] = await Promise.allSettled([
    createFfmpeg(config, spawner.runner),
    // Profiles and espeak-ng's voice list only: synthesis runs in the render process (see serviceEngines).
    createSpeechService(config, { engines: serviceEngines(), warmUp: false, onUsage }),
    openStore(storeOptions(config)),
    checkStorageAtStartup(blobs, config.storage.connectTimeoutMs * 2),
  ])
  const problems = [ffmpegR, speechR, storeR, blobsR].flatMap((r) => (r.status === 'rejected' ? [toAppError(r.reason)] : []))
  if (problems.length > 0) {
    if (speechR.status === 'fulfilled') await speechR.value.close().catch(() => {})
    if (storeR.status === 'fulfilled') await storeR.value.close()
    await spawner.close()
    await closeBlobStoreFor(config)
    throw new AppError('CONFIG_INVALID', `Cannot start:\n  - ${problems.map((p) => `${p.code}: ${p.message}${p.help ? ` (${p.help})` : ''}`).join('\n  - ')}`, {
      details: { problems: problems.map((p) => p.toJSON()) },
    })
  }
  const ffmpeg = (ffmpegR as PromiseFulfilledResult<Awaited<ReturnType<typeof createFfmpeg>>>).value
  const speech = (speechR as PromiseFulfilledResult<Awaited<ReturnType<typeof createSpeechService>>>).value
  const store = (storeR as PromiseFulfilledResult<Awaited<ReturnType<typeof openStore>>>).value
  usage.repo = store.usage
  logger.info({ database: store.dialect, location: store.location }, 'store open')
  const { jobs, fleet } = await createQueue(config, logger, store)
  const streams = fleet ? new (await import('./fleet/render-stream.ts')).RenderStreams(fleet, logger.child({ component: 'render-stream' })) : undefined
  const stopFileEvents = fleet ? (await import('./fleet/file-events.ts')).shareForgottenFiles(fleet, config.cacheDir, logger.child({ component: 'file-events' })) : undefined
  // Renders (articles, and briefings through renders.render) run in a child process at idle priority: synthesis and
  // encoding never compete with serving.
  const renderProcess = new RenderProcess(config, { onUsage })
  // Pronunciation: the database is the editable source, seeded from voices/lexicon/ (src/admin/lexicons.ts).
  const lexicons = store.lexicons
  await lexicons.seed(config.voicesDir)
  for (const name of await lexicons.names()) speech.useLexicon(name, await lexicons.get(name))
  renderProcess.lexiconSource = (profile) => {
    const name = lexiconNameFor(profile)
    return { name, lexicon: speech.lexiconFor(profile) }
  }
  // The configuration in effect, read per render: run-time settings (src/admin/settings.ts) replace deps.config.
  const live: { deps?: { config: Config } } = {}
  const renders = new RenderCoordinator({
    get config() {
      return live.deps?.config ?? config
    },
    logger: logger.child({ component: 'render' }),
    store,
    speech,
    ffmpeg,
    jobs,
    streams,
    render: renderProcess.render,
  })
  const deps: AppDeps = {
    config,
    logger,
    store,
    speech,
    ffmpeg,
    jobs,
    renders,
    urls: publicUrls(config.publicUrl),
    ...(fleet ? { lock: (name: string, ttlMs: number) => fleet.lock(name, ttlMs) } : {}),
    readiness: async () => ({
      ffmpeg: { ok: true, detail: `${ffmpeg.paths.ffmpegPath} (${ffmpeg.version})` },
      speech: (() => {
        const n = speech.listProfiles().length
        return { ok: n > 0, detail: `${n} voice profile(s)` }
      })(),
      renderer: role === 'api' ? { ok: true, detail: 'renders run on workers (--no-render)' } : renderProcess.health(),
      storage: await storageHealth(blobs),
      ...(fleet ? { redis: await fleet.health() } : {}),
    }),
  }
  const out = {
    ...deps,
    renderProcess,
    fleet,
    role,
    async close(graceMs = 10_000) {
      await jobs.stop(graceMs)
      await stopFileEvents?.()
      streams?.close()
      await fleet?.close()
      await renderProcess.close().catch((err) => logger.warn({ err }, 'closing the render process failed'))
      await spawner.close()
      await speech.close().catch((err) => logger.warn({ err }, 'closing speech engines failed'))
      await closeBlobStoreFor(config)
      await store.close()
    },
  }
  live.deps = out
  // Run-time settings stored from the dashboard apply from the start, on workers too (src/admin/settings.ts).
  await applySettings(out)
  return out
}

export async function startService(options: StartOptions = {}): Promise<Service> {
  let config = loadConfig(options)
  const print = options.print ?? ((s: string) => void process.stdout.write(s))
  const apiKey = await resolveApiKey(config, print)

  // Bind first: with port 0 (tests) the public URL is only known once listening. Until the adapters are
  // ready every request is answered at once with 503 and Retry-After: accepted and unanswered would hang
  // load balancers and podcast apps that call during a deploy.
  let handler: http.RequestListener = startingUp
  const server = http.createServer(serverOptions(config), (req, res) => handler(req, res))
  server.maxConnections = config.server.maxConnections
  let isTrustedProxy: (address: string) => boolean = () => false
  limitConnectionsPerClient(server, config.server.maxConnectionsPerClient, (address) => isTrustedProxy(address))
  server.listen(config.port, config.host)
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject)).catch((err: NodeJS.ErrnoException) => {
    throw new AppError('CONFIG_INVALID', `Cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}.`, { help: 'Choose another PORT or stop the process using it.' })
  })
  const port = (server.address() as AddressInfo).port
  options.onListening?.(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`)
  const publicUrlGiven = Boolean(options.overrides?.publicUrl ?? (options.env ?? process.env).BRIEFCAST_PUBLIC_URL) || config.publicUrl !== `http://localhost:${config.port}`
  config = loadConfig({ ...options, overrides: { ...options.overrides, apiKey, port, ...(publicUrlGiven ? {} : { publicUrl: `http://localhost:${port}` }) } })
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'briefcast' } })

  const role = options.role ?? 'all'
  let deps: ServiceDeps
  try {
    deps = await createDeps(config, logger, role)
  } catch (err) {
    server.close()
    throw err
  }
  // Before the app is built (playerRouter takes the cached bundle): see preparePlayerBundle.
  await preparePlayerBundle({ onWarning: (m) => logger.warn(m) })
  if (!config.show.imageUrl) {
    // Podcast apps refuse a feed without artwork: a generated cover with the show's title until one is uploaded.
    await ensureDefaultCover(config.show.title, { store: deps.store, ffmpeg: deps.ffmpeg, cacheDir: config.cacheDir, blobs: blobStoreFor(config) }).catch((err: unknown) =>
      logger.warn({ err }, 'cannot make the default cover art; upload one with POST /api/assets (kind=cover)'),
    )
  }
  try {
    await createFirstAdmin(deps, print)
  } catch (err) {
    server.close()
    await deps.close(0)
    throw err
  }
  const { app, handle } = createRequestHandler(deps)
  const trust = app.get('trust proxy fn') as (address: string, hop: number) => boolean
  isTrustedProxy = (address) => trust(address, 0)
  handler = handle
  const stopReconciler = startRendering(deps)
  await sourcesRuntime(deps).start()
  logger.info({ url: config.publicUrl, port, dataDir: config.dataDir, cacheDir: config.cacheDir, storage: blobStoreFor(config).location, role, queue: deps.jobs.backend }, 'briefcast listening')
  const unreachable = publicUrlProblem(config.publicUrl)
  if (unreachable) logger.warn({ publicUrl: config.publicUrl, publicUrlSet: publicUrlGiven }, unreachable)

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: no new connections; finishing or checkpointing jobs')
      // The daily-briefing cron timer would otherwise keep the process alive and enqueue work into a closing queue.
      feedRuntime(deps).schedule?.stop()
      await sourcesRuntime(deps).stop()
      stopReconciler()
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      await deps.close(options.shutdownGraceMs ?? 10_000)
      // Progressive streams of aborted renders end here; give in-flight downloads a moment, then cut what remains.
      const t = setTimeout(() => server.closeAllConnections(), 2000)
      await serverClosed
      clearTimeout(t)
      logger.info('stopped')
    })())

  if (options.handleSignals !== false) exitOnSignals(close, logger)
  return { server, config, deps, url: config.publicUrl, close }
}

/**
 * Take jobs on a node that renders (the service by default, `briefcast worker`); with Redis, also enqueue
 * again what an outage may have lost. Returns the function that stops the reconciler.
 */
export function startRendering(deps: ServiceDeps): () => void {
  if (deps.role === 'api') return () => {}
  deps.jobs.start()
  deps.renderProcess.start()
  return deps.fleet ? startReconciler(deps, deps.logger.child({ component: 'reconcile' })) : () => {}
}

/** The answer to every request that arrives before the service is ready. */
function startingUp(req: http.IncomingMessage, res: http.ServerResponse): void {
  const e = new AppError('SERVICE_UNAVAILABLE', 'The service is starting; retry in a moment.')
  const body = JSON.stringify({ error: e.toJSON() })
  res.writeHead(503, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Retry-After': '2',
    'Cache-Control': 'no-store',
    // The request body (if any) is not read: close rather than drain it.
    ...(req.headers['content-length'] || req.headers['transfer-encoding'] ? { Connection: 'close' } : {}),
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

export interface WorkerOptions extends LoadConfigOptions {
  logger?: Logger
  handleSignals?: boolean
  /** Time the current render gets on SIGTERM before it is handed back to the queue (default 10 s). */
  shutdownGraceMs?: number
  /** Serve /healthz and /readyz on this port (0: any free port); none when undefined. */
  healthPort?: number
}

export interface WorkerProcess {
  config: Config
  deps: ServiceDeps
  /** Base URL of /healthz and /readyz, when healthPort was given. */
  healthUrl?: string
  close(): Promise<void>
}

/**
 * `briefcast worker`: a process that only renders, taking jobs from the Redis queue. Its store and files
 * are the fleet's (shared database and storage, or this machine's with fleet.singleMachine).
 */
export async function startWorker(options: WorkerOptions = {}): Promise<WorkerProcess> {
  const config = loadConfig(options)
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'briefcast-worker' } })
  const deps = await createDeps(config, logger, 'worker')
  // Briefings render on workers too: the service registers its job handler (the daily schedule runs on API nodes).
  const { BriefingService } = await import('./feed/briefings.ts')
  new BriefingService(deps)
  let health: http.Server | undefined
  let healthUrl: string | undefined
  if (options.healthPort !== undefined) {
    const express = (await import('express')).default
    const { healthRouter } = await import('./http/routes/health.ts')
    const app = express()
    app.disable('x-powered-by')
    app.use(healthRouter(deps))
    app.use((_req, res) => res.status(404).json({ error: { code: 'NOT_FOUND', message: 'A worker serves only /healthz and /readyz.' } }))
    health = http.createServer(serverOptions(config), app)
    health.listen(options.healthPort, config.host)
    try {
      await new Promise<void>((resolve, reject) => health!.once('listening', resolve).once('error', reject))
    } catch (err) {
      await deps.close(0)
      throw new AppError('CONFIG_INVALID', `Cannot listen on ${config.host}:${options.healthPort} for health checks: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
        help: 'Choose another --health-port or stop the process using it.',
      })
    }
    const port = (health.address() as AddressInfo).port
    healthUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  }
  // Jobs are taken once the render process has its engine up (/readyz answers meanwhile, renderer 'starting'):
  // a job claimed during the start-up would wait for it while a ready worker idles.
  const startedAt = Date.now()
  await deps.renderProcess.whenReady().catch((err: unknown) => logger.warn({ err: toAppError(err).message }, 'the render process did not start; taking jobs anyway (they fail and are retried)'))
  const stopReconciler = startRendering(deps)
  logger.info({ healthUrl, concurrency: config.jobs.concurrency, pid: process.pid, renderStartMs: Date.now() - startedAt }, 'briefcast worker ready')

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      logger.info('worker stopping: no new jobs; finishing or handing back the current ones')
      stopReconciler()
      const closed = health ? new Promise<void>((resolve) => health!.close(() => resolve())) : Promise.resolve()
      health?.closeAllConnections()
      await deps.close(options.shutdownGraceMs ?? 10_000)
      await closed
      logger.info('stopped')
    })())
  if (options.handleSignals !== false) exitOnSignals(close, logger)
  return { config, deps, healthUrl, close }
}

/** Entry point of `npm start`: print configuration problems clearly and exit 1. */
export async function runFromCommandLine(options: StartOptions = {}): Promise<void> {
  try {
    await startService(options)
  } catch (err) {
    const e = toAppError(err)
    process.stderr.write(`briefcast: ${e.code}: ${e.message}\n${e.help ? `hint: ${e.help}\n` : ''}`)
    if (e.code === 'UNEXPECTED_ERROR' && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n')
    process.exit(1)
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/src/main.ts')) {
  await runFromCommandLine()
}

/** SIGTERM or SIGINT: close (finish or hand back the current work), then exit 0, or 1 when closing failed. */
function exitOnSignals(close: () => Promise<void>, logger: Logger): void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'signal received')
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
}
