/**
 * `briefcast doctor`: checks, in one screen, what the service needs and what it
 * will do, and names the fix for each problem. Exit 0 when every check passes
 * (warnings allowed unless --strict), 1 otherwise; --json for monitoring.
 *
 * Each area is one function returning its checks. An engine contributes its
 * own check through its registry entry (src/tts/registry.ts `check`). The
 * fleet settings of issue #14 (database, Redis, bucket) are checked in
 * `fleetChecks`.
 */
import { constants as fsConstants, promises as fs } from 'node:fs'
import path from 'node:path'
import { locateFfmpeg, parseFfmpegVersion, spawnRunner } from '../audio/ffmpeg.ts'
import { loadConfig, type Config } from '../config.ts'
import { toAppError } from '../errors.ts'
import { loadLexicon } from '../script/lexicon.ts'
import { inspectDatabase } from '../store/inspect.ts'
import { createBlobStore } from '../storage/index.ts'
import { lexiconFileExists, lexiconNameFor } from '../tts/lexicon.ts'
import { ENGINES, type EngineCheck, type EngineEntry } from '../tts/registry.ts'
import { readProfiles } from '../tts/voices.ts'
import { flag, str, type ParsedArgs } from './spec.ts'

export type Status = 'ok' | 'warn' | 'fail'

export interface Check {
  area: string
  name: string
  status: Status
  detail: string
  /** What to do about it (warn/fail). */
  fix?: string
}

const LOW_SPACE_WARN = 1024 ** 3
const LOW_SPACE_FAIL = 100 * 1024 ** 2

