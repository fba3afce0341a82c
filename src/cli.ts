/**
 * `briefcast <command>`: the command table (src/cli/commands.ts) declares every
 * command and option; src/cli/spec.ts parses argv against it. Usage errors
 * print one line and the command's usage, and exit 2; failures print the
 * error code, message and hint, and exit 1 (docs/cli.md has the table).
 * Handlers load lazily so `briefcast script` never pays for the audio stack.
 */
import { ROOT } from './cli/commands.ts'
import { helpText, resolve, UsageError, type CommandSpec } from './cli/spec.ts'
import { AppError, toAppError } from './errors.ts'
import { packageVersion } from './util/package-root.ts'

function usageError(err: UsageError, command: CommandSpec = ROOT, commandPath: string[] = []): number {
  const spec = err.command ?? command
  const path = err.path ?? commandPath
  const name = path.length ? `briefcast ${path.join(' ')}` : 'briefcast'
  const usage = helpText(spec, path).split('\n')[0]!
  process.stderr.write(`${name}: ${err.message}\n${usage}\nRun \`${name} --help\` for more.\n`)
  return 2
}

function findSpec(path: string[]): CommandSpec | undefined {
  let spec: CommandSpec | undefined = ROOT
  for (const name of path) spec = spec?.subcommands?.find((s) => s.name === name)
  return spec
}

export async function main(argv: string[]): Promise<number> {
  const [first] = argv
  if (first === '--version' || first === '-V') {
    process.stdout.write(`briefcast ${packageVersion()}\n`)
    return 0
  }
  if (first === 'help') {
    // `briefcast help render` = `briefcast render --help`
    const path = argv.slice(1)
    const spec = findSpec(path)
    if (!spec) return usageError(new UsageError(`unknown command "${path.join(' ')}"`, ROOT, []))
    process.stdout.write(helpText(spec, path))
    return 0
  }
  if (first === undefined) {
    process.stderr.write(helpText(ROOT, []))
    return 2
  }
  let resolved
  try {
    resolved = resolve(ROOT, argv, [])
  } catch (err) {
    if (err instanceof UsageError) return usageError(err)
    throw err
  }
  if (resolved.kind === 'help') {
    process.stdout.write(helpText(resolved.spec, resolved.path))
    return 0
  }
  const { spec, path, args } = resolved
  if (!spec.load) {
    // Only the root has no handler: `briefcast --some-flag` with no command.
    process.stderr.write(helpText(ROOT, []))
    return 2
  }
  const name = path.join(' ')
  try {
    // Before any WebAssembly compiles: a render starts on Liftoff, and tiers up once its script shows
    // enough new speech to pay for it (see there).
    if (name === 'render' || name === 'briefing') (await import('./cli/wasm-tier.ts')).startOnLiftoff()
    // First of all, so the worker's start-up overlaps everything else this process loads.
    // Awaited (a tiny module, ~1 ms): the worker then always exists before the engine looks for it.
    if (spec.espeak) (await import('./tts/espeak-prestart.ts')).prestartEspeakWorker({ warmUp: false })
    // A command that runs once parses each schema (config, voice profiles, lexicons) about once: zod's
    // compiled fast paths cost more to build than they save there (~15 ms of a render's start-up).
    // The service keeps them (it validates every request).
    if (name !== 'serve') (await import('zod')).z.config({ jitless: true })
    const run = await spec.load()
    return await run(args)
  } catch (err) {
    if (err instanceof UsageError) return usageError(err, spec, path)
    const e = toAppError(err)
    process.stderr.write(`briefcast ${name}: ${e.code}: ${e.message}\n${e.help ? `hint: ${e.help}\n` : ''}`)
    // A stack trace only when asked for: an unexpected error is a bug to report, not something to read.
    if (e.code === 'UNEXPECTED_ERROR' && err instanceof Error && err.stack) {
      if (process.env.BRIEFCAST_DEBUG) process.stderr.write(err.stack + '\n')
      else process.stderr.write('(set BRIEFCAST_DEBUG=1 to print the stack trace)\n')
    }
    return e instanceof AppError && e.code === 'ABORTED' ? 130 : 1
  }
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)
if (invokedDirectly || process.env.BRIEFCAST_CLI === '1') {
  process.exitCode = await main(process.argv.slice(2))
}
