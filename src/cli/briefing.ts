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
import { parseArgs } from 'node:util'
import { composeBriefing, type BriefingStory, type StoryMode } from '../episodes/briefing.ts'
import { AppError, toAppError } from '../errors.ts'
import type { Script } from '../script/types.ts'
import type { VoiceProfile } from '../tts/types.ts'
import { episodeOutputs, formatDuration, formatFromName, loadRenderConfig, startEpisodeSession } from './episode-session.ts'

const HELP = `usage: briefcast briefing <files...> -o out.mp3 [options]

  Join several articles (HTML, Markdown, text or JSON files) into one briefing
  episode: a spoken opening with the show's name and the date, each story's
  title and text, a transition between stories, a closing line; one chapter
  per story. Also writes <out>.vtt (transcript) and <out>.chapters.json.

options:
  -o, --output FILE       output audio file (.mp3 or .m4a)
      --title TITLE       episode title (default: "<show>: <date>")
      --show NAME         show name spoken in the opening (default: config show.title)
      --mode full|lede    read whole stories or only their ledes (default: config briefing.storyMode)
      --lede-seconds N    lede time budget per story (default: config briefing.ledeSeconds)
  -v, --voice PROFILE     voice profile (default: the profile for the first story's language)
      --date ISO          the day named in the opening (default: now)
      --intro FILE        intro jingle (overrides the profile's)
      --outro FILE        outro jingle (overrides the profile's)
      --allow-partial     leave out files that fail to convert or are in another language
  -c, --config FILE       config file
  -q, --quiet             no progress bar or summary
`

const primary = (lang: string) => lang.toLowerCase().split(/[-_]/)[0] ?? lang

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      title: { type: 'string' },
      show: { type: 'string' },
      mode: { type: 'string' },
      'lede-seconds': { type: 'string' },
      voice: { type: 'string', short: 'v' },
      date: { type: 'string' },
      intro: { type: 'string' },
      outro: { type: 'string' },
      'allow-partial': { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  if (positionals.length === 0 || !values.output) {
    process.stderr.write(HELP)
    return 2
  }
  const config = loadRenderConfig(values.config)
  const mode = (values.mode ?? config.briefing.storyMode) as StoryMode
  if (mode !== 'full' && mode !== 'lede') throw new AppError('VALIDATION_FAILED', `--mode must be full or lede, not "${values.mode}".`)
  const ledeSeconds = values['lede-seconds'] === undefined ? config.briefing.ledeSeconds : Number(values['lede-seconds'])
  if (!Number.isFinite(ledeSeconds) || ledeSeconds < 5) throw new AppError('VALIDATION_FAILED', `--lede-seconds must be a number of seconds (5 or more), not "${values['lede-seconds']}".`)
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
    if (problems.length > 0 && !values['allow-partial'])
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
      if (primary(language) !== primary(profile!.language)) {
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
    if (!values.quiet) {
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
