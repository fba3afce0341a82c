/**
 * Segmentation: whole sentences (Intl.Segmenter for the article's language),
 * each normalized for speech, grouped up to a target size and NEVER over the
 * engine's hard limit in UTF-8 bytes. A sentence over the limit is split at
 * clause punctuation, then at a space, then at a word boundary (scripts without
 * spaces), and only for a single over-long "word" at a grapheme boundary;
 * never inside a multi-byte character.
 */
import { AppError } from '../errors.ts'
import { applyLexicon } from './lexicon.ts'
import { graphemes, normalizeTidySentence, splitSentences, tidyText, wordBoundaries } from './normalize.ts'
import type { Lexicon } from './types.ts'

export const DEFAULT_TARGET_CHARS = 450
/** Google Cloud TTS rejects requests over 5000 bytes of input. */
export const DEFAULT_MAX_BYTES = 5000
/** Below this the byte limit cannot hold a grapheme cluster plus its neighbours. */
export const MIN_MAX_BYTES = 32

export interface TextPiece {
  /** Spoken text (normalized, lexicon applied). */
  text: string
  /** The same span as written. */
  displayText: string
}

export interface SegmentTextOptions {
  targetChars?: number
  maxBytes?: number
  lexicon?: Lexicon
}

const encoder = new TextEncoder()
export function utf8Bytes(s: string): number {
  // Fast path: pure ASCII strings are one byte per char.
  let ascii = true
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false
      break
    }
  }
  return ascii ? s.length : encoder.encode(s).length
}

export function validateSegmentOptions(options: { targetChars?: number; maxBytes?: number }): { targetChars: number; maxBytes: number } {
  const targetChars = options.targetChars ?? DEFAULT_TARGET_CHARS
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  if (!Number.isInteger(targetChars) || targetChars < 1) {
    throw new AppError('VALIDATION_FAILED', `targetChars must be a positive integer (got ${targetChars}).`, { details: { field: 'targetChars' } })
  }
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_MAX_BYTES) {
    throw new AppError('VALIDATION_FAILED', `maxBytes must be an integer of at least ${MIN_MAX_BYTES} (got ${maxBytes}).`, { details: { field: 'maxBytes' } })
  }
  return { targetChars, maxBytes }
}

/** Longest prefix length (in UTF-16 units, never inside a surrogate pair) whose UTF-8 size fits. */
function prefixFitting(text: string, maxBytes: number): number {
  let bytes = 0
  let i = 0
  while (i < text.length) {
    const cp = text.codePointAt(i)!
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
    if (bytes + size > maxBytes) break
    bytes += size
    i += cp > 0xffff ? 2 : 1
  }
  return i
}

/** Clause breaks followed by a space (or a spaced dash): cutting there never splits a word. */
const CLAUSE_CUT = /[,;:)\]]\s+|[，、；：。！？،؛]\s+|\s[–—-]\s/gu
/** Full-width/Arabic clause punctuation with no space after: a clause break in scripts written without spaces. */
const UNSPACED_CLAUSE_CUT = /[，、；：。！？،؛](?=\S|$)/gu

function lastCut(head: string, pattern: RegExp, limit: number): number {
  let cut = -1
  for (const m of head.matchAll(pattern)) {
    const end = m.index + m[0].length
    if (end <= limit && end > 0) cut = end
  }
  return cut
}

/** The best cut in text[0..limit]: the last clause break, else the last space, else the last word boundary, else the last grapheme boundary. */
function findCut(text: string, limit: number, language: string): number {
  const head = text.slice(0, limit)
  // A clause cut that leaves a tiny first piece is worse than a space cut near the limit.
  const minUseful = Math.floor(limit * 0.3)
  const clause = lastCut(head, CLAUSE_CUT, limit)
  if (clause >= minUseful) return clause
  // Text written without spaces (CJK): its punctuation is the clause break. In
  // spaced text the same characters can sit inside a token ("，¡x"), and cutting
  // there would split a word, so a space is preferred.
  const spaced = /\s/.test(head)
  const unspaced = lastCut(head, UNSPACED_CLAUSE_CUT, limit)
  if (!spaced && unspaced >= minUseful) return unspaced
  const space = head.search(/\s\S*$/)
  if (space > 0) return space + 1
  if (clause > 0) return clause
  if (unspaced > 0) return unspaced
  // No space (CJK, Thai, or one huge token): word boundaries, then graphemes.
  const words = wordBoundaries(text.slice(0, Math.min(text.length, limit + 64)), language).filter((c) => c <= limit)
  const lastWord = words.length ? words[words.length - 1]! : 0
  if (lastWord > 0) return lastWord
  let pos = 0
  for (const g of graphemes(text.slice(0, Math.min(text.length, limit + 64)), language)) {
    if (pos + g.length > limit) break
    pos += g.length
  }
  // A single grapheme cluster bigger than the limit (absurd combining sequences): cut by code point.
  return pos > 0 ? pos : limit
}

/** Split a spoken sentence into pieces of at most maxBytes. */
export function splitToLimit(text: string, maxBytes: number, language: string): string[] {
  const out: string[] = []
  let rest = text.trim()
  while (utf8Bytes(rest) > maxBytes) {
    const limit = prefixFitting(rest, maxBytes)
    let cut = findCut(rest, limit, language)
    if (cut <= 0) cut = Math.max(1, limit)
    const piece = rest.slice(0, cut).trim()
    if (piece) out.push(piece)
    rest = rest.slice(cut).trim()
  }
  if (rest) out.push(rest)
  return out
}

/** Split display text into n pieces at spaces near proportional positions (for over-long sentences only). */
function splitDisplay(display: string, n: number): string[] {
  if (n <= 1) return [display]
  const words = display.split(' ')
  const out: string[] = []
  let from = 0
  for (let k = 1; k <= n; k++) {
    const to = k === n ? words.length : Math.max(from, Math.round((words.length * k) / n))
    out.push(words.slice(from, to).join(' '))
    from = to
  }
  return out
}

/**
 * Spoken pieces of one text (a block), grouped up to targetChars, each within maxBytes.
 * Joined, the pieces' words are exactly normalizeForSpeech(text)'s words (plus the lexicon).
 */
export function segmentText(text: string, language: string, options: SegmentTextOptions = {}): TextPiece[] {
  const { targetChars, maxBytes } = validateSegmentOptions(options)
  const sentences: TextPiece[] = []
  for (const display of splitSentences(tidyText(text), language)) {
    const spoken = applyLexicon(normalizeTidySentence(display, language), options.lexicon).replace(/\s+/g, ' ').trim()
    if (!spoken) continue
    if (utf8Bytes(spoken) <= maxBytes) {
      sentences.push({ text: spoken, displayText: display })
      continue
    }
    const parts = splitToLimit(spoken, maxBytes, language)
    const displays = splitDisplay(display, parts.length)
    parts.forEach((p, i) => sentences.push({ text: p, displayText: displays[i] || p }))
  }
  const out: TextPiece[] = []
  let current: TextPiece | undefined
  for (const s of sentences) {
    if (current) {
      const joined = `${current.text} ${s.text}`
      if (joined.length <= targetChars && utf8Bytes(joined) <= maxBytes) {
        current = { text: joined, displayText: `${current.displayText} ${s.displayText}` }
        continue
      }
      out.push(current)
    }
    current = s
  }
  if (current) out.push(current)
  return out
}
