import { promises as fs } from 'node:fs'
import { ffmpegProcesses } from '../audio/ffmpeg.ts'
import { startJanitor, type Janitor } from '../audio/janitor.ts'
import { tempRoot } from '../audio/tempdir.ts'
import { AppError } from '../errors.ts'

export interface CliRun {
  /** Aborted by the first SIGINT/SIGTERM. */
  controller: AbortController
  /** The detached watchdog that cleans up after a SIGKILL. */
  janitor: Janitor
  /** Temp paths this run created; removeTemps() deletes them. */
  temps: string[]
  removeTemps(): Promise<void>
  /** Detach the signal and ffmpeg listeners and tell the watchdog the run ended cleanly. */
  release(): void
}

/**
 * What every CLI command that renders needs around its work: a watchdog that
 * removes temp files and kills ffmpeg if the process is killed, a sweep of
 * stale run directories left by earlier killed runs, and Ctrl-C/SIGTERM turned
 * into an abort (a second one exits at once; the watchdog removes what is left).
 */
export function startCliRun(cacheDir: string): CliRun {
  const controller = new AbortController()
  const janitor = startJanitor()
  janitor.sweepOnDeath(tempRoot(cacheDir), `${process.pid}-`)
  const onSpawn = (pid: number) => janitor.addPid(pid)
  const onExit = (pid: number) => janitor.removePid(pid)
  ffmpegProcesses.on('spawn', onSpawn)
  ffmpegProcesses.on('exit', onExit)
  let interrupted = 0
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted++
    if (interrupted > 1) process.exit(130)
    controller.abort(new AppError('ABORTED', `Interrupted by ${sig}.`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const temps: string[] = []
  return {
    controller,
    janitor,
    temps,
    removeTemps: async () => {
      await Promise.all(temps.map((t) => fs.rm(t, { force: true })))
    },
    release: () => {
      ffmpegProcesses.off('spawn', onSpawn)
      ffmpegProcesses.off('exit', onExit)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      janitor.done()
    },
  }
}
