/**
 * Files beside an episode: a WebVTT transcript (one cue per sentence), the
 * Podcasting 2.0 JSON chapters (https://github.com/Podcastindex-org/podcast-namespace/blob/main/chapters/jsonChapters.md)
 * and a timings JSON (segment id -> start/end ms) for the player. All times
 * come from the encoded pieces, so they match the real file.
 */
import type { Chapter, SegmentTiming } from '../episodes/types.ts'

export interface TimedSegment extends SegmentTiming {
  /** Where speech starts and ends inside [startMs, endMs) (the rest is the pause). */
  speechStartMs?: number
  speechEndMs?: number
  /** Sentence starts relative to speechStartMs, when the engine reported word timings. */
  sentenceStartsMs?: number[]
  /** Word starts relative to speechStartMs, one per whitespace-separated word of the text, when the engine reported them. */
  wordStartsMs?: number[]
}

/** Longest cue line podcast apps and players show without wrapping it themselves. */
export const MAX_CUE_CHARS = 65

/**
 * A sentence longer than MAX_CUE_CHARS as several cues, split between words;
 * each cue starts when its first word is spoken (word timings), else at its
 * share of the sentence's time by length.
 */
function splitCue(cue: VttCue, wordTimes: number[] | undefined): VttCue[] {
  if (cue.text.length <= MAX_CUE_CHARS) return [cue]
  const words = cue.text.split(/\s+/).filter(Boolean)
  const chunks: { text: string; firstWord: number; charStart: number }[] = []
  let chars = 0
  words.forEach((w, i) => {
    const last = chunks.at(-1)
    if (last && last.text.length + 1 + w.length <= MAX_CUE_CHARS) last.text += ' ' + w
    else chunks.push({ text: w, firstWord: i, charStart: chars })
    chars += w.length + 1
  })
  const span = cue.endMs - cue.startMs
  const starts = chunks.map((c, i) => {
    if (i === 0) return cue.startMs
    const t = wordTimes?.[c.firstWord]
    const at = t !== undefined ? t : cue.startMs + (span * c.charStart) / Math.max(1, chars - 1)
    return Math.round(Math.min(Math.max(at, cue.startMs), cue.endMs))
  })
  for (let i = 1; i < starts.length; i++) starts[i] = Math.max(starts[i]!, starts[i - 1]!)
  return chunks.map((c, i) => ({ startMs: starts[i]!, endMs: i + 1 < chunks.length ? starts[i + 1]! : cue.endMs, text: c.text }))
}

/**
 * A segment's text cut into sentence spans, whitespace kept: the pieces joined with '' give back the
 * text (cue and timing boundaries). Not the script's sentence splitter (splitSentences in
 * src/script/normalize.ts, language-aware, trimmed), which makes the segments this cuts again.
 */
export function sentenceSpans(text: string): string[] {
  // Split after sentence punctuation (+ closing quotes) and whitespace, or right after CJK full stops;
  // a split (lookbehind) keeps every character, so the cues put together are the text.
  const parts = text.split(/(?<=[.!?…]+["'”’»)\]]*\s+|[。！？]+["'”’»)\]]*)(?=[^\s"'”’»)\]。！？])/u)
  const out: string[] = []
  for (const p of parts) {
    if (!p) continue
    // Do not split after abbreviations like "Mr." or single initials, or inside numbers ("3.5").
    const prev = out[out.length - 1]
    if (prev !== undefined && /(?:\b(?:Mr|Mrs|Ms|Dr|St|vs|etc|Inc|Ltd|Co|Jr|Sr|No|U\.S)\.|\b[A-Z]\.)\s*$/.test(prev)) out[out.length - 1] = prev + p
    else out.push(p)
  }
  return out.length > 0 ? out : [text]
}

export interface VttCue {
  startMs: number
  endMs: number
  text: string
}

/** Sentence cues for timed segments: each segment's span is shared among its sentences by length. */
export function sentenceCues(timings: TimedSegment[]): VttCue[] {
  const cues: VttCue[] = []
  for (const t of timings) {
    const sentences = sentenceSpans(t.text)
    const speechStart = t.speechStartMs ?? t.startMs
    const speechEnd = Math.max(speechStart, t.speechEndMs ?? t.endMs)
    const total = sentences.reduce((n, s) => n + s.trim().length, 0) || 1
    let acc = 0
    const starts = sentences.map((s, i) => {
      if (i === 0) return t.startMs
      const given = t.sentenceStartsMs?.[i]
      acc += sentences[i - 1]!.trim().length
      return given !== undefined ? speechStart + given : Math.round(speechStart + ((speechEnd - speechStart) * acc) / total)
    })
    const wordCount = (x: string) => x.split(/\s+/).filter(Boolean).length
    const aligned = t.wordStartsMs && t.wordStartsMs.length === wordCount(t.text) ? t.wordStartsMs : undefined
    let firstWord = 0
    sentences.forEach((s, i) => {
      const startMs = Math.min(Math.max(starts[i]!, t.startMs), t.endMs)
      const endMs = i + 1 < sentences.length ? Math.max(startMs, Math.min(starts[i + 1]!, t.endMs)) : t.endMs
      const n = wordCount(s)
      const wordTimes = aligned?.slice(firstWord, firstWord + n).map((w) => speechStart + w)
      firstWord += n
      cues.push(...splitCue({ startMs, endMs, text: s.trim() }, wordTimes))
    })
  }
  return cues.filter((c) => c.text.length > 0)
}

