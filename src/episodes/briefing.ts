/**
 * Briefing scripts: several articles' scripts joined into one episode, like a
 * news digest. Pure: Scripts in, one Script out; the render pipeline turns it
 * into audio like any article.
 *
 *   host:  "This is <show> for Thursday, November 26."
 *   story: title, then the text (full, or a lede: the first paragraphs up to a time budget)
 *   host:  "Next." / "And finally."  (between stories)
 *   ...
 *   host:  "That was <show>. Thanks for listening."
 *
 * Story segments are copied unchanged (same id, text and voice role), so the
 * clip cache serves the articles' already-synthesized clips; only the host
 * lines are new. The opening is the episode's own first chapter (no
 * storyIndex: the renderer names it after the briefing); every other segment
 * carries storyIndex (a transition belongs to the story it introduces, the
 * closing to the last story), so the renderer makes exactly one chapter per
 * story, named after the story's title segment. sectionIndex follows the same
 * split (opening 0, story i -> i + 1) for renderers that chapter by section.
 */
import { createHash } from 'node:crypto'
import { AppError } from '../errors.ts'
import type { Script, Segment } from '../script/types.ts'
import { sha256 } from '../util/files.ts'
import { primaryLanguage } from '../script/language.ts'

export type StoryMode = 'full' | 'lede'

export interface BriefingStory {
  script: Script
  mode: StoryMode
  /** Lede time budget in seconds (lede mode); default 60. */
  ledeSeconds?: number
  /** Chapter/story title; defaults to the script's title. */
  title?: string
}

export interface ComposeBriefingInput {
  show: string
  /** The day the briefing is for. */
  date: Date
  /** IANA time zone the date is spoken in (the day can differ from UTC's). */
  timeZone?: string
  /** BCP 47; host lines and the spoken date use it (English when no phrases exist for it). */
  language: string
  stories: BriefingStory[]
  /** Episode title; defaults to "<show>: <date>". */
  title?: string
  /** Silence after host lines and between stories, ms. */
  pauses?: { host?: number; betweenStories?: number }
}

interface Phrases {
  /** Without a show title (none configured, or only the product's name, which is never spoken). */
  untitledOpening(date: string): string
  untitledClosing: string
  opening(show: string, date: string): string
  next: string
  last: string
  closing(show: string, date: string): string
}

/**
 * Host lines per language (primary subtag). The date comes from
 * Intl.DateTimeFormat in the same locale, so its word order and grammatical
 * case match the sentence around it.
 */
export const BRIEFING_PHRASES: Record<string, Phrases> = {
  en: {
    untitledOpening: (d) => `Your news briefing for ${d}.`,
    untitledClosing: 'That was the briefing. Thanks for listening.',
    opening: (s, d) => `This is ${s} for ${d}.`,
    next: 'Next.',
    last: 'And finally.',
    closing: (s) => `That was ${s}. Thanks for listening.`,
  },
  de: {
    untitledOpening: (d) => `Ihr Nachrichtenüberblick für ${d}.`,
    untitledClosing: 'Das war der Überblick. Danke fürs Zuhören.',
    opening: (s, d) => `Das ist ${s} für ${d}.`,
    next: 'Das nächste Thema.',
    last: 'Und zum Schluss.',
    closing: (s) => `Das war ${s}. Danke fürs Zuhören.`,
  },
  fr: {
    untitledOpening: (d) => `Votre point info du ${d}.`,
    untitledClosing: "C'était le point info. Merci de votre écoute.",
    opening: (s, d) => `Voici ${s} du ${d}.`,
    next: 'Sujet suivant.',
    last: 'Et pour finir.',
    closing: (s) => `C'était ${s}. Merci de votre écoute.`,
  },
  es: {
    untitledOpening: (d) => `Su resumen de noticias del ${d}.`,
    untitledClosing: 'Esto fue el resumen. Gracias por escuchar.',
    opening: (s, d) => `Esto es ${s} del ${d}.`,
    next: 'Siguiente noticia.',
    last: 'Y por último.',
    closing: (s) => `Esto fue ${s}. Gracias por escuchar.`,
  },
  ru: {
    untitledOpening: (d) => `Обзор новостей за ${d}.`,
    untitledClosing: 'Это был обзор новостей. Спасибо, что слушали.',
    opening: (s, d) => `Это ${s} за ${d}.`,
    next: 'Следующая новость.',
    last: 'И напоследок.',
    closing: (s) => `Это был выпуск ${s}. Спасибо, что слушали.`,
  },
  it: {
    untitledOpening: (d) => `La rassegna di notizie di ${d}.`,
    untitledClosing: "Era la rassegna. Grazie per l'ascolto.",
    opening: (s, d) => `Questo è ${s} di ${d}.`,
    next: 'Notizia successiva.',
    last: 'E infine.',
    closing: (s) => `Era ${s}. Grazie per l'ascolto.`,
  },
  pt: {
    untitledOpening: (d) => `O resumo de notícias de ${d}.`,
    untitledClosing: 'Este foi o resumo. Obrigado por ouvir.',
    opening: (s, d) => `Este é o ${s} de ${d}.`,
    next: 'Próxima notícia.',
    last: 'E, por fim.',
    closing: (s) => `Este foi o ${s}. Obrigado por ouvir.`,
  },
  nl: {
    untitledOpening: (d) => `Het nieuwsoverzicht voor ${d}.`,
    untitledClosing: 'Dat was het overzicht. Bedankt voor het luisteren.',
    opening: (s, d) => `Dit is ${s} voor ${d}.`,
    next: 'Het volgende nieuws.',
    last: 'En tot slot.',
    closing: (s) => `Dat was ${s}. Bedankt voor het luisteren.`,
  },
}

