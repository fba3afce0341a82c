/**
 * docs/cli.md, generated from the command table (src/cli/commands.ts) so the
 * page cannot drift from the parser: `npm run docs:cli` writes it and
 * tests/cli/commands.test.ts fails when it is stale.
 */
import { COMMANDS, EXIT_CODES } from './commands.ts'
import { helpText, type CommandSpec } from './spec.ts'

function section(spec: CommandSpec, path: string[], level: number): string[] {
  const out = [`${'#'.repeat(level)} \`briefcast ${path.join(' ')}\``, '', spec.summary.charAt(0).toUpperCase() + spec.summary.slice(1) + '.', '', '```', helpText(spec, path).trimEnd(), '```', '']
  for (const sub of spec.subcommands ?? []) out.push(...section(sub, [...path, sub.name], level + 1))
  return out
}

export function cliDocs(): string {
  const out = [
    '# The `briefcast` command',
    '',
    '<!-- Generated from src/cli/commands.ts by `npm run docs:cli`; do not edit by hand. -->',
    '',
    'Installed with the package (`npx briefcast ...` in a checkout, or `briefcast ...` when installed globally).',
    'Every command takes `--help`; `briefcast --version` prints the version. Commands run from any directory:',
    'settings that name directories resolve in this order: the flag, the environment variable, the config',
    'file, `./voices` (etc.) of the working directory, and for voice profiles finally the `voices/` shipped',
    'with the package.',
    '',
    'Examples, what the commands print and what happens when one is interrupted: [cli-guide.md](cli-guide.md).',
    '',
    '| command | what it does |',
    '|---|---|',
    ...COMMANDS.map((c) => `| [\`${c.name}\`](#briefcast-${c.name}) | ${c.summary} |`),
    '',
    '## Exit codes',
    '',
    'The same for every command:',
    '',
    '| code | meaning |',
    '|---|---|',
    ...EXIT_CODES.map((e) => `| ${e.code} | ${e.meaning} |`),
    '',
    'A usage error prints one line saying what is wrong, the command\'s usage line and a pointer to `--help`,',
    'on stderr. A failure prints `briefcast <command>: <CODE>: <message>` and a `hint:` line (the codes are',
    'the service\'s error codes); an unexpected error prints a stack trace only when `BRIEFCAST_DEBUG=1`.',
    '',
    '## Commands',
    '',
    ...COMMANDS.flatMap((c) => section(c, [c.name], 3)),
    '## Adding a command',
    '',
    '1. Declare it in `src/cli/commands.ts`: `name`, `summary`, optional `description`, `positionals`',
    '   (`required`, `variadic`), `options` (`type`, `short`, `value`, `help`, `choices`, `int: {min}`,',
    '   `multiple`, `required`, `defaultText`), `examples`, `espeak: true` when it speaks, and',
    '   `load: async () => (await import(\'./<name>.ts\')).run`. A subcommand is a `CommandSpec` in',
    '   `subcommands` (a command may have both a handler and subcommands, like `voices`).',
    '2. Write the handler, `export async function run(args: ParsedArgs): Promise<number>`, reading values',
    '   with `str`, `flag` and `num` from `src/cli/spec.ts`. The parser has already rejected unknown options,',
    '   bad choices and missing arguments; throw `UsageError` for other mistakes in how it was called, and',
    '   `AppError` for failures.',
    '3. Run `npm run docs:cli` to regenerate this page, and add the command to the usage test in',
    '   `tests/cli/commands.test.ts` (every command is run there with a bad option, a missing argument',
    '   and `--help`).',
    '',
  ]
  return out.join('\n')
}
