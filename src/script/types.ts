/** The Script: what the converter hands to TTS. Pure data, JSON-serializable. */
export type SegmentKind = 'title' | 'byline' | 'heading' | 'paragraph' | 'quote' | 'list-item'

export interface Segment {
  /** Hash of the spoken text and voice role: unchanged text keeps its id when the article is edited elsewhere. */
  id: string
  kind: SegmentKind
  /** Normalized text to speak (lexicon applied). */
  text: string
  /** Silence after this segment, ms. */
  pauseAfterMs: number
  /** 0 for title/byline and the body before the first heading; +1 at each heading. */
  sectionIndex: number
  /** Text as displayed (before speech normalization), for transcripts and highlighting. */
  displayText?: string
  /** Index of the source block (paragraph, heading, list item...) this segment came from; several segments may share one. */
  blockIndex?: number
  /** Overrides the role derived from kind (see voiceRoleFor); briefings use 'host'. */
  voiceRole?: VoiceRole
  /** Briefings: index of the story this segment belongs to (one chapter per story). */
  storyIndex?: number
}

export interface Script {
  title: string
  byline?: string
  /** BCP 47 tag. */
  language: string
  /** sha256 of the input (hex). */
  sourceHash: string
  segments: Segment[]
  url?: string
  publishedAt?: string
  excerpt?: string
}

export type InputFormat = 'html' | 'markdown' | 'text' | 'json'

export interface ArticleInput {
  /** Raw bytes or string of the input. */
  content: string | Uint8Array
  /** Known format; detected when absent. */
  format?: InputFormat
  title?: string
  author?: string
  language?: string
  url?: string
  publishedAt?: string
}

export interface SegmentOptions {
  /** Target characters per segment (sentences are grouped up to this). */
  targetChars?: number
  /** Hard limit in UTF-8 bytes that no segment may exceed. */
  maxBytes?: number
  /** Pause lengths per kind, ms. */
  pauses?: Partial<Record<SegmentKind, number>>
  /** Whole-word pronunciation replacements applied to spoken text. */
  lexicon?: Lexicon
}

export interface LexiconEntry {
  /** Whole word or phrase to replace. */
  match: string
  /** Replacement spoken text. */
  say: string
  caseSensitive?: boolean
}

export interface Lexicon {
  language: string
  /** Changes when entries change (a hash of them). */
  version: string
  entries: LexiconEntry[]
}

export type VoiceRole = 'title' | 'body' | 'quote' | 'host'

/** Which voice of a profile speaks a segment. Briefing lines (opening, transitions) set voiceRole 'host'. */
export function voiceRoleFor(segment: Pick<Segment, 'kind'> & { voiceRole?: VoiceRole }): VoiceRole {
  if (segment.voiceRole) return segment.voiceRole
  switch (segment.kind) {
    case 'title':
    case 'heading':
      return 'title'
    case 'quote':
      return 'quote'
    default:
      return 'body'
  }
}
