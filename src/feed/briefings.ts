/**
 * Briefings in the service: pick the articles, compose the script (a
 * snapshot), render it through the durable job queue ('render-briefing'),
 * publish the episode, and list briefings for the feed.
 *
 * Composing happens here, in the service; rendering (synthesis of the host
 * lines, encoding, the join) goes through the same render function as
 * articles (deps.renders.render): in the service that is the render child
 * process, at idle CPU priority, so a briefing never competes with serving.
 * The child shares the clip cache, so the stories' clips are reused.
 *
 * Which articles can go in a briefing: any article that exists, has not failed
 * its last render, and speaks the briefing's language. Unknown ids, failed
 * articles and other languages are an error naming the ids, unless the caller
 * sends allowPartial, which makes a briefing of the rest (listed as `skipped`).
 */
import path from 'node:path'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import { composeBriefing, dayInZone, type BriefingStory, type StoryMode } from '../episodes/briefing.ts'
import { episodeFields, removeEpisodeFiles, type RenderFn } from '../episodes/render-coordinator.ts'
import type { JobContext } from '../episodes/jobs.ts'
import type { AppDeps } from '../http/deps.ts'
import type { Script } from '../script/types.ts'
import { sourceStoryMode } from '../sources/store.ts'
import type { ArticleRecord, EpisodeRecord } from '../store/types.ts'
import type { SpeechService, VoiceProfile } from '../tts/types.ts'
import { briefingRepository, type BriefingOptions, type BriefingRecord, type BriefingStoryRef, type SkippedStory } from './briefing-store.ts'
import type { FeedItem } from './build.ts'
import { escapeHtml } from './text.ts'
import { primaryLanguage } from '../script/language.ts'

export const RENDER_BRIEFING = 'render-briefing'

export interface BriefingStoryRequest {
  /** Article id, or the site's externalId. */
  articleId: string
  mode?: StoryMode
  ledeSeconds?: number
  /** Title to read (and name the chapter) instead of the article's. */
  title?: string
}

export interface CreateBriefingRequest {
  /** Stories in order, each with its own mode... */
  stories?: BriefingStoryRequest[]
  /** ...or just ids (the same mode for all)... */
  articleIds?: string[]
  /** ...or every article published in the last N hours (newest first, at most maxStories). */
  sinceHours?: number
  maxStories?: number
  title?: string
  /** Default mode for stories that do not set one (config.briefing.storyMode). */
  mode?: StoryMode
  ledeSeconds?: number
  /** Make a briefing of the usable stories when some ids are unknown, failed or in another language. */
  allowPartial?: boolean
  /** Voice profile id; defaults to the first story's profile (so cached clips are reused). */
  voice?: string
  language?: string
  /** The day the opening names (ISO date-time); default now. */
  date?: string
  introJingle?: string
  outroJingle?: string
}

export interface BriefingServiceOptions {
  /** Defaults to the articles' render function (deps.renders.render): the render child process in the service. */
  render?: RenderFn
  /** Clock, for the schedule and tests. */
  now?: () => Date
}


export class BriefingService {
  readonly #deps: AppDeps
  readonly #opts: BriefingServiceOptions
  readonly #render: RenderFn

