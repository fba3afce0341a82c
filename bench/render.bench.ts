/**
 * Render speed and memory, all measured in this run on the corpus page:
 *   - cold `briefcast render` (a real CLI process, empty cache) vs a naive
 *     pipeline (the same espeak-ng engine on the whole text in one call, then
 *     one ffmpeg encode to the same MP3 settings with loudnorm) -> ratio (goal <= 0.5)
 *   - re-render after changing one paragraph -> ratio to naive (goal <= 0.1)
 *   - 5, 20 and 60 minute inputs (the corpus text repeated, each copy numbered
 *     so no clip repeats): time, ms per audio minute, peak RSS of the process tree (goal < 300 MB)
 * BENCH_RENDER_MAX_MINUTES=20 skips the 60-minute run on slow machines. Naive and cold are each run
 * BENCH_RENDER_RUNS times (default 2) and the re-render one more, alternating; the best run of each counts.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, promises as fs, readFileSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bin = path.join(root, 'bin', 'briefcast.js')
const corpusFile = ['/work/shared/corpus/plain/lenovo-nvidia-ai-factories.txt', path.join(root, 'tests/fixtures/plain/lenovo-nvidia-ai-factories.txt')].find((f) => {
  try {
    readFileSync(f)
    return true
  } catch {
    return false
  }
})!

function rssOfTree(pid: number): number {
  // Sum VmRSS of pid and all its descendants (ffmpeg, the watchdog).
  const children = new Map<number, number[]>()
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(p))
      children.set(ppid, list)
    } catch {}
  }
  let total = 0
  const stack = [pid]
  while (stack.length) {
    const p = stack.pop()!
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))
      if (m) total += Number(m[1]) * 1024
    } catch {}
    stack.push(...(children.get(p) ?? []))
  }
  return total
}

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

/**
 * Runs node with `cmd`; wall time, peak RSS of the process tree (sampled every 100 ms) and, through
 * /usr/bin/time when present, the CPU seconds of the whole tree (load-independent, unlike wall time
 * on a machine shared with other work).
 */
