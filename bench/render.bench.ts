/**
 * Render cost, all measured in this run on the corpus page (issue #18's figures):
 *   - naive: Debian's espeak-ng CLI on the whole text, then one ffmpeg MP3 encode (64 kbps, 44.1 kHz,
 *     compression_level 7, no loudness) with the bundled ffmpeg; without the espeak-ng CLI, the same
 *     engine as briefcast (WebAssembly) on the whole text in one call (said so in the output)
 *   - cold `briefcast render` (a real CLI process, empty cache): wall and CPU ratios to naive
 *   - re-render after changing one paragraph: from the CLI, and in a running service (warm engine)
 *   - 5, 20 and 60 minute inputs (the corpus text repeated, each copy numbered so no clip repeats):
 *     seconds of CPU per minute of audio, peak RSS of the process tree (goal < 200 MB)
 * Each figure twice: with the bundled ffmpeg (@ffmpeg-installer) and with Debian's ffmpeg on PATH (a
 * "skipped" line when there is none). Naive and the cold renders alternate, BENCH_RENDER_RUNS times
 * (default 5), and so do naive and the CLI re-renders; a ratio is the median of the per-run ratios
 * (each run against the naive run beside it), all runs are printed. BENCH_RENDER_MAX_MINUTES=20 skips
 * the 60-minute render.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, promises as fs, readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
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
async function timed(cmd: string[], env: NodeJS.ProcessEnv, cwd: string, sampleRss = false, raw = false): Promise<{ ms: number; peakRss: number; stdout: string; cpuSec?: number }> {
  const started = performance.now()
  const cpuFile = path.join(cwd, `.cpu-${Math.random().toString(16).slice(2)}`)
  // The CLI runs as users run it, as a program (bin/briefcast.js picks node's flags itself); scripts through node.
  const argv = cmd[0] === bin || raw ? cmd : [process.execPath, ...cmd]
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

/**
 * Renders `before` then times rendering `after` with the same warm speech service, loudness meter and
 * encoder threads, as the service's render process keeps them.
 */
async function warmRerender(work: string, env: Record<string, string>, before: string, after: string): Promise<{ ms: number; encoded: number; synthesized: number }> {
  const { loadConfig } = await import('../src/config.ts')
  const { createSpeechService } = await import('../src/tts/index.ts')
  const { articleToScript } = await import('../src/script/index.ts')
  const { createFfmpeg, locateFfmpeg, spawnRunner } = await import('../src/audio/ffmpeg.ts')
  const { createLoudnessMeter } = await import('../src/audio/loudness-meter.ts')
  const { createMp3Encoder } = await import('../src/audio/mp3-encoder.ts')
  const { renderEpisode } = await import('../src/episodes/render.ts')
  const config = loadConfig({ env: { ...env, BRIEFCAST_CACHE_DIR: path.join(work, `cache-warm-${Math.random().toString(16).slice(2)}`) }, cwd: work })
  const speech = await createSpeechService(config)
  const meter = createLoudnessMeter()
  const encoder = createMp3Encoder({ threads: config.audio.encodeConcurrency })
  try {
    const ffmpeg = await createFfmpeg(config, spawnRunner, locateFfmpeg({ ...process.env, ...env }))
    const profile = speech.getProfile('default')
    const scriptOf = (file: string) => articleToScript({ content: readFileSync(file), format: 'text' }, { ...speech.limitsFor(profile), pauses: profile.pauses })
    const deps = { speech, ffmpeg, config, meter, encoder }
    await renderEpisode(scriptOf(before), profile, deps)
    const started = performance.now()
    const r = await renderEpisode(scriptOf(after), profile, deps)
    return { ms: performance.now() - started, encoded: r.stats.encoded, synthesized: r.stats.synthesized }
  } finally {
    await Promise.all([speech.close(), meter.close(), encoder.close()])
  }
}