  constructor(deps: AppDeps, options: BriefingServiceOptions = {}) {
    this.#deps = deps
    this.#opts = options
    this.#render = options.render ?? deps.renders.render
    deps.jobs.register(RENDER_BRIEFING, (ctx) => this.#handle(ctx), {
      onRetry: (job, error) => this.#safe(() => this.repo.setStatus(job.subjectId, 'queued', { error })),
      onFailed: (job, error) => this.#safe(() => this.repo.setStatus(job.subjectId, 'failed', { error })),
    })
  }

  get repo() {
    return briefingRepository(this.#deps.store.db)
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date()
  }

  #safe(fn: () => void): void {
    try {
      if (this.#deps.store.isOpen()) fn()
    } catch (err) {
      this.#deps.logger.error({ err }, 'updating briefing status failed')
    }
  }

  #findArticle(id: string): ArticleRecord | undefined {
    const { articles } = this.#deps.store
    return articles.get(id) ?? articles.getByExternalId(id)
  }

  /** Articles published (or, without a date, added) in the last `hours`, newest first. */
  recentArticles(hours: number, now = this.#now()): ArticleRecord[] {
    const cutoff = now.getTime() - hours * 3_600_000
    const seen = new Map<string, ArticleRecord>()
    const pageSize = 200
    // listPublished orders by the stored date strings; dates with offsets may sort slightly out of
    // order, so page on past the cutoff by a day before stopping, and cap the scan.
    for (let offset = 0; offset < 5000; offset += pageSize) {
      const page = this.#deps.store.episodes.listPublished({ limit: pageSize, offset })
      let older = 0
      for (const { article } of page) {
        const t = Date.parse(article.publishedAt ?? article.createdAt)
        if (Number.isNaN(t) || t < cutoff) {
          if (!Number.isNaN(t) && t < cutoff - 86_400_000) older++
          continue
        }
        if (t <= now.getTime()) seen.set(article.id, article)
      }
      if (page.length < pageSize || older === page.length) break
    }
    // Articles without a first episode yet (just added, still rendering) count too.
    const { items } = this.#deps.store.articles.list({ limit: 500, offset: 0 })
    for (const a of items) {
      const t = Date.parse(a.publishedAt ?? a.createdAt)
      if (!Number.isNaN(t) && t >= cutoff && t <= now.getTime() && a.status !== 'failed') seen.set(a.id, a)
    }
    return [...seen.values()]
      .filter((a) => a.status !== 'failed')
      .sort((a, b) => Date.parse(b.publishedAt ?? b.createdAt) - Date.parse(a.publishedAt ?? a.createdAt) || (a.id < b.id ? -1 : 1))
  }

  /** Validate the request, compose the script and queue the render. */
  create(req: CreateBriefingRequest, origin: 'api' | 'schedule' = 'api'): BriefingRecord {
    const { config, store, speech } = this.#deps
    const cfg = config.briefing
    const date = req.date ? new Date(req.date) : this.#now()
    if (Number.isNaN(date.getTime())) throw new AppError('VALIDATION_FAILED', `"date" is not a date: ${req.date}`, { details: { field: 'date' } })
    const language = req.language ?? config.show.language
    const defaultMode = req.mode ?? cfg.storyMode
    const defaultLede = req.ledeSeconds ?? cfg.ledeSeconds

    let wanted: BriefingStoryRequest[]
    if (req.stories) wanted = req.stories
    else if (req.articleIds) wanted = req.articleIds.map((articleId) => ({ articleId }))
    else if (req.sinceHours !== undefined) {
      const recent = this.recentArticles(req.sinceHours, date).filter((a) => primaryLanguage(a.language) === primaryLanguage(language))
      // A story from a source with its own storyMode (docs/publishing.md) keeps that mode unless the request sets one.
      wanted = recent.slice(0, req.maxStories ?? cfg.maxStories).map((a) => {
        const mode = req.mode ? undefined : sourceStoryMode(store.db, a.id)
        return { articleId: a.id, ...(mode ? { mode } : {}) }
      })
      if (wanted.length === 0)
        throw new AppError('BRIEFING_EMPTY', `No articles in ${language} were published in the last ${req.sinceHours} hours.`, {
          details: { sinceHours: req.sinceHours, language },
        })
    } else {
      throw new AppError('VALIDATION_FAILED', 'Send "stories", "articleIds" or "sinceHours".', { details: { fields: ['stories', 'articleIds', 'sinceHours'] } })
    }

    if (wanted.length === 0) throw new AppError('BRIEFING_EMPTY', 'The briefing has no articles: send at least one article id.')
    const skipped: SkippedStory[] = []
    const chosen: { article: ArticleRecord; req: BriefingStoryRequest }[] = []
    const seen = new Set<string>()
    for (const w of wanted) {
      const article = this.#findArticle(w.articleId)
      if (!article) {
        skipped.push({ articleId: w.articleId, code: 'ARTICLE_NOT_FOUND', message: `No article with id "${w.articleId}".` })
        continue
      }
      if (seen.has(article.id)) continue // the same story twice makes no sense in a digest
      seen.add(article.id)
      if (article.status === 'failed') {
        skipped.push({
          articleId: w.articleId,
          code: 'ARTICLE_FAILED',
          message: `Article "${w.articleId}" failed to render${article.error ? `: ${article.error.code}: ${article.error.message}` : ''}.`,
        })
        continue
      }
      if (primaryLanguage(article.language) !== primaryLanguage(language)) {
        skipped.push({
          articleId: w.articleId,
          code: 'LANGUAGE_MISMATCH',
          message: `Article "${w.articleId}" is in ${article.language}, the briefing in ${language}.`,
        })
        continue
      }
      chosen.push({ article, req: w })
    }
    if (skipped.length > 0 && !req.allowPartial) {
      const missing = skipped.filter((s) => s.code === 'ARTICLE_NOT_FOUND').map((s) => s.articleId)
      const details = { skipped, unknownIds: missing }
      if (missing.length === skipped.length)
        throw new AppError('ARTICLE_NOT_FOUND', `Unknown article ids: ${missing.join(', ')}. Send "allowPartial": true to make a briefing of the rest.`, { details })
      throw new AppError('BRIEFING_EMPTY', `Some articles cannot go in a briefing: ${skipped.map((s) => s.message).join(' ')} Send "allowPartial": true to make a briefing of the rest.`, {
        details,
        help: 'Leave out or re-render the articles named in the details, or send "allowPartial": true.',
      })
    }
    if (chosen.length === 0) throw new AppError('BRIEFING_EMPTY', 'None of the requested articles can go in a briefing.', { details: { skipped } })

    const stories: BriefingStory[] = []
    const refs: BriefingStoryRef[] = []
    for (const { article, req: w } of chosen) {
      const loaded = store.articles.getScript(article.id)
      if (!loaded) throw new AppError('ARTICLE_NOT_FOUND', `Article "${w.articleId}" was deleted meanwhile.`)
      const mode = w.mode ?? defaultMode
      const ledeSeconds = w.ledeSeconds ?? defaultLede
      stories.push({ script: loaded.script, mode, ledeSeconds, ...(w.title ? { title: w.title } : {}) })
      refs.push({ articleId: article.id, externalId: article.externalId, revision: loaded.revision, title: w.title ?? article.title, url: article.url, mode, ledeSeconds })
    }

    const profile = this.#pickProfile(req.voice, chosen.map((c) => c.article), language, speech)
    const options: BriefingOptions = {}
    for (const which of ['introJingle', 'outroJingle'] as const) {
      const id = req[which]
      if (!id) continue
      const asset = store.assets.get(id)
      if (!asset || asset.kind !== 'jingle')
        throw new AppError('VALIDATION_FAILED', `"${which}" must be the id of a jingle uploaded to /api/assets; "${id}" is not.`, { details: { field: which } })
      options[which] = id
    }
    const script = composeBriefing({ show: config.show.title, date, timeZone: cfg.timeZone, language, stories, ...(req.title ? { title: req.title } : {}) })
    // The row and its render job are written together: a crash cannot leave a briefing without a job.
    const record = this.#deps.store.db.transaction(() => {
      const inserted = this.repo.insert({
        title: script.title,
        origin,
        day: origin === 'schedule' ? dayInZone(date, cfg.timeZone) : null,
        language,
        profileId: profile.id,
        stories: refs,
        skipped,
        options,
        script,
        publishedAt: date.toISOString(),
      })
      this.#deps.jobs.enqueue(RENDER_BRIEFING, inserted.id, {})
      return inserted
    })()
    return record
  }

  #pickProfile(voice: string | undefined, articles: ArticleRecord[], language: string, speech: SpeechService): VoiceProfile {
    if (voice) return speech.getProfile(voice)
    // The stories' own profile: their clips are in the cache already.
    for (const a of articles) {
      try {
        const p = speech.getProfile(a.profileId)
        if (primaryLanguage(p.language) === primaryLanguage(language)) return p
      } catch {}
    }
    return speech.profileForLanguage(language)
  }

  /** Render again (e.g. after a failure, or with a new voice profile). */
  rerender(id: string): BriefingRecord {
    const b = this.repo.get(id)
    if (!b) throw new AppError('NOT_FOUND', `No briefing with id "${id}".`)
    this.#deps.store.db.transaction(() => {
      this.repo.setStatus(id, 'queued', { progress: 0, error: null })
      this.#deps.jobs.enqueue(RENDER_BRIEFING, id, {})
    })()
    return this.repo.get(id)!
  }

  async delete(id: string): Promise<boolean> {
    const b = this.repo.get(id)
    if (!b) return false
    this.#deps.jobs.cancel(RENDER_BRIEFING, id)
    const ep = b.episodeId !== null ? this.#deps.store.episodes.get(b.episodeId) : undefined
    this.repo.delete(id)
    if (ep) {
      this.#deps.store.episodes.delete(ep.id)
      await removeEpisodeFiles(this.#deps.config, this.#deps.store, ep)
    }
    return true
  }

  #jinglePath(assetId: string | undefined): string | undefined {
    if (!assetId) return undefined
    const asset = this.#deps.store.assets.get(assetId)
    if (!asset) throw new AppError('VALIDATION_FAILED', `The jingle asset "${assetId}" was deleted; re-create the briefing with another jingle.`)
    return path.resolve(this.#deps.config.cacheDir, asset.file)
  }

  async #handle({ job, signal, setProgress, logger }: JobContext): Promise<void> {
    const { store, config, speech } = this.#deps
    const id = job.subjectId
    const briefing = this.repo.get(id)
    const script = this.repo.getScript(id)
    if (!briefing || !script) return // deleted meanwhile
    this.repo.setStatus(id, 'rendering', { progress: 0, error: null })
    const base = speech.getProfile(briefing.profileId)
    const intro = this.#jinglePath(briefing.options.introJingle)
    const outro = this.#jinglePath(briefing.options.outroJingle)
    const profile: VoiceProfile = { ...base, ...(intro ? { intro } : {}), ...(outro ? { outro } : {}) }
    let last = 0
    const result = await this.#render(
      script,
      profile,
      { speech, ffmpeg: this.#deps.ffmpeg, config },
      {
        format: config.audio.format,
        signal,
        onProgress: (p) => {
          setProgress(p.fraction)
          const t = Date.now()
          if (t - last > 250) {
            last = t
            this.#safe(() => this.repo.setProgress(id, Math.min(0.99, p.fraction)))
          }
        },
        metadata: {
          title: briefing.title,
          artist: config.show.author,
          album: config.show.title,
          date: briefing.publishedAt.slice(0, 10),
        },
      },
    )
    signal.throwIfAborted()
    const rel = (p: string) => path.relative(config.cacheDir, p)
    const previous = briefing.episodeId !== null ? store.episodes.get(briefing.episodeId) : undefined
    const ep = store.db.transaction(() => {
      if (!this.repo.get(id)) return undefined // deleted while rendering
      const inserted = store.episodes.insert({
        articleId: null,
        revision: 1,
        ...episodeFields(result, config.cacheDir),
      })
      this.repo.publishEpisode(id, inserted.id)
      return inserted
    })()
    if (!ep) {
      // Deleted while rendering: drop the files unless another episode shares them.
      const files = { hash: result.hash, audioFile: rel(result.audioPath), vttFile: rel(result.vttPath), chaptersFile: rel(result.chaptersPath), timingsFile: rel(result.timingsPath) }
      await removeEpisodeFiles(config, store, files as EpisodeRecord)
      return
    }
    logger.info({ briefing: id, episode: ep.id, hash: ep.hash, durationMs: ep.durationMs, stats: result.stats }, 'briefing published')
    if (previous && previous.id !== ep.id) {
      store.episodes.delete(previous.id)
      await removeEpisodeFiles(config, store, previous).catch((err) => logger.warn({ err }, 'removing the old briefing episode failed'))
    }
  }

  /** A briefing with its episode, for the API. */
  withEpisode(b: BriefingRecord): { briefing: BriefingRecord; episode: EpisodeRecord | undefined } {
    return { briefing: b, episode: b.episodeId !== null ? this.#deps.store.episodes.get(b.episodeId) : undefined }
  }

  /** Published briefings, newest first, as feed items. */
  feedItems(limit: number): { items: FeedItem[]; lastModified: Date } {
    const urls = briefingUrls(this.#deps.config.publicUrl)
    const items: FeedItem[] = []
    let lastModified = 0
    for (const id of this.repo.listPublishedIds(limit)) {
      const b = this.repo.get(id)
      const ep = b?.episodeId != null ? this.#deps.store.episodes.get(b.episodeId) : undefined
      if (!b || !ep) continue
      lastModified = Math.max(lastModified, Date.parse(b.updatedAt), Date.parse(ep.createdAt), Date.parse(b.publishedAt))
      items.push(briefingFeedItem(b, ep, urls, this.#deps.config))
    }
    return { items, lastModified: new Date(lastModified) }
  }
}

/** Public URLs of a briefing's files: /briefings/:id/:hash.(mp3|m4a|vtt|chapters.json). ASCII, with extensions. */
export function briefingUrls(publicUrl: string) {
  const base = publicUrl.replace(/\/+$/, '')
  const file = (b: { id: string }, ep: { hash: string }, suffix: string) => `${base}/briefings/${encodeURIComponent(b.id)}/${encodeURIComponent(ep.hash)}${suffix}`
  return {
    audio: (b: { id: string }, ep: Pick<EpisodeRecord, 'hash' | 'format'>) => file(b, ep, `.${ep.format}`),
    transcript: (b: { id: string }, ep: Pick<EpisodeRecord, 'hash'>) => file(b, ep, '.vtt'),
    chapters: (b: { id: string }, ep: Pick<EpisodeRecord, 'hash'>) => file(b, ep, '.chapters.json'),
    timings: (b: { id: string }, ep: Pick<EpisodeRecord, 'hash'>) => file(b, ep, '.timings.json'),
  }
}

function briefingFeedItem(b: BriefingRecord, ep: EpisodeRecord, urls: ReturnType<typeof briefingUrls>, config: Config): FeedItem {
  const list = b.stories.map((s, i) => `${i + 1}. ${s.title}`).join('\n')
  const html = `<ol>${b.stories
    .map((s) => (s.url && /^https?:\/\//i.test(s.url) ? `<li><a href="${escapeHtml(s.url)}">${escapeHtml(s.title)}</a></li>` : `<li>${escapeHtml(s.title)}</li>`))
    .join('')}</ol>`
  return {
    guid: `briefcast:briefing:${b.id}`,
    title: b.title,
    description: `In this episode:\n\n${list}`,
    contentHtml: html,
    ...(config.show.siteUrl ? { link: config.show.siteUrl } : {}),
    publishedAt: b.publishedAt,
    audio: { url: urls.audio(b, ep), bytes: ep.bytes, mimeType: ep.mimeType },
    durationMs: ep.durationMs,
    episodeType: 'full',
    transcriptUrl: urls.transcript(b, ep),
    chaptersUrl: urls.chapters(b, ep),
    chapters: ep.chapters,
    ...(b.language !== config.show.language ? { language: b.language } : {}),
  }
}

/** An article's feed item: the guid is the article id, so it survives edits and re-renders; the enclosure follows the episode. */
/** The article's first paragraph as written (the episode description when the article has no summary). */
export function firstParagraph(script: Pick<Script, 'segments'> | undefined): string | undefined {
  const segs = script?.segments ?? []
  const first = segs.find((s) => s.kind === 'paragraph')
  if (!first) return undefined
  const text = segs
    .filter((s) => s.kind === 'paragraph' && s.blockIndex === first.blockIndex && (first.blockIndex !== undefined || s === first))
    .map((s) => (s.displayText ?? s.text).trim())
    .join(' ')
  return text || undefined
}

export function articleFeedItem(article: ArticleRecord, ep: EpisodeRecord, deps: Pick<AppDeps, 'urls' | 'config'>, fallbackDescription?: string): FeedItem {
  const asEp = { articleId: article.id, hash: ep.hash, format: ep.format }
  return {
    guid: `briefcast:article:${article.id}`,
    title: article.title,
    // Apple wants a description on every episode: the article's summary, else its first paragraph (never just the title).
    description: article.excerpt ?? fallbackDescription ?? article.title,
    link: article.url && /^https?:\/\//i.test(article.url) ? article.url : deps.urls.listen(article.id),
    ...(article.author ? { author: article.author } : {}),
    publishedAt: article.publishedAt && !Number.isNaN(Date.parse(article.publishedAt)) ? article.publishedAt : article.createdAt,
    audio: { url: deps.urls.audio(asEp), bytes: ep.bytes, mimeType: ep.mimeType },
    durationMs: ep.durationMs,
    episodeType: 'full',
    transcriptUrl: deps.urls.transcript(asEp),
    chaptersUrl: deps.urls.chapters(asEp),
    chapters: ep.chapters,
    ...(article.language !== deps.config.show.language ? { language: article.language } : {}),
  }
}
