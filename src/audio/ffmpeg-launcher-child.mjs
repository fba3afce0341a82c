// The ffmpeg launcher process (plain JS, no TypeScript loader: it must stay small).
// The service asks it over IPC to run ffmpeg/ffprobe (FfmpegSpawner in ffmpeg-launcher.ts). Why a
// separate process: spawning forks the calling process, and forking the big service process
// stalls its event loop for tens of milliseconds per ffmpeg run (page tables
// are copied); forking this small one is cheap, and the service never blocks.
//
// Protocol (IPC): {id, binary, args} -> {id, pid} then {id, code, signal, stdout, stderr} | {id, error};
// {kill: id} kills run id (its answer follows as usual).
import { runBinary } from './ffmpeg-run.mjs'

const runs = new Map()
const send = (m) => process.connected && process.send(m)

process.on('message', (msg) => {
  if (msg.kill !== undefined) {
    runs.get(msg.kill)?.kill()
    return
  }
  const { id, binary, args } = msg
  // Encoding is batch work: let the service's request handling win the CPU.
  const run = runBinary(binary, args, { nice: 10, onSpawn: (pid) => send({ id, pid }) })
  runs.set(id, run)
  void run.done.then((outcome) => {
    runs.delete(id)
    send({ id, ...outcome })
  })
})

// The service went away (even by SIGKILL: the IPC channel closes): take our ffmpeg children with us.
process.on('disconnect', () => {
  for (const r of runs.values()) r.kill()
  process.exit(0)
})