function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`
}

export async function ffmpegChecks(env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const area = 'ffmpeg'
  let paths
  try {
    paths = locateFfmpeg(env)
  } catch (err) {
    const e = toAppError(err)
    return [{ area, name: 'ffmpeg and ffprobe', status: 'fail', detail: e.message, fix: e.help }]
  }
  const checks: Check[] = []
  const source = paths.source === 'env' ? 'FFMPEG_PATH/FFPROBE_PATH' : paths.source === 'path' ? 'PATH' : 'the npm package'
  for (const [name, binary] of [
    ['ffmpeg', paths.ffmpegPath],
    ['ffprobe', paths.ffprobePath],
  ] as const) {
    try {
      const { label, ok } = parseFfmpegVersion((await spawnRunner(binary, ['-hide_banner', '-version'])).stdout)
      if (!ok) {
        checks.push({ area, name, status: 'fail', detail: `${binary} (from ${source}) is version ${label}, older than 4.1`, fix: 'Install ffmpeg 4.1 or newer, or set FFMPEG_PATH/FFPROBE_PATH.' })
        continue
      }
      let detail = `${binary} (from ${source}), version ${label}`
      if (name === 'ffmpeg') {
        const encoders = (await spawnRunner(binary, ['-hide_banner', '-encoders'])).stdout
        if (!/\blibmp3lame\b/.test(encoders)) {
          checks.push({ area, name, status: 'fail', detail: `${detail}, built without libmp3lame`, fix: 'Use an ffmpeg build with libmp3lame, or set FFMPEG_PATH to one.' })
          continue
        }
        detail += ', MP3 encoder libmp3lame'
      }
      checks.push({ area, name, status: 'ok', detail })
    } catch (err) {
      checks.push({ area, name, status: 'fail', detail: `${binary} cannot be run: ${(err as Error).message}`, fix: 'Reinstall it, or set FFMPEG_PATH/FFPROBE_PATH to a working binary.' })
    }
  }
  return checks
}

export async function voiceChecks(config: Config): Promise<Check[]> {
  const area = 'voices'
  const checks: Check[] = []
  const { profiles, problems } = await readProfiles(config.voicesDir)
  for (const p of problems) checks.push({ area, name: 'profile', status: 'fail', detail: p, fix: 'Fix or remove that file (docs/engines.md describes the profile format).' })
  if (profiles.size === 0 && problems.length === 0)
    checks.push({ area, name: 'profiles', status: 'fail', detail: `no voice profiles in ${config.voicesDir}`, fix: 'Point BRIEFCAST_VOICES_DIR at a directory of profiles, or remove the setting to use the shipped ones.' })
  else checks.push({ area, name: 'profiles', status: problems.length ? 'fail' : 'ok', detail: `${profiles.size} valid in ${config.voicesDir}${problems.length ? `, ${problems.length} problem(s)` : ''}` })
  if (profiles.size > 0 && !profiles.has(config.defaultVoice))
    checks.push({
      area,
      name: 'default voice',
      status: 'fail',
      detail: `BRIEFCAST_DEFAULT_VOICE is "${config.defaultVoice}", which is not a profile in ${config.voicesDir}`,
      fix: `Set BRIEFCAST_DEFAULT_VOICE to one of: ${[...profiles.keys()].join(', ')}.`,
    })

  // Each engine a profile uses, asked once.
  const byEngine = new Map<string, string[]>()
  for (const p of profiles.values()) byEngine.set(p.engine, [...(byEngine.get(p.engine) ?? []), p.id])
  for (const [engine, ids] of byEngine) {
    const entry = (ENGINES as Record<string, EngineEntry>)[engine]
    let result: EngineCheck
    if (!entry) result = { ok: false, detail: 'unknown engine', fix: `Use one of: ${Object.keys(ENGINES).join(', ')}.` }
    else if (!entry.check) {
      // A cloud engine without a check of its own: are its credentials or endpoint configured?
      const configured = entry.configured?.(config) ?? true
      result = configured === true ? { ok: true, detail: 'configured' } : { ok: false, detail: 'not configured', fix: configured.replace(/^not configured \((.*)\)$/, '$1') }
    } else {
      try {
        result = await entry.check(config)
      } catch (err) {
        const e = toAppError(err)
        result = { ok: false, detail: `${e.code}: ${e.message}`, fix: e.help }
      }
    }
    // A profile nobody will use unless asked (a Google voice without credentials on a fresh install) is a
    // warning; the default voice's engine failing is a failure: every article would fail.
    const essential = ids.includes(config.defaultVoice)
    checks.push({
      area,
      name: `engine ${engine}`,
      status: result.ok ? 'ok' : essential ? 'fail' : 'warn',
      detail: `${result.detail}; used by ${ids.join(', ')}${result.ok ? '' : ` (these profiles cannot be used)`}`,
      ...(result.ok ? {} : { fix: result.fix }),
    })
  }

  // Lexicons: every file in <voices>/lexicon/ parses, and every lexicon a profile names exists.
  const lexiconDir = path.join(config.voicesDir, 'lexicon')
  const files = await fs.readdir(lexiconDir).catch(() => [] as string[])
  let entries = 0
  let lexiconProblems = 0
  for (const file of files.filter((f) => f.endsWith('.json'))) {
    try {
      entries += loadLexicon(config.voicesDir, file.slice(0, -5)).entries.length
    } catch (err) {
      lexiconProblems++
      checks.push({ area, name: 'lexicon', status: 'fail', detail: `${path.join(lexiconDir, file)}: ${toAppError(err).message}`, fix: 'Fix the JSON of that lexicon (entries: [{match, say}]).' })
    }
  }
  for (const p of profiles.values()) {
    if (p.lexicon && !lexiconFileExists(config.voicesDir, lexiconNameFor(p))) {
      lexiconProblems++
      checks.push({ area, name: 'lexicon', status: 'fail', detail: `profile ${p.id} names lexicon "${p.lexicon}", which is not in ${lexiconDir}`, fix: `Create ${path.join(lexiconDir, `${p.lexicon}.json`)} or drop "lexicon" from the profile.` })
    }
  }
  if (lexiconProblems === 0) checks.push({ area, name: 'lexicons', status: 'ok', detail: `${files.length} file(s), ${entries} entries in ${lexiconDir}` })
  return checks
}

async function dirCheck(name: string, dir: string, setting: string): Promise<Check> {
  const area = 'storage'
  // An existing directory gets a probe file written and removed; a missing one is created on first start, so
  // its nearest existing parent must be writable (doctor itself creates nothing).
  let existing = dir
  while (!(await fs.stat(existing).catch(() => undefined)) && path.dirname(existing) !== existing) existing = path.dirname(existing)
  try {
    if (!(await fs.stat(existing)).isDirectory()) throw Object.assign(new Error(`${existing} is not a directory`), { code: `ENOTDIR: ${existing} is a file` })
    if (existing === dir) {
      const probe = path.join(dir, `.doctor-${process.pid}-${Date.now()}`)
      await fs.writeFile(probe, 'ok')
      await fs.rm(probe, { force: true })
    } else await fs.access(existing, fsConstants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    return { area, name, status: 'fail', detail: `${dir} is not writable (${code})`, fix: `Make ${dir} writable by this user, or set ${setting} to a writable directory.` }
  }
  const stat = await fs.statfs(existing)
  const free = stat.bavail * stat.bsize
  const detail = `${dir} ${existing === dir ? 'writable' : 'will be created'}, ${formatBytes(free)} free`
  if (free < LOW_SPACE_FAIL) return { area, name, status: 'fail', detail, fix: `Free disk space, or set ${setting} to a larger disk.` }
  if (free < LOW_SPACE_WARN) return { area, name, status: 'warn', detail, fix: `Free disk space soon, or set ${setting} to a larger disk (episodes and the clip cache grow with every article).` }
  return { area, name, status: 'ok', detail }
}

export async function storageChecks(config: Config): Promise<Check[]> {
  return [await dirCheck('data directory', config.dataDir, 'BRIEFCAST_DATA_DIR'), await dirCheck('cache directory', config.cacheDir, 'BRIEFCAST_CACHE_DIR')]
}

const LOOPBACK = /^(localhost|.*\.localhost|127(?:\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0|\[::\])$/i

export function publicUrlCheck(config: Config): Check {
  const area = 'service'
  const name = 'public URL'
  const host = new URL(config.publicUrl).hostname
  const fix = 'Set BRIEFCAST_PUBLIC_URL to the https address readers and podcast apps reach (e.g. https://audio.example.com).'
  if (!config.publicUrlSet)
    return { area, name, status: 'warn', detail: `not set: links in feeds and the player use ${config.publicUrl}, which only this machine can reach`, fix }
  if (LOOPBACK.test(host)) return { area, name, status: 'fail', detail: `BRIEFCAST_PUBLIC_URL is ${config.publicUrl}: podcast apps and readers cannot reach a loopback address`, fix }
  if (new URL(config.publicUrl).protocol === 'http:')
    return { area, name, status: 'warn', detail: `${config.publicUrl} is plain http: Apple Podcasts and browsers' mixed-content rules want https`, fix: 'Serve briefcast behind https and set BRIEFCAST_PUBLIC_URL to the https address.' }
  return { area, name, status: 'ok', detail: config.publicUrl }
}