async function timed(cmd: string[], env: NodeJS.ProcessEnv, cwd: string, sampleRss = false): Promise<{ ms: number; peakRss: number; stdout: string; cpuSec?: number }> {
  const started = performance.now()
  const cpuFile = path.join(cwd, `.cpu-${Math.random().toString(16).slice(2)}`)
  // The CLI runs as users run it, as a program (bin/briefcast.js picks node's flags itself); scripts through node.
  const argv = cmd[0] === bin ? cmd : [process.execPath, ...cmd]
  const [file, args] = GNU_TIME ? [GNU_TIME, ['-o', cpuFile, '-f', '%U %S', ...argv]] : [argv[0]!, argv.slice(1)]
  const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  let peakRss = 0
  // Only the memory rows sample RSS: walking /proc every 100 ms costs CPU on the same 2 cores,
  // which would weigh on the short timed runs (a ~1 s re-render) more than on the baseline.
  const timer = sampleRss
    ? setInterval(() => {
        if (child.pid) peakRss = Math.max(peakRss, rssOfTree(child.pid))
      }, 100)
    : undefined
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (timer) clearInterval(timer)
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited with ${code}`)
  let cpuSec: number | undefined
  if (GNU_TIME) {
    const [u, sys] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number)
    cpuSec = (u ?? 0) + (sys ?? 0)
    await fs.rm(cpuFile, { force: true })
  }
  return { ms: performance.now() - started, peakRss, stdout, cpuSec }
}

/** Audio minutes from the CLI summary ("out.mp3: 1:02:03, ..." or "out.mp3: 5:15, ..."). */
function summaryMinutes(stdout: string): number | undefined {
  const m = /: (\d+(?::\d\d){1,2}),/.exec(stdout)
  if (!m) return undefined
  return m[1]!.split(':').map(Number).reduce((acc, v) => acc * 60 + v, 0) / 60
}

/** Renders `before` then times rendering `after` with the same warm speech service (as the HTTP service does). */
async function warmRerender(work: string, env: Record<string, string>, before: string, after: string): Promise<{ ms: number; encoded: number; synthesized: number }> {
  const { loadConfig } = await import('../src/config.ts')
  const { createSpeechService } = await import('../src/tts/index.ts')
  const { articleToScript } = await import('../src/script/index.ts')
  const { createFfmpeg } = await import('../src/audio/ffmpeg.ts')
  const { renderEpisode } = await import('../src/episodes/render.ts')
  const config = loadConfig({ env: { ...env, BRIEFCAST_CACHE_DIR: path.join(work, 'cache-warm') }, cwd: work })
  const speech = await createSpeechService(config)
  try {
    const ffmpeg = await createFfmpeg(config)
    const profile = speech.getProfile('default')
    const scriptOf = (file: string) => articleToScript({ content: readFileSync(file), format: 'text' }, { ...speech.limitsFor(profile), pauses: profile.pauses })
    await renderEpisode(scriptOf(before), profile, { speech, ffmpeg, config })
    const started = performance.now()
    const r = await renderEpisode(scriptOf(after), profile, { speech, ffmpeg, config })
    return { ms: performance.now() - started, encoded: r.stats.encoded, synthesized: r.stats.synthesized }
  } finally {
    await speech.close()
  }
}

const cpu = (r: { cpuSec?: number }) => (r.cpuSec === undefined ? '' : `  cpu ${r.cpuSec.toFixed(1)} s`)
const fmt = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`

async function main() {
  // Compile src/ first (bin/build.js), so no timed run below pays for a build.
  execFileSync(process.execPath, [path.join(root, 'bin', 'build.js')], { stdio: 'ignore' })
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-bench-render-'))
  const cleanups: (() => Promise<void>)[] = []
  try {
    const voices = path.join(work, 'voices')
    await fs.mkdir(voices)
    await fs.writeFile(path.join(voices, 'default.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en-US', voices: { body: { language: 'en-US' } } }))
    const env = { BRIEFCAST_VOICES_DIR: voices, BRIEFCAST_CACHE_DIR: path.join(work, 'cache') }
    const text = readFileSync(corpusFile, 'utf8')
    const page = path.join(work, 'page.txt')
    await fs.writeFile(page, text)
    const cli = (input: string, out: string) => [bin, 'render', input, '-o', out, '--quiet']
    console.log(`corpus page: ${path.basename(corpusFile)} (${text.length} chars), ${os.availableParallelism()} cores`)

    // The naive pipeline bundled like the CLI (bin/build.js), inside the project so its packages resolve,
    // with the engine's worker files beside it.
    const naiveDir = path.join(root, 'dist', `.bench-naive-${process.pid}`)
    await fs.mkdir(naiveDir, { recursive: true })
    const esbuild = await import('esbuild')
    await esbuild.build({ entryPoints: [path.join(root, 'bench', 'naive-render.ts')], outfile: path.join(naiveDir, 'naive-render.mjs'), bundle: true, packages: 'external', format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent' })
    await esbuild.stop()
    // As bin/build.js does: the engine's plain-JS and WebAssembly files, as they are.
    for (const f of await fs.readdir(path.join(root, 'src', 'tts'))) if (/\.(mjs|cjs|wasm)$/.test(f)) await fs.copyFile(path.join(root, 'src', 'tts', f), path.join(naiveDir, f))
    cleanups.push(() => fs.rm(naiveDir, { recursive: true, force: true }))
    // Both sides run bundled JavaScript, each as its own node process. This
    // 2-core VM's speed drifts by +/-10% from run to run, so each is timed several times, alternating,
    // and the best run of each counts (all runs are printed).
    const RUNS = Number(process.env.BENCH_RENDER_RUNS ?? 2)
    type Timed = Awaited<ReturnType<typeof timed>>
    const best = (runs: Timed[]) => runs.reduce((a, b) => (b.ms < a.ms ? b : a))
    const all = (runs: Timed[]) => (runs.length > 1 ? `  (runs: ${runs.map((r) => fmt(r.ms)).join(', ')})` : '')
    const naiveRuns: Timed[] = []
    const coldRuns: Timed[] = []
    for (let k = 0; k < RUNS; k++) {
      naiveRuns.push(await timed([path.join(naiveDir, 'naive-render.mjs'), page, path.join(work, 'naive.mp3')], {}, work))
      // Each cold run starts from an empty cache; the last one's cache is the one the re-render edits.
      await fs.rm(env.BRIEFCAST_CACHE_DIR, { recursive: true, force: true })
      coldRuns.push(await timed(cli(page, 'cold.mp3'), env, work))
    }
    const naive = best(naiveRuns)
    const cold = best(coldRuns)
    const nb = JSON.parse(naive.stdout) as { startMs: number; synthMs: number; encodeMs: number; audioMs: number }
    console.log(`naive (espeak whole text + ffmpeg loudnorm encode): ${fmt(naive.ms)}${cpu(naive)}  (engine start ${fmt(nb.startMs)}, synthesis ${fmt(nb.synthMs)}, loudnorm+encode ${fmt(nb.encodeMs)}, ${fmt(nb.audioMs)} of audio)${all(naiveRuns)}`)
    const cpuRatio = (r: { cpuSec?: number }) => (r.cpuSec && naive.cpuSec ? `, cpu ratio ${(r.cpuSec / naive.cpuSec).toFixed(2)}` : '')
    console.log(`cold briefcast render:                              ${fmt(cold.ms)}${cpu(cold)}  ratio ${(cold.ms / naive.ms).toFixed(2)} (goal <= 0.5)${cpuRatio(cold)}${all(coldRuns)}`)

    const paragraphs = text.split(/\n\s*\n/)
    const i = paragraphs.findIndex((p, k) => k > 2 && p.length > 200)
    paragraphs[i] = paragraphs[i]!.replace(/\.\s*$/, ', as the editors added today.')
    const edited = path.join(work, 'edited.txt')
    await fs.writeFile(edited, paragraphs.join('\n\n'))
    // Each re-render starts from a copy of the cold render's cache (the edit not yet rendered).
    const rerenderRuns: Timed[] = []
    for (let k = 0; k < RUNS + 1; k++) {
      const copy = path.join(work, `cache-edit-${k}`)
      await fs.cp(env.BRIEFCAST_CACHE_DIR, copy, { recursive: true })
      rerenderRuns.push(await timed(cli(edited, 'edited.mp3'), { ...env, BRIEFCAST_CACHE_DIR: copy }, work))
      await fs.rm(copy, { recursive: true, force: true })
    }
    const rerender = best(rerenderRuns)
    console.log(`re-render after one paragraph changed:              ${fmt(rerender.ms)}${cpu(rerender)}  ratio ${(rerender.ms / naive.ms).toFixed(2)} (goal <= 0.1)${cpuRatio(rerender)}${all(rerenderRuns)}`)
    // The service path: an editor fixes a paragraph and the running service (warm engine) re-renders.
    const warm = await warmRerender(work, env, page, edited)
    console.log(`re-render in a running service (warm engine):      ${fmt(warm.ms)}  ratio ${(warm.ms / naive.ms).toFixed(2)} (goal <= 0.1)  (${warm.encoded} piece encoded, ${warm.synthesized} synthesized)`)
    console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores (wall-time ratios need an idle machine)`)

    const pageMinutes = summaryMinutes(cold.stdout) ?? 5
    const maxMinutes = Number(process.env.BENCH_RENDER_MAX_MINUTES ?? 60)
    const rows: { minutes: number; ms: number; rss: number }[] = []
    for (const minutes of [5, 20, 60].filter((m) => m <= maxMinutes)) {
      const last = rows[rows.length - 1]
      const estimateMs = last ? (last.ms / last.minutes) * minutes : 0
      if (estimateMs > 240_000 && process.env.BENCH_RENDER_FULL !== '1') {
        console.log(`render ${minutes} min of audio: skipped, estimated ${fmt(estimateMs)} at the rate above on this machine (BENCH_RENDER_FULL=1 runs it)`)
        continue
      }
      const copies = Math.max(1, Math.round(minutes / pageMinutes))
      const long = path.join(work, `long-${minutes}.txt`)
      await fs.writeFile(long, Array.from({ length: copies }, (_, n) => text.replace(/\n\n/g, ` Part ${n + 1}.\n\n`)).join('\n\n'))
      const r = await timed(cli(long, `long-${minutes}.mp3`), { ...env, BRIEFCAST_CACHE_DIR: path.join(work, `cache-${minutes}`) }, work, true)
      const audioMin = summaryMinutes(r.stdout) ?? minutes
      rows.push({ minutes: audioMin, ms: r.ms, rss: r.peakRss })
      console.log(`render ${audioMin.toFixed(1).padStart(5)} min of audio: ${fmt(r.ms).padStart(8)}${cpu(r)}  ${(r.ms / audioMin / 1000).toFixed(2)} s per audio minute  peak RSS (process tree) ${mb(r.peakRss)} (goal < 300 MB)`)
      await fs.rm(path.join(work, `cache-${minutes}`), { recursive: true, force: true })
    }
    if (rows.length >= 2) {
      // A fixed start-up (node, engine workers) plus a cost per audio minute: linear growth means the
      // marginal cost per added minute stays the same from one step to the next.
      const steps = rows.slice(1).map((b, k) => {
        const a = rows[k]!
        return `${a.minutes.toFixed(0)}->${b.minutes.toFixed(0)} min: ${((b.ms - a.ms) / (b.minutes - a.minutes) / 1000).toFixed(2)} s per added audio minute`
      })
      const a = rows[0]!
      const b = rows[rows.length - 1]!
      console.log(`growth: ${(b.minutes / a.minutes).toFixed(1)}x the audio took ${(b.ms / a.ms).toFixed(1)}x the time; ${steps.join('; ')}`)
    }
  } finally {
    for (const c of cleanups) await c()
    await fs.rm(work, { recursive: true, force: true })
  }
}

await main()
