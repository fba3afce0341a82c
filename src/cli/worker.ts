/** `briefcast worker`: a render-only process taking jobs from the Redis queue (options in src/cli/commands.ts). */
import { num, str, type ParsedArgs } from './spec.ts'

export async function run(args: ParsedArgs): Promise<number> {
  const { startWorker } = await import('../main.ts')
  // Errors (no Redis configured, bad config) propagate to src/cli.ts, which prints them and exits 1.
  await startWorker({ file: str(args, 'config'), healthPort: num(args, 'health-port') })
  // Runs until SIGTERM/SIGINT, which startWorker handles (the current job finishes or goes back to the queue).
  return await new Promise<number>(() => {})
}