/** HH:MM:SS.mmm: a WebVTT cue time, and the Normal Play Time of Podlove Simple Chapters (feed/build.ts): one format, one formatter. */
export function clockTime(ms: number): string {
  const t = Math.max(0, Math.round(ms))
  const h = Math.floor(t / 3_600_000)
  const m = Math.floor((t % 3_600_000) / 60_000)
  const s = Math.floor((t % 60_000) / 1000)
  const f = t % 1000
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(f).padStart(3, '0')}`
}

/** Escapes cue text per https://www.w3.org/TR/webvtt1/#cue-text (& < > and the "-->" separator). */
export function escapeVttText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ')
}

/** A WebVTT document with one cue per sentence; cue ids are the segment-relative sentence order. */
export function buildVtt(timings: TimedSegment[]): string {
  const lines = ['WEBVTT', '']
  sentenceCues(timings).forEach((c, i) => {
    lines.push(String(i + 1), `${clockTime(c.startMs)} --> ${clockTime(c.endMs)}`, escapeVttText(c.text), '')
  })
  return lines.join('\n')
}

/** Parses our own VTT back (tests, tools). */
export function parseVtt(vtt: string): VttCue[] {
  const toMs = (s: string) => {
    const [h, m, rest] = s.split(':') as [string, string, string]
    return Math.round(Number(h) * 3_600_000 + Number(m) * 60_000 + Number(rest) * 1000)
  }
  const cues: VttCue[] = []
  for (const block of vtt.split(/\n\n+/)) {
    const lines = block.split('\n')
    const i = lines.findIndex((l) => l.includes('-->'))
    if (i < 0) continue
    const [a, b] = lines[i]!.split('-->').map((s) => s.trim()) as [string, string]
    const text = lines.slice(i + 1).join('\n').replace(/\n+$/, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    cues.push({ startMs: toMs(a), endMs: toMs(b), text })
  }
  return cues
}

export interface JsonChapters {
  version: '1.2.0'
  chapters: { startTime: number; endTime?: number; title: string }[]
}

/** Podcasting 2.0 JSON chapters (times in seconds). */
export function buildChaptersJson(chapters: Chapter[]): JsonChapters {
  return {
    version: '1.2.0',
    chapters: chapters.map((c) => ({ startTime: c.startMs / 1000, endTime: c.endMs / 1000, title: c.title })),
  }
}

export interface TimingsFile {
  version: 1
  durationMs: number
  /** In play order; ids repeat when a text repeats, so this array is the authority. */
  segments: SegmentTiming[]
  /** segment id -> first occurrence's start/end, for quick lookups. */
  byId: Record<string, { startMs: number; endMs: number }>
}

export function buildTimingsJson(timings: SegmentTiming[], durationMs: number): TimingsFile {
  const byId: TimingsFile['byId'] = {}
  for (const t of timings) byId[t.id] ??= { startMs: t.startMs, endMs: t.endMs }
  return {
    version: 1,
    durationMs,
    segments: timings.map(({ id, kind, sectionIndex, blockIndex, storyIndex, startMs, endMs, text }) => ({
      id,
      kind,
      sectionIndex,
      ...(blockIndex === undefined ? {} : { blockIndex }),
      ...(storyIndex === undefined ? {} : { storyIndex }),
      startMs,
      endMs,
      text,
    })),
    byId,
  }
}

/** Escapes a value for ffmpeg's ffmetadata format (https://ffmpeg.org/ffmpeg-formats.html#Metadata-2). */
function ffmetaEscape(value: string): string {
  return value.replace(/[\\=;#\n]/g, (c) => '\\' + c)
}

/** An ffmetadata file: global tags and one [CHAPTER] per chapter (becomes ID3 CHAP / MP4 chapters). */
export function buildFfmetadata(tags: Record<string, string | undefined>, chapters: Chapter[]): string {
  const lines = [';FFMETADATA1']
  for (const [k, v] of Object.entries(tags)) if (v) lines.push(`${k}=${ffmetaEscape(v)}`)
  for (const c of chapters) lines.push('[CHAPTER]', 'TIMEBASE=1/1000', `START=${Math.round(c.startMs)}`, `END=${Math.round(c.endMs)}`, `title=${ffmetaEscape(c.title)}`)
  return lines.join('\n') + '\n'
}
