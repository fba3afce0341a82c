/**
 * The command line as an operator meets it: the built CLI (bin/briefcast.js)
 * run as a child process from a directory outside the checkout, for every
 * command in the table, with a bad option, a missing argument and --help; and
 * `briefcast doctor` on a working setup and with each of its checks broken.
 */
import { spawn } from 'node:child_process'
import { existsSync, promises as fs, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/cli/commands.ts'
import type { CommandSpec } from '../../src/cli/spec.ts'
import { cliDocs } from '../../src/cli/docs.ts'
import { didYouMean } from '../../src/cli/spec.ts'

const root = path.resolve(import.meta.dirname, '..', '..')
const bin = path.join(root, 'bin', 'briefcast.js')
let dir: string

/** The environment without any briefcast setting of the developer's shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BRIEFCAST_') && !k.startsWith('FFMPEG') && !k.startsWith('FFPROBE') && k !== 'GOOGLE_APPLICATION_CREDENTIALS') env[k] = v
  return { ...env, BRIEFCAST_CACHE_DIR: path.join(dir, 'cache'), BRIEFCAST_DATA_DIR: path.join(dir, 'data'), ...extra }
}

function briefcast(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const STACK = /^\s+at .+\(?.+:\d+:\d+\)?$/m

function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, command: string, says: RegExp): void {
  expect(r.code, r.stderr).toBe(2)
  expect(r.stderr).not.toMatch(STACK)
  expect(r.stderr).not.toContain('UNEXPECTED_ERROR')
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines[0]).toMatch(new RegExp(`^briefcast ${command}: `))
  expect(lines[0]).toMatch(says)
  expect(lines[1]).toMatch(new RegExp(`^usage: briefcast ${command}\\b`))
  expect(lines).toHaveLength(3)
  expect(r.stdout).toBe('')
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-cli-table-'))
  expect(path.relative(root, dir).startsWith('..')).toBe(true)
  await fs.writeFile(path.join(dir, 'story.txt'), 'Harbour bridge reopens\n\nThe harbour bridge reopened on Monday after repairs.\n')
})

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/** Every command and subcommand in the table, as the words that name it. */
const ALL: [string, CommandSpec][] = COMMANDS.flatMap((c) => [[c.name, c] as [string, CommandSpec], ...(c.subcommands ?? []).map((s) => [`${c.name} ${s.name}`, s] as [string, CommandSpec])])

describe('every command, from outside the checkout', () => {
  it.each(ALL.map(([name]) => name))('%s: --help exits 0; a bad option and a missing argument exit 2 without a stack trace', async (name) => {
    const spec = ALL.find(([n]) => n === name)![1]
    const words = name.split(' ')
    const [help, bad] = await Promise.all([briefcast([...words, '--help']), briefcast([...words, '--bogus'])])
    expect(help.code).toBe(0)
    expect(help.stdout.startsWith(`usage: briefcast ${name}`)).toBe(true)
    for (const option of Object.keys(spec.options ?? {})) expect(help.stdout).toContain(`--${option}`)
    expect(help.stderr).toBe('')
    expectUsageError(bad, name, /unknown option --bogus/)

    const needsArgument = spec.positionals?.some((p) => p.required)
    const needsOption = Object.values(spec.options ?? {}).some((o) => o.required)
    if (needsArgument) expectUsageError(await briefcast(words), name, /missing /)
    if (needsOption) expectUsageError(await briefcast([...words, 'story.txt']), name, /missing --output FILE/)
    if (!needsArgument && !needsOption)
      expectUsageError(await briefcast([...words, 'surplus']), name, spec.subcommands?.length ? /unknown command "[a-z ]+ surplus"/ : /unexpected argument "surplus"/)
    // A string option given without its value.
    const stringOption = Object.entries(spec.options ?? {}).find(([, o]) => o.type === 'string')
    if (stringOption) expectUsageError(await briefcast([...words, `--${stringOption[0]}`]), name, new RegExp(`--${stringOption[0]} needs a value`))
  })

  it('bad option values are usage errors that name the allowed values', async () => {
    expectUsageError(await briefcast(['render', 'story.txt', '-o', 'x.mp3', '--format', 'ogg']), 'render', /--format must be one of mp3, m4a \(got "ogg"\)/)
    expectUsageError(await briefcast(['briefing', 'story.txt', '-o', 'x.mp3', '--lede-seconds', 'soon']), 'briefing', /--lede-seconds must be a whole number/)
    expectUsageError(await briefcast(['serve', '--port', 'eighty']), 'serve', /--port must be a whole number of at least 0 \(got "eighty"\)/)
    expectUsageError(await briefcast(['say', 'Hi', '-o', 'x.mp3']), 'say', /the output must be a \.wav file/)
  })

  it('an unknown command exits 2 with "did you mean"; no command prints the usage and exits 2; --version and help work', async () => {
    const typo = await briefcast(['rendr'])
    expect(typo.code).toBe(2)
    expect(typo.stderr.split('\n')[0]).toBe('briefcast: unknown command "rendr"; did you mean "render"?')
    expect(typo.stderr).not.toMatch(STACK)
    const unknown = await briefcast(['bogus'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.split('\n')[0]).toBe('briefcast: unknown command "bogus"')
    const none = await briefcast([])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('usage: briefcast <command>')
    for (const c of COMMANDS) expect(none.stderr).toContain(c.name)
    const version = await briefcast(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe(`briefcast ${(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version}`)
    const help = await briefcast(['help', 'render'])
    expect(help.code).toBe(0)
    expect(help.stdout).toBe((await briefcast(['render', '--help'])).stdout)
    expect((await briefcast(['voices', 'instal'])).stderr.split('\n')[0]).toMatch(/^briefcast voices: /)
  })

  it('a failure is one coded message and a hint, exit 1, no stack trace', async () => {
    const r = await briefcast(['render', 'missing.txt', '-o', 'out.mp3'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^briefcast render: NOT_FOUND: Cannot read missing\.txt/m)
    expect(r.stderr).toMatch(/^hint: /m)
    expect(r.stderr).not.toMatch(STACK)
  })

  it('render works from any directory, with the shipped voice profiles', async () => {
    const r = await briefcast(['render', 'story.txt', '-o', 'story.mp3', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout) as { audio: string; durationMs: number; chapterTitles: string[] }
    expect(summary.audio).toBe(path.join(dir, 'story.mp3'))
    expect(summary.durationMs).toBeGreaterThan(1000)
    for (const f of ['story.mp3', 'story.vtt', 'story.chapters.json']) expect(existsSync(path.join(dir, f))).toBe(true)
    expect((await fs.stat(path.join(dir, 'story.mp3'))).size).toBeGreaterThan(5000)
  })

  it('docs/cli.md is generated from the command table and current (npm run docs:cli)', async () => {
    expect(await fs.readFile(path.join(root, 'docs', 'cli.md'), 'utf8')).toBe(cliDocs())
  })

  it('suggests only near misses', () => {
    expect(didYouMean('rendr', ['render', 'serve'])).toBe('render')
    expect(didYouMean('brief', ['render', 'briefing'])).toBe('briefing')
    expect(didYouMean('xyzzy', ['render', 'serve', 'say'])).toBeUndefined()
  })
})

interface DoctorReport {
  ok: boolean
  checks: { area: string; name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }[]
}

async function doctor(extra: Record<string, string> = {}): Promise<{ code: number | null; report: DoctorReport; text: string }> {
  const env = cleanEnv(extra)
  const [json, text] = await Promise.all([briefcast(['doctor', '--json'], env), briefcast(['doctor'], env)])
  expect(json.code).toBe(text.code)
  return { code: json.code, report: JSON.parse(json.stdout) as DoctorReport, text: text.stdout }
}

describe('briefcast doctor', () => {
  it('on a fresh setup: every check passes; warnings only for what is really missing (Google credentials, a public URL)', async () => {
    const { code, report, text } = await doctor()
    expect(code).toBe(0)
    expect(report.ok).toBe(true)
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([])
    const names = report.checks.map((c) => `${c.area}/${c.name}`)
    for (const n of ['ffmpeg/ffmpeg', 'ffmpeg/ffprobe', 'config/settings', 'voices/profiles', 'voices/engine espeak-ng', 'voices/lexicons', 'storage/data directory', 'storage/cache directory', 'service/public URL'])
      expect(names).toContain(n)
    expect(report.checks.find((c) => c.name === 'ffmpeg')!.detail).toMatch(/version .*libmp3lame/)
    expect(report.checks.find((c) => c.name === 'profiles')!.detail).toContain(path.join(root, 'voices'))
    const warnings = report.checks.filter((c) => c.status === 'warn').map((c) => c.name)
    expect(warnings.sort()).toEqual(['engine google', 'public URL'])
    for (const w of report.checks.filter((c) => c.status === 'warn')) expect(w.fix).toBeTruthy()
    expect(text).toMatch(/All essential checks passed; 2 warning\(s\)\./)
    expect((await briefcast(['doctor', '--strict'])).code).toBe(1)
  })

  it('no ffmpeg: fails and names the fix', async () => {
    const { code, report, text } = await doctor({ FFMPEG_PATH: path.join(dir, 'no-such-ffmpeg'), FFPROBE_PATH: path.join(dir, 'no-such-ffprobe') })
    expect(code).toBe(1)
    const ffmpeg = report.checks.find((c) => c.name === 'ffmpeg')!
    expect(ffmpeg.status).toBe('fail')
    expect(ffmpeg.fix).toMatch(/FFMPEG_PATH/)
    expect(text).toMatch(/\[FAIL\] ffmpeg: .*no-such-ffmpeg cannot be run/)
  })

  it('a broken voice profile and a default voice that is not there: fail, naming the file and the fix', async () => {
    const voices = path.join(dir, 'broken-voices')
    await fs.cp(path.join(root, 'voices'), voices, { recursive: true })
    await fs.writeFile(path.join(voices, 'espeak-en.json'), '{"engine": "espeak-ng", "language": ')
    const { code, report } = await doctor({ BRIEFCAST_VOICES_DIR: voices })
    expect(code).toBe(1)
    const bad = report.checks.find((c) => c.name === 'profile')!
    expect(bad.status).toBe('fail')
    expect(bad.detail).toContain(path.join(voices, 'espeak-en.json'))
    expect(bad.fix).toBeTruthy()
    const noDefault = await doctor({ BRIEFCAST_VOICES_DIR: voices, BRIEFCAST_DEFAULT_VOICE: 'missing-profile' })
    expect(noDefault.report.checks.find((c) => c.name === 'default voice')).toMatchObject({ status: 'fail', fix: expect.stringContaining('BRIEFCAST_DEFAULT_VOICE') })
  })

  it('an unwritable cache directory: fails and names the setting', async () => {
    const file = path.join(dir, 'a-file')
    await fs.writeFile(file, 'not a directory')
    const { code, report } = await doctor({ BRIEFCAST_CACHE_DIR: path.join(file, 'cache') })
    expect(code).toBe(1)
    const cache = report.checks.find((c) => c.name === 'cache directory')!
    expect(cache.status).toBe('fail')
    expect(cache.fix).toContain('BRIEFCAST_CACHE_DIR')
  })

  it('a public URL on localhost: fails (podcast apps cannot reach it); an https one passes', async () => {
    const local = await doctor({ BRIEFCAST_PUBLIC_URL: 'http://127.0.0.1:8080' })
    expect(local.code).toBe(1)
    expect(local.report.checks.find((c) => c.name === 'public URL')).toMatchObject({ status: 'fail', fix: expect.stringContaining('BRIEFCAST_PUBLIC_URL') })
    const named = await doctor({ BRIEFCAST_PUBLIC_URL: 'http://localhost:8080' })
    expect(named.report.checks.find((c) => c.name === 'public URL')!.status).toBe('fail')
    const good = await doctor({ BRIEFCAST_PUBLIC_URL: 'https://audio.example.com' })
    expect(good.report.checks.find((c) => c.name === 'public URL')).toMatchObject({ status: 'ok', detail: 'https://audio.example.com' })
  })

  it('the database: a fresh SQLite file is fine; a bad or unreachable BRIEFCAST_DATABASE_URL fails, naming the setting and the host', async () => {
    const fresh = await doctor()
    expect(fresh.report.checks.find((c) => c.area === 'database')).toMatchObject({ name: 'reachable', status: 'ok', detail: expect.stringMatching(/^SQLite .*briefcast\.db: not created yet/) })
    const bad = await doctor({ BRIEFCAST_DATABASE_URL: 'mysql://db.example.com/news' })
    expect(bad.code).toBe(1)
    expect(bad.report.checks.find((c) => c.area === 'config')).toMatchObject({ status: 'fail', detail: expect.stringContaining('BRIEFCAST_DATABASE_URL') })
    expect(bad.text).not.toContain('db.example.com')
    const down = await doctor({ BRIEFCAST_DATABASE_URL: 'postgres://briefcast:s3cret-pw@127.0.0.1:1/news', BRIEFCAST_DATABASE_CONNECT_TIMEOUT_MS: '2000' })
    expect(down.code).toBe(1)
    expect(down.report.checks.find((c) => c.area === 'database')).toMatchObject({ status: 'fail', detail: expect.stringContaining('PostgreSQL 127.0.0.1:1/news'), fix: expect.stringContaining('BRIEFCAST_DATABASE_URL') })
    expect(down.text).not.toContain('s3cret-pw')
  })

  it('invalid settings: one failed check naming the setting', async () => {
    const { code, report } = await doctor({ BRIEFCAST_BITRATE_KBPS: 'loud' })
    expect(code).toBe(1)
    expect(report.checks.find((c) => c.area === 'config')).toMatchObject({ status: 'fail', detail: expect.stringContaining('BRIEFCAST_BITRATE_KBPS') })
  })
})
