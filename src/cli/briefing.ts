/**
 * `briefcast briefing <files...> -o out.mp3 [--title T] [--mode full|lede] [--lede-seconds N]
 *   [--voice PROFILE] [--date ISO] [--intro FILE] [--outro FILE] [--allow-partial]`
 *
 * Several articles to one briefing episode: articleToScript for each file,
 * composeBriefing (spoken opening with the show's name and the date, each
 * story's title and text, transitions, closing; one chapter per story), then
 * renderEpisode. Writes out.mp3 (or .m4a), out.vtt and out.chapters.json, each
 * through a temp name and a rename, so an interrupted run leaves nothing
 * half-written at the output paths.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { composeBriefing, type BriefingStory, type StoryMode } from '../episodes/briefing.ts'
import { AppError, toAppError } from '../errors.ts'
import type { Script } from '../script/types.ts'
import type { VoiceProfile } from '../tts/types.ts'
import { flag, num, str, type ParsedArgs } from './spec.ts'
import { episodeOutputs, episodeSummary, formatDuration, formatFromName, loadRenderConfig, startEpisodeSession } from './episode-session.ts'
import { primaryLanguage } from '../script/language.ts'


export async function run(args: ParsedArgs): Promise<number> {
  const values = {
    output: str(args, 'output')!,
    title: str(args, 'title'),
    show: str(args, 'show'),
    mode: str(args, 'mode'),
    ledeSeconds: num(args, 'lede-seconds'),
    voice: str(args, 'voice'),
    date: str(args, 'date'),
    intro: str(args, 'intro'),
    outro: str(args, 'outro'),
    allowPartial: flag(args, 'allow-partial'),
    config: str(args, 'config'),
    voices: str(args, 'voices'),
    json: flag(args, 'json'),
    quiet: flag(args, 'quiet') || flag(args, 'json'),
  }
  const positionals = args.positionals
  const config = loadRenderConfig(values.config, values.voices)
  const mode = (values.mode ?? config.briefing.storyMode) as StoryMode
  if (mode !== 'full' && mode !== 'lede') throw new AppError('VALIDATION_FAILED', `--mode must be full or lede, not "${values.mode}".`)
  const ledeSeconds = values.ledeSeconds ?? config.briefing.ledeSeconds
  const date = values.date ? new Date(values.date) : new Date()
  if (Number.isNaN(date.getTime())) throw new AppError('VALIDATION_FAILED', `--date must be an ISO date, not "${values.date}".`)

  const started = Date.now()
  const outputs = await episodeOutputs(values.output, undefined, config.audio.format)
  for (const jingle of [values.intro, values.outro]) {
    if (jingle && !(await fs.stat(jingle).catch(() => undefined))?.isFile()) throw new AppError('INVALID_AUDIO', `The jingle ${jingle} does not exist.`)
  }

  const { articleToScript } = await import('../script/index.ts')
  const scriptFor = (content: Buffer, file: string, limits?: { targetChars: number; maxBytes: number; pauses: VoiceProfile['pauses'] }): Script =>
    articleToScript({ content, format: formatFromName(file) }, limits ?? {})

  // Read and convert every file before starting the speech engines: bad input fails in a second, not after start-up.
  const problems: string[] = []
  const converted: { file: string; content: Buffer; language: string }[] = []
  for (const file of positionals) {
    let content: Buffer
    try {
      content = await fs.readFile(file)
    } catch (err) {
      throw new AppError('NOT_FOUND', `Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { help: 'Give the paths of article files.' })
    }
    try {
      converted.push({ file, content, language: scriptFor(content, file).language })
    } catch (err) {
      const e = toAppError(err)
      problems.push(`${file}: ${e.code}: ${e.message}`)
    }
  }
  const refuse = () => {
    if (problems.length > 0 && !values.allowPartial)
      throw new AppError('BRIEFING_EMPTY', `Some files cannot go in the briefing:\n  - ${problems.join('\n  - ')}`, {
        help: 'Fix or leave out those files, or pass --allow-partial to make a briefing of the rest.',
      })
  }
  refuse()

  const session = startEpisodeSession(config, { label: 'briefing', quiet: values.quiet })
  try {
    const speech = await session.speech
    // The voice: --voice, else the profile for the first story's language; stories are segmented with its limits and pauses.
    const profile: VoiceProfile | undefined = values.voice ? speech.getProfile(values.voice) : converted[0] ? speech.profileForLanguage(converted[0].language) : undefined
    const stories: BriefingStory[] = []
    for (const { file, content, language } of profile ? converted : []) {
      if (primaryLanguage(language) !== primaryLanguage(profile!.language)) {
        problems.push(`${file}: in ${language}, the briefing in ${profile!.language}`)
        continue
      }
      const limits = speech.limitsFor(profile!)
      stories.push({ script: scriptFor(content, file, { ...limits, pauses: profile!.pauses }), mode, ledeSeconds })
    }
    refuse()
    if (problems.length > 0 && !values.quiet) process.stderr.write(`left out:\n  - ${problems.join('\n  - ')}\n`)
    if (stories.length === 0 || !profile) throw new AppError('BRIEFING_EMPTY', 'None of the files can go in a briefing.')

    const script = composeBriefing({
      show: values.show ?? config.show.title,
      date,
      timeZone: config.briefing.timeZone,
      language: profile.language,
      stories,
      ...(values.title ? { title: values.title } : {}),
    })
    const voice: VoiceProfile = {
      ...profile,
      ...(values.intro ? { intro: path.resolve(values.intro) } : {}),
      ...(values.outro ? { outro: path.resolve(values.outro) } : {}),
    }
    const result = await session.render(script, voice, outputs, { title: script.title, album: values.show ?? config.show.title, artist: config.show.author, date: date.toISOString().slice(0, 10) })
    if (values.json) process.stdout.write(`${JSON.stringify({ ...episodeSummary(outputs, result, Date.now() - started), stories: stories.length, leftOut: problems }, null, 2)}\n`)
    else if (!values.quiet) {
      const l = result.loudness
      process.stdout.write(
        `${path.relative(process.cwd(), outputs.audio) || outputs.audio}: ${formatDuration(result.durationMs)}, ${stories.length} stories, ` +
          `${l.integratedLufs.toFixed(1)} LUFS / ${l.truePeakDb.toFixed(1)} dBTP, chapters: ${result.chapters.map((c) => `"${c.title}"`).join(', ')}; ` +
          `${result.stats.segments} segments (${result.stats.synthesized} synthesized, ${result.stats.cached} cached), ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      )
    }
    return 0
  } catch (err) {
    throw session.failure(err, 'Briefing')
  } finally {
    await session.close()
  }
}