/** The phrase set and the locale to format the date in: the language's own, or English. */
export function briefingLocale(language: string): { locale: string; phrases: Phrases } {
  const primary = primaryLanguage(language)
  const phrases = BRIEFING_PHRASES[primary]
  if (!phrases) return { locale: 'en', phrases: BRIEFING_PHRASES.en! }
  let locale = primary
  try {
    locale = Intl.getCanonicalLocales(language.replace(/_/g, '-'))[0] ?? primary
  } catch {}
  return { locale, phrases }
}

/** "Thursday, November 26" in the language and time zone. */
export function spokenDate(date: Date, language: string, timeZone = 'UTC'): string {
  const { locale } = briefingLocale(language)
  return new Intl.DateTimeFormat(locale, { weekday: 'long', month: 'long', day: 'numeric', timeZone }).format(date)
}

/** The calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function dayInZone(date: Date, timeZone = 'UTC'): string {
  const parts = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).formatToParts(date)
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')}`
}

// Languages written without spaces between words: estimate by characters.
const CHARACTER_LANGUAGES = new Set(['zh', 'ja', 'ko', 'th', 'lo', 'km', 'my'])

/**
 * Rough speaking time of a text: ~2.6 words per second (about 155 words a
 * minute, a typical newsreader pace), or ~5 characters per second for
 * languages written without spaces. Good enough to cut a lede; the real
 * duration comes from the audio.
 */
export function estimateSpeechMs(text: string, language: string): number {
  const primary = primaryLanguage(language)
  if (CHARACTER_LANGUAGES.has(primary)) return Math.round((text.replace(/\s+/g, '').length / 5) * 1000)
  const words = text.split(/\s+/).filter(Boolean).length
  return Math.round((words / 2.6) * 1000)
}

/** A host line; ids hash role and text like the converter's (src/script/index.ts), so equal lines share clips and ids. */
function hostSegment(text: string, storyIndex: number | undefined, pauseAfterMs: number): Segment {
  return {
    id: createHash('sha256').update('host').update('\0').update(text).digest('hex').slice(0, 16),
    kind: 'paragraph',
    text,
    displayText: text,
    pauseAfterMs,
    sectionIndex: storyIndex === undefined ? 0 : storyIndex + 1,
    voiceRole: 'host',
    ...(storyIndex === undefined ? {} : { storyIndex }),
  }
}

const BODY_KINDS = new Set<Segment['kind']>(['paragraph', 'quote', 'list-item', 'heading'])

