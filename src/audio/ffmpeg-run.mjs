// Starting one ffmpeg/ffprobe process and collecting what it says: the one piece of code that spawns
// the binaries, shared by the in-process runner (spawnRunner in ffmpeg-launcher.ts) and the service's
// helper process (ffmpeg-launcher-child.mjs). Plain JS with no imports beyond node: the helper must stay small.
import { spawn } from 'node:child_process'
import os from 'node:os'

export const STDERR_TAIL_BYTES = 8 * 1024

/**
 * Spawn `binary args`, stdout collected and the last STDERR_TAIL_BYTES of stderr kept. `onSpawn(pid)`
 * is called once it runs; `done` resolves with how it ended: `{ code, signal, stdout, stderr }`, or
 * `{ error: { code, message } }` when it could not run.
 */
export function runBinary(binary, args, options = {}) {
  let child
  try {
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
  } catch (e) {
    return { kill() {}, done: Promise.resolve({ error: { code: e.code, message: e.message } }) }
  }
  if (child.pid !== undefined) {
    // Encoding is batch work: the caller may ask for it to yield the CPU to request handling.
    if (options.nice) {
      try {
        os.setPriority(child.pid, options.nice)
      } catch {}
    }
    options.onSpawn?.(child.pid)
  }
  const out = []
  let err = ''
  child.stdout.on('data', (d) => out.push(d))
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d) => {
    err += d
    if (err.length > 2 * STDERR_TAIL_BYTES) err = err.slice(-STDERR_TAIL_BYTES)
  })
  const done = new Promise((resolve) => {
    let failed = false
    child.on('error', (e) => {
      failed = true
      resolve({ error: { code: e.code, message: e.message } })
    })
    child.on('close', (code, signal) => {
      if (!failed) resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err.slice(-STDERR_TAIL_BYTES) })
    })
  })
  return { kill: () => child.kill('SIGKILL'), done }
}
