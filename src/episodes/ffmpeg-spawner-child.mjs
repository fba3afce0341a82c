// The ffmpeg spawner process (plain JS, no TypeScript loader: it must stay small).
// The service asks it over IPC to run ffmpeg/ffprobe. Why a separate process:
// spawning forks the calling process, and forking the big service process
// stalls its event loop for tens of milliseconds per ffmpeg run (page tables
// are copied); forking this small one is cheap, and the service never blocks.
import { spawn } from 'node:child_process'
import os from 'node:os'

const STDERR_TAIL_BYTES = 8 * 1024
const children = new Map()

process.on('message', (msg) => {
  if (msg.kill !== undefined) {
    children.get(msg.kill)?.kill('SIGKILL')
    return
  }
  const { id, binary, args } = msg
  let child
  try {
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
  } catch (e) {
    process.send({ id, error: { code: e.code, message: e.message } })
    return
  }
  children.set(id, child)
  if (child.pid !== undefined) {
    // Encoding is batch work: let the service's request handling win the CPU.
    try {
      os.setPriority(child.pid, 10)
    } catch {}
    process.send({ id, pid: child.pid })
  }
  const out = []
  let err = ''
  child.stdout.on('data', (d) => out.push(d))
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d) => {
    err += d
    if (err.length > 2 * STDERR_TAIL_BYTES) err = err.slice(-STDERR_TAIL_BYTES)
  })
  let failed = false
  child.on('error', (e) => {
    failed = true
    children.delete(id)
    process.send({ id, error: { code: e.code, message: e.message } })
  })
  child.on('close', (code, signal) => {
    children.delete(id)
    if (failed) return
    process.send({ id, code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err.slice(-STDERR_TAIL_BYTES) })
  })
})

// The service went away (even by SIGKILL: the IPC channel closes): take our ffmpeg children with us.
process.on('disconnect', () => {
  for (const c of children.values()) c.kill('SIGKILL')
  process.exit(0)
})
