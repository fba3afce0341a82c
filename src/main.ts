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
import { accounts } from './admin/accounts.ts'
import { lexiconStore } from './admin/lexicons.ts'
import { generatePassword } from './admin/secrets.ts'
import { createFfmpeg } from './audio/ffmpeg.ts'
import { loadConfig, type Config, type LoadConfigOptions } from './config.ts'
import { FfmpegSpawner } from './episodes/ffmpeg-spawner.ts'
import { JobQueue } from './episodes/jobs.ts'
import { RenderProcess, serviceEngines } from './episodes/render-client.ts'
import { RenderCoordinator } from './episodes/render-coordinator.ts'
import { AppError, toAppError } from './errors.ts'
import { createRequestHandler } from './http/app.ts'
import { feedRuntime } from './http/routes/feed.ts'
import type { AppDeps } from './http/deps.ts'
import { publicUrls } from './http/urls.ts'
import { openStore } from './store/sqlite.ts'
import { createSpeechService } from './tts/index.ts'
import { lexiconNameFor } from './tts/lexicon.ts'

export interface StartOptions extends LoadConfigOptions {
  /** Defaults to a pino JSON logger at config.logLevel on stdout. */
  logger?: Logger
  /** Install SIGTERM/SIGINT handlers that shut down gracefully (default true). */
  handleSignals?: boolean
  /** Seconds running jobs get to finish on shutdown before they are checkpointed (default 10). */
  shutdownGraceMs?: number
  /** Where first-start secrets (a generated API key, the first admin's password) are shown once; default stdout. */
  print?: (text: string) => void
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
  const repo = accounts(deps.store.db)
  if (repo.countUsers() > 0) return
  const password = generatePassword()
  const user = await repo.addUser(deps.config.admin.initialUser, password, 'admin')
  deps.logger.info({ username: user.username }, 'created the first admin account')
  print(`\nCreated the dashboard's first admin (shown once; only a hash is stored):\n\n    user:     ${user.username}\n    password: ${password}\n\nSign in at ${deps.config.publicUrl}/admin. Reset it with \`briefcast users reset-password ${user.username}\`.\n\n`)
}

/** Build every adapter. Every start-up problem (ffmpeg, engines, database) is reported at once. */
export async function createDeps(config: Config, logger: Logger): Promise<AppDeps & { renderProcess: RenderProcess; close(graceMs?: number): Promise<void> }> {
  await fs.mkdir(config.dataDir, { recursive: true })
  await fs.mkdir(config.cacheDir, { recursive: true })
  // ffmpeg runs through a small spawner process: forking the service itself for every piece stalls its event loop.
  const spawner = new FfmpegSpawner()
  const [ffmpegR, speechR, storeR] = await Promise.allSettled([
    createFfmpeg(config, spawner.runner),
    // Profiles and espeak-ng's voice list only: synthesis runs in the render process (see serviceEngines).
    createSpeechService(config, { engines: serviceEngines(), warmUp: false }),
    (async () => openStore({ file: path.join(config.dataDir, 'briefcast.db') }))(),
  ])
  const problems = [ffmpegR, speechR, storeR].flatMap((r) => (r.status === 'rejected' ? [toAppError(r.reason)] : []))
  if (problems.length > 0) {
    if (speechR.status === 'fulfilled') await speechR.value.close().catch(() => {})
    if (storeR.status === 'fulfilled') storeR.value.close()
    await spawner.close()
    throw new AppError('CONFIG_INVALID', `Cannot start:\n  - ${problems.map((p) => `${p.code}: ${p.message}${p.help ? ` (${p.help})` : ''}`).join('\n  - ')}`, {
      details: { problems: problems.map((p) => p.toJSON()) },
    })
  }
  const ffmpeg = (ffmpegR as PromiseFulfilledResult<Awaited<ReturnType<typeof createFfmpeg>>>).value
  const speech = (speechR as PromiseFulfilledResult<Awaited<ReturnType<typeof createSpeechService>>>).value
  const store = (storeR as PromiseFulfilledResult<ReturnType<typeof openStore>>).value
  const jobs = new JobQueue({ store, logger: logger.child({ component: 'jobs' }), concurrency: config.jobs.concurrency, maxAttempts: config.jobs.maxAttempts, retryBaseMs: config.jobs.retryBaseMs })
  // Renders (articles, and briefings through renders.render) run in a child process at idle priority: synthesis and
  // encoding never compete with serving.
  const renderProcess = new RenderProcess(config)
  // Pronunciation: the database is the editable source, seeded from voices/lexicon/ (src/admin/lexicons.ts).
  const lexicons = lexiconStore(store.db)
  lexicons.seed(config.voicesDir)
  for (const name of lexicons.names()) speech.useLexicon(name, lexicons.get(name))
  renderProcess.lexiconSource = (profile) => {
    const name = lexiconNameFor(profile)
    return { name, lexicon: speech.lexiconFor(profile) }
  }
  const renders = new RenderCoordinator({ config, logger: logger.child({ component: 'render' }), store, speech, ffmpeg, jobs, render: renderProcess.render })
  const deps: AppDeps = {
    config,
    logger,
    store,
    speech,
    ffmpeg,
    jobs,
    renders,
    urls: publicUrls(config.publicUrl),
    readiness: async () => ({
      ffmpeg: { ok: true, detail: `${ffmpeg.paths.ffmpegPath} (${ffmpeg.version})` },
      speech: (() => {
        const n = speech.listProfiles().length
        return { ok: n > 0, detail: `${n} voice profile(s)` }
      })(),
      renderer: renderProcess.health(),
    }),
  }
  return {
    ...deps,
    renderProcess,
    async close(graceMs = 10_000) {
      await jobs.stop(graceMs)
      await renderProcess.close().catch((err) => logger.warn({ err }, 'closing the render process failed'))
      await spawner.close()
      await speech.close().catch((err) => logger.warn({ err }, 'closing speech engines failed'))
      store.close()
    },
  }
}