/** The database (SQLite file or PostgreSQL): reachable, its version, migrations applied; read-only. */
export async function databaseChecks(config: Config): Promise<Check[]> {
  const db = await inspectDatabase(config)
  const where = `${db.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${db.location}`
  if (db.error)
    return [
      {
        area: 'database',
        name: 'reachable',
        status: 'fail',
        detail: `${where}: ${db.error}`,
        fix: db.dialect === 'postgres' ? 'Check BRIEFCAST_DATABASE_URL (host, port, user, database) and that PostgreSQL accepts connections from here.' : 'Check the data directory (BRIEFCAST_DATA_DIR) and its permissions.',
      },
    ]
  if (db.fresh) return [{ area: 'database', name: 'reachable', status: 'ok', detail: `${where}: not created yet (made and migrated at first start)` }]
  const checks: Check[] = [{ area: 'database', name: 'reachable', status: 'ok', detail: `${where} (${db.version})` }]
  if (db.unknown.length > 0)
    checks.push({ area: 'database', name: 'migrations', status: 'fail', detail: `migrated by a newer briefcast (${db.unknown.join(', ')})`, fix: 'Run the release that migrated this database, or a newer one.' })
  else if (db.pending.length > 0)
    checks.push({ area: 'database', name: 'migrations', status: 'warn', detail: `${db.pending.length} pending: ${db.pending.join(', ')}`, fix: 'They are applied when the service starts (back up first: docs/deployment.md).' })
  else checks.push({ area: 'database', name: 'migrations', status: 'ok', detail: `all ${db.applied.length} applied` })
  return checks
}