/** The story's body in lede mode: whole leading blocks (paragraphs) while they fit the budget; at least the first sentences. */
export function ledeSegments(body: Segment[], budgetMs: number, language: string): Segment[] {
  const blocks: Segment[][] = []
  let lastKey: number | undefined
  for (const seg of body) {
    // Headings open new sections; a lede is the opening paragraphs, so skip them.
    if (seg.kind === 'heading') continue
    const key = seg.blockIndex
    if (key === undefined || key !== lastKey || blocks.length === 0) blocks.push([seg])
    else blocks[blocks.length - 1]!.push(seg)
    lastKey = key
  }
  const out: Segment[] = []
  let used = 0
  for (const block of blocks) {
    const ms = block.reduce((sum, s) => sum + estimateSpeechMs(s.text, language), 0)
    if (out.length > 0 && used + ms > budgetMs) break
    if (out.length === 0 && ms > budgetMs) {
      // The first paragraph alone is over budget: keep its first segments (sentence groups) that fit, at least one.
      for (const s of block) {
        const sMs = estimateSpeechMs(s.text, language)
        if (out.length > 0 && used + sMs > budgetMs) break
        out.push(s)
        used += sMs
      }
      break
    }
    out.push(...block)
    used += ms
  }
  return out
}

export function composeBriefing(input: ComposeBriefingInput): Script {
  const stories = input.stories.filter((s) => s.script.segments.length > 0 || s.script.title.trim())
  if (stories.length === 0) throw new AppError('BRIEFING_EMPTY', 'A briefing needs at least one story with text.')
  const timeZone = input.timeZone ?? 'UTC'
  const { phrases } = briefingLocale(input.language)
  // The show's own title only: the product's name (the default title) is not something to say on air.
  const show = /^briefcast$/i.test(input.show.trim()) ? '' : input.show.trim()
  const date = spokenDate(input.date, input.language, timeZone)
  const hostPause = input.pauses?.host ?? 600
  const betweenStories = input.pauses?.betweenStories ?? 1000

  const segments: Segment[] = []
  const usedIds = new Map<string, number>()
  const push = (seg: Segment) => {
    // Two stories may share a sentence (a boilerplate line): ids stay unique in the episode; the clip cache keys on text, not id.
    const n = usedIds.get(seg.id) ?? 0
    usedIds.set(seg.id, n + 1)
    segments.push(n === 0 ? seg : { ...seg, id: `${seg.id}~${n}` })
  }

  push(hostSegment(show ? phrases.opening(show, date) : phrases.untitledOpening(date), undefined, hostPause))
  stories.forEach((story, storyIndex) => {
    if (storyIndex > 0) push(hostSegment(storyIndex === stories.length - 1 ? phrases.last : phrases.next, storyIndex, hostPause))
    const src = story.script.segments
    const titleSeg = src.find((s) => s.kind === 'title')
    const override = story.title?.trim()
    // The article's own title segment when it has one (its clip is cached); a new one for an overridden or missing title.
    const titleText = override || titleSeg?.text || story.script.title.trim()
    const title: Segment =
      titleSeg && (!override || override === titleSeg.text)
        ? titleSeg
        : { id: createHash('sha256').update('title').update('\0').update(titleText).digest('hex').slice(0, 16), kind: 'title', text: titleText, displayText: titleText, pauseAfterMs: titleSeg?.pauseAfterMs ?? 700, sectionIndex: 0 }
    const bodyAll = src.filter((s) => BODY_KINDS.has(s.kind))
    const body = story.mode === 'lede' ? ledeSegments(bodyAll, (story.ledeSeconds ?? 60) * 1000, story.script.language || input.language) : bodyAll
    const storySegments = [title, ...body].filter((s) => s.text.trim())
    storySegments.forEach((seg, i) => {
      const last = i === storySegments.length - 1
      push({
        ...seg,
        // One section per story: renderers that chapter by section agree with those that chapter by story.
        sectionIndex: storyIndex + 1,
        storyIndex,
        pauseAfterMs: last ? Math.max(seg.pauseAfterMs, betweenStories) : seg.pauseAfterMs,
      })
    })
  })
  push(hostSegment(show ? phrases.closing(show, date) : phrases.untitledClosing, stories.length - 1, 0))

  const title = input.title?.trim() || `${show}: ${date}`
  return {
    title,
    language: input.language,
    sourceHash: sha256('briefing', ...segments.map((s) => `${s.id}\u0001${s.text}`)),
    segments,
    publishedAt: input.date.toISOString(),
  }
}

/** Chapter titles of a briefing script, in order (one per story), for checks and feed descriptions. */
export function briefingStoryTitles(script: Script): string[] {
  const titles: string[] = []
  for (const seg of script.segments) {
    if (seg.storyIndex === undefined || seg.kind !== 'title') continue
    titles[seg.storyIndex] ??= seg.displayText ?? seg.text
  }
  return titles
}
