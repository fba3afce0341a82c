import { parseArgs } from 'node:util'

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string', short: 'p' }, config: { type: 'string', short: 'c' } } })
  const { startService } = await import('../main.ts')
  await startService({ overrides: values.port ? { port: values.port } : {}, file: values.config })
  return await new Promise<number>(() => {})
}