export async function startService(options: StartOptions = {}): Promise<Service> {
  let config = loadConfig(options)
  const print = options.print ?? ((s: string) => void process.stdout.write(s))
  const apiKey = await resolveApiKey(config, print)

  // Bind first: with port 0 (tests) the public URL is only known once listening.
  const server = http.createServer({ keepAliveTimeout: 65_000 })
  server.listen(config.port, config.host)
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject)).catch((err: NodeJS.ErrnoException) => {
    throw new AppError('CONFIG_INVALID', `Cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}.`, { help: 'Choose another PORT or stop the process using it.' })
  })
  const port = (server.address() as AddressInfo).port
  const publicUrlGiven = Boolean(options.overrides?.publicUrl ?? (options.env ?? process.env).BRIEFCAST_PUBLIC_URL) || config.publicUrl !== `http://localhost:${config.port}`
  config = loadConfig({ ...options, overrides: { ...options.overrides, apiKey, port, ...(publicUrlGiven ? {} : { publicUrl: `http://localhost:${port}` }) } })
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'briefcast' } })

  let deps: Awaited<ReturnType<typeof createDeps>>
  try {
    deps = await createDeps(config, logger)
  } catch (err) {
    server.close()
    throw err
  }
  try {
    await createFirstAdmin(deps, print)
  } catch (err) {
    server.close()
    await deps.close(0)
    throw err
  }
  const { handle } = createRequestHandler(deps)
  server.on('request', handle)
  deps.jobs.start()
  deps.renderProcess.start()
  logger.info({ url: config.publicUrl, port, dataDir: config.dataDir, cacheDir: config.cacheDir }, 'briefcast listening')

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: no new connections; finishing or checkpointing jobs')
      // The daily-briefing cron timer would otherwise keep the process alive and enqueue work into a closing queue.
      feedRuntime(deps).schedule?.stop()
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      await deps.close(options.shutdownGraceMs ?? 10_000)
      // Progressive streams of aborted renders end here; give in-flight downloads a moment, then cut what remains.
      const t = setTimeout(() => server.closeAllConnections(), 2000)
      await serverClosed
      clearTimeout(t)
      logger.info('stopped')
    })())

  if (options.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received')
      close().then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  }
  return { server, config, deps, url: config.publicUrl, close }
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
