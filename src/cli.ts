/**
 * `briefcast <command>`: each command lives in src/cli/<command>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code). Loaded lazily so
 * `briefcast script` never pays for the audio stack.
 */
import { AppError, toAppError } from './errors.ts'
import type { WarmUp } from './tts/espeak-prestart.ts'

interface Command {
  summary: string
  load: () => Promise<{ run(argv: string[]): Promise<number> }>
  /**
   * Uses espeak-ng: its first worker starts while the command's modules load (tts/espeak-prestart.ts),
   * with this warm-up mode (the command's createSpeechService must ask for the same).
   */
  espeak?: WarmUp
}

const COMMANDS: Record<string, Command> = {
  serve: { summary: 'run the HTTP service (same as npm start)', load: () => import('./cli/serve.ts') },
  voices: { summary: 'list speech engines, voice profiles and voices', load: () => import('./cli/voices.ts'), espeak: false },
  say: { summary: 'speak a line of text into a WAV file', load: () => import('./cli/say.ts'), espeak: false },
  script: { summary: 'print the script an article converts to', load: () => import('./cli/script.ts') },
  render: { summary: 'render one article to an MP3/M4A episode with transcript and chapters', load: () => import('./cli/render.ts'), espeak: false },
  users: { summary: 'dashboard accounts: add, list, remove, reset-password', load: () => import('./cli/users.ts') },
  briefing: {
    summary: 'join several articles into one briefing episode (opening, stories, transitions, chapters)',
    load: () => import('./cli/briefing.ts'),
    espeak: false,
  },
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  return `usage: briefcast <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`briefcast <command> --help\` for a command's options.`
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n')
    return name ? 0 : 2
  }
  const command = COMMANDS[name]
  if (!command) {
    process.stderr.write(`briefcast: unknown command "${name}"\n\n${usage()}\n`)
    return 2
  }
  try {
    const warmUp = command.espeak
    // First of all, so the worker's start-up (~0.2 s) overlaps everything else this process loads.
    // Awaited (a tiny module, ~1 ms): the worker then always exists before the engine looks for it,
    // never after (it would be left unused beside the engine's own).
    if (warmUp !== undefined && !rest.some((a) => a === '--help' || a === '-h')) (await import('./tts/espeak-prestart.ts')).prestartEspeakWorker({ warmUp })
    // A command that runs once parses each schema (config, voice profiles, lexicons) about once: zod's
    // compiled fast paths cost more to build than they save there (~15 ms of a render's start-up).
    // The service keeps them (it validates every request).
    if (name !== 'serve') (await import('zod')).z.config({ jitless: true })
    const mod = await command.load()
    return await mod.run(rest)
  } catch (err) {
    const e = toAppError(err)
    process.stderr.write(`briefcast ${name}: ${e.code}: ${e.message}\n${e.help ? `hint: ${e.help}\n` : ''}`)
    if (e.code === 'UNEXPECTED_ERROR' && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n')
    return e instanceof AppError && e.code === 'ABORTED' ? 130 : 1
  }
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)
if (invokedDirectly || process.env.BRIEFCAST_CLI === '1') {
  process.exitCode = await main(process.argv.slice(2))
}
