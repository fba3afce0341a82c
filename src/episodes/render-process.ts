/**
 * The render child process: synthesis (espeak-ng worker threads), loudness,
 * MP3 encoding (worker threads) and ffmpeg all run here, at a lower CPU priority, so the service process
 * only serves HTTP and coordinates jobs. On a small machine a render would
 * otherwise take the cores the event loop needs (bench/http.bench.ts).
 *
 * Articles and briefings both render here (the service composes a briefing's
 * script; the render of it, like an article's, is this process's work).
 *
 * Protocol (IPC, JSON): parent -> {type:'init', config} | {type:'render', id, script, profileId, profile?, lexicon?, pieces?, options}
 * | {type:'abort', id}; child -> {type:'ready'} | {type:'progress'|'piece'|'done'|'error', id, ...} | {type:'usage', engine,
 * characters} (a cloud engine's billed characters); 'done' carries this
 * process's pid (the service reports which process rendered).
 */
import { readdirSync } from 'node:fs'
import os from 'node:os'
import type { Config } from '../config.ts'
import type { LoudnessMeter } from '../audio/loudness-meter.ts'
import type { EncodedPiece } from './types.ts'
import type { Lexicon, Script } from '../script/types.ts'
import type { VoiceProfile } from '../tts/types.ts'

// Threads inherit the nice value of the thread that creates them (Linux), so lowering it here first makes the
// speech workers and ffmpeg children started below run at this priority. Threads that already exist (V8's
// platform threads, libuv's pool, started while the loader ran) are lowered one by one through /proc.
const RENDER_NICE = 10
function lowerPriority(): void {
  try {
    os.setPriority(RENDER_NICE)
  } catch {}
  let tids: string[] = []
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return // not Linux
  }
  for (const tid of tids) {
    try {
      os.setPriority(Number(tid), RENDER_NICE)
    } catch {}
  }
}
lowerPriority()

// A stray rejection inside an engine's client library must not take every render in flight down with it;
// the render that caused it still fails (or times out) through its own promise.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`briefcast render process: unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`)
})

const { createSpeechService } = await import('../tts/index.ts')
const { createFfmpeg } = await import('../audio/ffmpeg.ts')
const { createMp3Encoder } = await import('../audio/mp3-encoder.ts')
const { renderEpisode } = await import('./render.ts')
const { toAppError } = await import('../errors.ts')
const { remoteBlobStore } = await import('../storage/index.ts')
const { publishOutputs } = await import('../storage/publish.ts')

type Msg =
  | { type: 'init'; config: Config }
  | {
      type: 'render'
      id: number
      script: Script
      profileId: string
      /** The profile as the service resolved it (e.g. with a briefing's jingles); else looked up by id here. */
      profile?: VoiceProfile
      /** The lexicon to speak with (the service's editable copy), by the name profiles use. */
      lexicon?: { name: string; lexicon: Lexicon }
      /** Send each encoded piece (articles stream them; briefings do not). Default true. */
      pieces?: boolean
      options: { format?: 'mp3' | 'm4a'; metadata?: Record<string, string | undefined> }
    }
  | { type: 'abort'; id: number }

let tools: Promise<{ blobs: ReturnType<typeof remoteBlobStore>; speech: Awaited<ReturnType<typeof createSpeechService>>; ffmpeg: Awaited<ReturnType<typeof createFfmpeg>>; meter: LoudnessMeter; encoder: ReturnType<typeof createMp3Encoder>; config: Config }> | undefined
const controllers = new Map<number, AbortController>()
const send = (m: unknown) => {
  if (process.connected) process.send!(m)
}
const errorJson = (err: unknown) => {
  const e = toAppError(err)
  return { code: e.code, message: e.message, status: e.status, help: e.help, details: e.details }
}

process.on('message', (msg: Msg) => {
  if (msg.type === 'init') {
    tools = (async () => {
      const config = msg.config
      // Cloud engines' billed characters go to the service, which records them (tts/usage.ts).
      const onUsage = (u: { engine: string; characters: number }) => send({ type: 'usage', engine: u.engine, characters: u.characters })
      if (config.redis.url) {
        // Several workers: cloud engines' requests per minute are counted for the whole fleet, in Redis.
        const { openFleet } = await import('../fleet/redis.ts')
        const { redisRateLimiter } = await import('../fleet/rate-limit.ts')
        const { useSharedLimits } = await import('../tts/cloud.ts')
        const line = (level: string) => (obj: object, msg?: string) => process.stderr.write(`briefcast render process: ${level}: ${msg ?? ''} ${JSON.stringify(obj)}\n`)
        const fleet = openFleet(config.redis.url, config.redis.prefix, { warn: line('warn'), info: line('info') })
        useSharedLimits((engine, rpm) => redisRateLimiter(fleet, engine, rpm))
      }
      // Object storage (BRIEFCAST_STORAGE_URL): clips and pieces read and write through it, episodes are published to it.
      const blobs = remoteBlobStore(config)
      const [speech, ffmpeg] = await Promise.all([createSpeechService(config, { onUsage, ...(blobs ? { blobs } : {}) }), createFfmpeg(config)])
      // Start the default language's engine now (workers, voice data): the first reader should not wait for it.
      // 'ready' waits for its first worker thread too (espeak-ng's ready()): a `briefcast worker` takes jobs only then.
      try {
        const engine = await speech.engine(speech.profileForLanguage(config.show.language).engine)
        if ('ready' in engine && typeof engine.ready === 'function') await (engine as { ready(): Promise<void> }).ready()
      } catch {}
      // The encoder threads measure loudness too (encoder.meter): no loudness thread of its own.
      const encoder = createMp3Encoder({ threads: config.audio.encodeConcurrency })
      return { blobs, speech, ffmpeg, meter: encoder.meter, encoder, config }
    })()
    tools.then(
      () => {
        lowerPriority() // threads started during init by other threads than ours
        send({ type: 'ready' })
      },
      (err) => send({ type: 'init-error', error: errorJson(err) }),
    )
    return
  }
  if (msg.type === 'abort') {
    controllers.get(msg.id)?.abort()
    return
  }
  const { id } = msg
  const controller = new AbortController()
  controllers.set(id, controller)
  void (async () => {
    try {
      const t = await tools!
      const profile = msg.profile ?? t.speech.getProfile(msg.profileId)
      if (msg.lexicon) t.speech.useLexicon(msg.lexicon.name, msg.lexicon.lexicon)
      const result = await renderEpisode(msg.script, profile, t, {
        ...msg.options,
        signal: controller.signal,
        onProgress: (progress) => send({ type: 'progress', id, progress }),
        ...(msg.pieces !== false ? { onPiece: (piece: EncodedPiece) => send({ type: 'piece', id, piece }) } : {}),
      })
      // Publish to storage: every file is in the bucket before 'done', so the episode row never points at a missing object.
      if (t.blobs) await publishOutputs(t.blobs, t.config.cacheDir, result, controller.signal)
      send({ type: 'done', id, result, pid: process.pid })
    } catch (err) {
      send({ type: 'error', id, error: errorJson(err) })
    } finally {
      controllers.delete(id)
    }
  })()
})

// The service went away (even by SIGKILL: the IPC channel closes): abort renders so ffmpeg children are killed, then exit.
process.on('disconnect', () => {
  for (const c of controllers.values()) c.abort()
  setTimeout(() => process.exit(0), 200).unref()
  void tools?.then((t) => Promise.allSettled([t.speech.close(), t.meter.close(), t.encoder.close(), t.blobs?.close()])).finally(() => process.exit(0))
})