const cpu = (r: { cpuSec?: number }) => (r.cpuSec === undefined ? '' : `  cpu ${r.cpuSec.toFixed(1)} s`)
const fmt = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`

/** ffmpeg and ffprobe on PATH (not the npm ones), e.g. Debian's in /usr/bin. */
function systemFfmpeg(): { ffmpeg: string; ffprobe: string } | undefined {
  const find = (name: string) =>
    (process.env.PATH ?? '')
      .split(path.delimiter)
      .map((dir) => path.join(dir, name))
      .find((f) => existsSync(f) && !f.includes('node_modules'))
  const ffmpeg = find('ffmpeg')
  const ffprobe = find('ffprobe')
  return ffmpeg && ffprobe ? { ffmpeg, ffprobe } : undefined
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function main() {
  // Compile src/ first (bin/build.js), so no timed run below pays for a build.
  execFileSync(process.execPath, [path.join(root, 'bin', 'build.js')], { stdio: 'ignore' })
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-bench-render-'))
  const cleanups: (() => Promise<void>)[] = []
  try {
    const voices = path.join(work, 'voices')
    await fs.mkdir(voices)
    await fs.writeFile(path.join(voices, 'default.json'), JSON.stringify({ engine: 'espeak-ng', language: 'en-US', voices: { body: { language: 'en-US' } } }))
    const text = readFileSync(corpusFile, 'utf8')
    const page = path.join(work, 'page.txt')
    await fs.writeFile(page, text)
    const cli = (input: string, out: string) => [bin, 'render', input, '-o', out, '--quiet']
    console.log(`corpus page: ${path.basename(corpusFile)} (${text.length} chars), ${os.availableParallelism()} cores, load average before: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)

    const require = createRequire(import.meta.url)
    const npmFfmpeg = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path
    const npmFfprobe = (require('@ffprobe-installer/ffprobe') as { path: string }).path
    const system = systemFfmpeg()
    type Setup = { label: string; env: Record<string, string> }
    const base = { BRIEFCAST_VOICES_DIR: voices }
    const setups: Setup[] = [{ label: 'bundled ffmpeg', env: { ...base, FFMPEG_PATH: npmFfmpeg, FFPROBE_PATH: npmFfprobe } }]
    if (system) setups.push({ label: `system ffmpeg (${system.ffmpeg})`, env: { ...base, FFMPEG_PATH: system.ffmpeg, FFPROBE_PATH: system.ffprobe } })

    // The naive pipeline: Debian's espeak-ng CLI, else the same engine as briefcast bundled like the CLI.
    const espeakCli = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'espeak-ng')).find((f) => existsSync(f))
    let naiveCmd: string[]
    let naiveRaw = false
    let naiveLabel: string
    if (espeakCli) {
      const script = `"$0" -v en-us -f "$1" -w naive.wav && "$2" -hide_banner -nostdin -loglevel error -y -i naive.wav -ar 44100 -ac 1 -c:a libmp3lame -b:a 64k -compression_level 7 naive.mp3 && rm -f naive.wav`
      naiveCmd = ['/bin/sh', '-c', script, espeakCli, page, npmFfmpeg]
      naiveRaw = true
      naiveLabel = 'naive (espeak-ng CLI whole text + one ffmpeg encode, no loudness)'
    } else {
      const naiveDir = path.join(root, 'dist', `.bench-naive-${process.pid}`)
      await fs.mkdir(naiveDir, { recursive: true })
      const esbuild = await import('esbuild')
      await esbuild.build({ entryPoints: [path.join(root, 'bench', 'naive-render.ts')], outfile: path.join(naiveDir, 'naive-render.mjs'), bundle: true, packages: 'external', format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent' })
      await esbuild.stop()
      // As bin/build.js does: the engine's plain-JS and WebAssembly files, as they are.
      for (const f of await fs.readdir(path.join(root, 'src', 'tts'))) if (/\.(mjs|cjs|wasm)$/.test(f)) await fs.copyFile(path.join(root, 'src', 'tts', f), path.join(naiveDir, f))
      cleanups.push(() => fs.rm(naiveDir, { recursive: true, force: true }))
      naiveCmd = [path.join(naiveDir, 'naive-render.mjs'), page, path.join(work, 'naive.mp3')]
      naiveLabel = 'naive (no espeak-ng CLI: WebAssembly engine whole text + one ffmpeg encode, no loudness)'
    }

    const RUNS = Number(process.env.BENCH_RENDER_RUNS ?? 5)
    type Timed = Awaited<ReturnType<typeof timed>>
    const med = (runs: Timed[]) => ({ ms: median(runs.map((r) => r.ms)), cpuSec: runs.every((r) => r.cpuSec !== undefined) ? median(runs.map((r) => r.cpuSec!)) : undefined })
    const all = (runs: Timed[]) => (runs.length > 1 ? `  (runs: ${runs.map((r) => fmt(r.ms) + (r.cpuSec === undefined ? '' : `/${r.cpuSec.toFixed(1)}`)).join(', ')})` : '')
    const naiveRuns: Timed[] = []
    const coldRuns = setups.map(() => [] as Timed[])
    const cacheOf = (k: number) => path.join(work, `cache-${k}`)
    // Alternating: naive, then each setup's cold render, RUNS times.
    for (let r = 0; r < RUNS; r++) {
      naiveRuns.push(await timed(naiveCmd, { FFMPEG_PATH: npmFfmpeg, FFPROBE_PATH: npmFfprobe }, work, false, naiveRaw))
      for (const [k, setup] of setups.entries()) {
        // Each cold run starts from an empty cache; the last one's cache is the one the re-render edits.
        await fs.rm(cacheOf(k), { recursive: true, force: true })
        coldRuns[k]!.push(await timed(cli(page, `cold-${k}.mp3`), { ...setup.env, BRIEFCAST_CACHE_DIR: cacheOf(k) }, work))
      }
    }
    const naive = med(naiveRuns)
    const audioMin = summaryMinutes(coldRuns[0]![0]!.stdout) ?? 5
    console.log(`${naiveLabel}: ${fmt(naive.ms)}${cpu(naive)}${all(naiveRuns)}`)
    // The ratios are medians of per-run ratios, each run against the naive run beside it: this machine's
    // speed drifts by a quarter within minutes (the naive CPU seconds of one run: 3.2 to 5.0 s), which
    // moves a ratio of two medians taken minutes apart more than the changes it is meant to show.
    const pairRatio = (runs: Timed[], naives: Timed[], of: (r: Timed) => number | undefined) => {
      const rs = runs.map((r, i) => {
        const a = of(r)
        const b = of(naives[i]!)
        return a === undefined || b === undefined || !b ? undefined : a / b
      })
      return rs.every((x) => x !== undefined) ? median(rs as number[]).toFixed(2) : 'n/a'
    }
    const ratio = (runs: Timed[], naives: Timed[]) => pairRatio(runs, naives, (r) => r.ms)
    const cpuRatio = (runs: Timed[], naives: Timed[]) => pairRatio(runs, naives, (r) => r.cpuSec)

    const paragraphs = text.split(/\n\s*\n/)
    const i = paragraphs.findIndex((p, k) => k > 2 && p.length > 200)
    paragraphs[i] = paragraphs[i]!.replace(/\.\s*$/, ', as the editors added today.')
    const edited = path.join(work, 'edited.txt')
    await fs.writeFile(edited, paragraphs.join('\n\n'))

    if (!system) console.log('system ffmpeg: skipped: no system ffmpeg on PATH (apt-get install ffmpeg to compare)')
    for (const [k, setup] of setups.entries()) {
      console.log(`-- ${setup.label}`)
      const cold = med(coldRuns[k]!)
      console.log(`cold briefcast render:                  ${fmt(cold.ms)}${cpu(cold)}  wall ratio ${ratio(coldRuns[k]!, naiveRuns)} (goal <= 0.6), cpu ratio ${cpuRatio(coldRuns[k]!, naiveRuns)} (goal <= 1.5)${all(coldRuns[k]!)}`)
      // Each re-render starts from a copy of the cold render's cache (the edit not yet rendered), alternating
      // with a naive run of its own.
      const rerenderRuns: Timed[] = []
      const rerenderNaive: Timed[] = []
      for (let r = 0; r < RUNS; r++) {
        const copy = path.join(work, `cache-edit-${k}-${r}`)
        await fs.cp(cacheOf(k), copy, { recursive: true })
        rerenderNaive.push(await timed(naiveCmd, { FFMPEG_PATH: npmFfmpeg, FFPROBE_PATH: npmFfprobe }, work, false, naiveRaw))
        rerenderRuns.push(await timed(cli(edited, `edited-${k}.mp3`), { ...setup.env, BRIEFCAST_CACHE_DIR: copy }, work))
        await fs.rm(copy, { recursive: true, force: true })
      }
      const rerender = med(rerenderRuns)
      console.log(`re-render after one paragraph changed:  ${fmt(rerender.ms)}${cpu(rerender)}  wall ratio ${ratio(rerenderRuns, rerenderNaive)} (goal <= 0.2), cpu ratio ${cpuRatio(rerenderRuns, rerenderNaive)}${all(rerenderRuns)}  (naive beside them: ${all(rerenderNaive).trim()})`)
      // The service path: an editor fixes a paragraph and the running service (warm engine) re-renders.
      const warm = await warmRerender(work, setup.env, page, edited)
      console.log(`re-render in a running service (warm):  ${fmt(warm.ms)}  wall ratio ${(warm.ms / naive.ms).toFixed(2)} (goal <= 0.1)  (${warm.encoded} piece encoded, ${warm.synthesized} synthesized)`)

      const maxMinutes = Number(process.env.BENCH_RENDER_MAX_MINUTES ?? 60)
      for (const minutes of [5, 20, 60].filter((m) => m <= maxMinutes)) {
        const copies = Math.max(1, Math.round(minutes / audioMin))
        const long = path.join(work, `long-${minutes}.txt`)
        await fs.writeFile(long, Array.from({ length: copies }, (_, n) => text.replace(/\n\n/g, ` Part ${n + 1}.\n\n`)).join('\n\n'))
        const cache = path.join(work, `cache-long-${k}-${minutes}`)
        const r = await timed(cli(long, `long-${minutes}.mp3`), { ...setup.env, BRIEFCAST_CACHE_DIR: cache }, work, true)
        const m = summaryMinutes(r.stdout) ?? minutes
        const cpuPerMin = r.cpuSec === undefined ? 'n/a' : `${(r.cpuSec / m).toFixed(2)} s`
        console.log(`render ${m.toFixed(1).padStart(5)} min of audio: ${fmt(r.ms).padStart(8)}${cpu(r)}  cpu per audio minute ${cpuPerMin}  peak RSS (process tree) ${mb(r.peakRss)} (goal < 200 MB)`)
        await fs.rm(cache, { recursive: true, force: true })
      }
    }
    console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores (wall-time ratios need an idle machine; CPU ratios hold better)`)
  } finally {
    for (const c of cleanups) await c()
    await fs.rm(work, { recursive: true, force: true })
  }
}

await main()
