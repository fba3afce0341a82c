import { parseArgs } from 'node:util'

const HELP = `usage: briefcast serve [--port N] [--config FILE]

Runs the HTTP service (same as npm start). Settings come from environment
variables (BRIEFCAST_*, PORT) and an optional JSON config file.`

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string', short: 'p' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const { startService } = await import('../main.ts')
  // Errors (bad config, port in use) propagate to src/cli.ts, which prints them and exits 1.
  await startService({ overrides: values.port ? { port: values.port } : {}, file: values.config })
  // Runs until SIGTERM/SIGINT, which startService handles (graceful shutdown, then exit).
  return await new Promise<number>(() => {})
}
