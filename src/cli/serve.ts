/** `briefcast serve`: the HTTP service (options in src/cli/commands.ts). */
import { flag, num, str, type ParsedArgs } from './spec.ts'

export async function run(args: ParsedArgs): Promise<number> {
  const { startService } = await import('../main.ts')
  const port = num(args, 'port')
  // Errors (bad config, port in use) propagate to src/cli.ts, which prints them and exits 1.
  await startService({ overrides: port !== undefined ? { port } : {}, file: str(args, 'config'), role: flag(args, 'no-render') ? 'api' : 'all' })
  // Runs until SIGTERM/SIGINT, which startService handles (graceful shutdown, then exit).
  return await new Promise<number>(() => {})
}