/**
 * Database, job queue and object storage of a multi-machine install (issue #14). Object storage
 * (BRIEFCAST_STORAGE_URL): the bucket answers, and a small object can be written, read back and deleted.
 * The database: reachable, its version, migrations applied (read-only). The queue checks belong here too.
 */
export async function fleetChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [...(await databaseChecks(config))]
  if (config.storage.url) checks.push(await objectStorageCheck(config))
  return checks
}

async function objectStorageCheck(config: Config): Promise<Check> {
  const area = 'storage'
  const name = 'object storage'
  const fix = 'Fix BRIEFCAST_STORAGE_URL (bucket, ?endpoint=, ?region=) or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (docs/deployment.md#storage).'
  const blobs = createBlobStore(config)
  const probe = `.briefcast-doctor/${process.pid}-${Date.now()}.txt`
  try {
    await blobs.check(AbortSignal.timeout(10_000))
    await blobs.put(probe, 'ok', { contentType: 'text/plain', cacheControl: 'no-store' })
    const back = (await blobs.getBuffer(probe)).toString()
    await blobs.delete(probe)
    if (back !== 'ok') return { area, name, status: 'fail', detail: `${blobs.location}: read back ${JSON.stringify(back.slice(0, 20))} instead of what was written`, fix }
    const cdn = config.storage.publicUrl ? `; files redirect to ${config.storage.publicUrl}` : '; files are proxied by the API node'
    return { area, name, status: 'ok', detail: `${blobs.location} writable, readable, deletable${cdn}` }
  } catch (err) {
    const e = toAppError(err)
    return { area, name, status: 'fail', detail: `${blobs.location}: ${e.message}`, fix: e.help ? `${e.help} ${fix}` : fix }
  } finally {
    await blobs.close()
  }
}

export async function runChecks(options: { file?: string; voicesDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Check[]> {
  const checks: Check[] = []
  checks.push(...(await ffmpegChecks(options.env)))
  let config: Config
  try {
    config = loadConfig({ file: options.file, env: options.env, overrides: options.voicesDir ? { voicesDir: options.voicesDir } : {} })
  } catch (err) {
    const e = toAppError(err)
    checks.push({ area: 'config', name: 'settings', status: 'fail', detail: e.message, fix: 'Fix the settings named above (docs/configuration.md lists them).' })
    return checks
  }
  checks.push({ area: 'config', name: 'settings', status: 'ok', detail: 'valid' })
  checks.push(...(await voiceChecks(config)))
  checks.push(...(await storageChecks(config)))
  checks.push(publicUrlCheck(config))
  checks.push(...(await fleetChecks(config)))
  return checks
}

const MARK: Record<Status, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' }

export function formatChecks(checks: Check[]): string {
  const out: string[] = []
  let area = ''
  for (const c of checks) {
    if (c.area !== area) {
      out.push(`${out.length ? '\n' : ''}${c.area}`)
      area = c.area
    }
    out.push(`  [${MARK[c.status]}] ${c.name}: ${c.detail}`)
    if (c.fix && c.status !== 'ok') out.push(`         fix: ${c.fix}`)
  }
  const fails = checks.filter((c) => c.status === 'fail').length
  const warns = checks.filter((c) => c.status === 'warn').length
  out.push('', fails ? `${fails} problem(s) to fix${warns ? `, ${warns} warning(s)` : ''}.` : warns ? `All essential checks passed; ${warns} warning(s).` : 'All checks passed.')
  return out.join('\n') + '\n'
}

export async function run(args: ParsedArgs): Promise<number> {
  const checks = await runChecks({ file: str(args, 'config'), voicesDir: str(args, 'voices') })
  if (flag(args, 'json')) process.stdout.write(`${JSON.stringify({ ok: !checks.some((c) => c.status === 'fail'), checks }, null, 2)}\n`)
  else process.stdout.write(formatChecks(checks))
  const failed = checks.some((c) => c.status === 'fail' || (flag(args, 'strict') && c.status === 'warn'))
  return failed ? 1 : 0
}
