/**
 * Wiring only: config -> adapters -> createApp(deps) -> listen.
 */
import express from 'express'
import { loadConfig, type LoadConfigOptions } from './config.ts'

export async function startService(options: LoadConfigOptions = {}) {
  const config = loadConfig(options)
  const app = express()
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  const server = app.listen(config.port, config.host)
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  process.stdout.write(`briefcast listening on ${config.publicUrl}\n`)
  return { server, config }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await startService()
}
