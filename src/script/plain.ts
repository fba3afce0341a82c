/**
 * Plain text -> blocks, including text copied from a whole web page, where the
 * story sits between site chrome (menus, credits, "Listen" buttons, comment
 * prompts, newsletter pitches). No site's phrases are used: every line is
 * classified by its SHAPE (is it a sentence? a title? a UI label?), scored like
 * Readability scores DOM nodes, and the densest run of prose is kept, grown over
 * adjacent prose and headings (see findStory).
 */
import { type Block, type Extracted, comparable, isSpeakableBlock } from './blocks.ts'
import { tidyText } from './normalize.ts'

type UnitType = 'prose' | 'heading' | 'list' | 'quote' | 'ui' | 'truncated' | 'short'
interface Unit {
  text: string
  type: UnitType
  words: number
}

const TERMINAL = /[.!?。！？…]["'”’»)\]]*$/u
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/gu
const SYMBOL = /[\p{So}\u2190-\u21FF\u2500-\u25FF\u2700-\u27BF|•]/u
const LIST_MARK = /^(?:[-*+•▪◦]|\d{1,3}[.)])\s+/u

/** Word count; CJK and Thai have no spaces, so count two characters as a word. */
export function wordCount(text: string): number {
  const cjk = text.match(CJK)?.length ?? 0
  const latin = text.replace(CJK, ' ').match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu)?.length ?? 0
  return latin + Math.ceil(cjk / 2)
}

/** Shape of one line or paragraph. */
function classify(text: string): Unit {
  const words = wordCount(text)
  const terminal = TERMINAL.test(text)
  let type: UnitType
  if (/^>\s?/.test(text)) type = 'quote'
  else if (LIST_MARK.test(text) && words >= 1) type = 'list'
  else if (
    (SYMBOL.test(text) && words <= 8) || // icon + label: "◐ Listen", "→ original", "♥ 12"
    (/\d/.test(text) && words <= 3 && !terminal) || // counters: "12 comments", "5 min read"
    (/(?:…|\.\.\.)$/.test(text) && words <= 5) || // progress labels: "Loading…"
    (/^[\p{Lu}\p{N}]{1,3}$/u.test(text)) // avatar initials
  )
    type = 'ui'
  // A short single question or exclamation is a headline or subhead ("Is AI a bubble?"), not prose.
  else if (/[?!]["'”’»)]*$/u.test(text) && words <= 12 && !/[.!?。！？]\s/u.test(text)) type = 'heading'
  else if (terminal && words >= 3) type = 'prose'
  else if (!terminal && words > 20) type = 'truncated' // longer than any headline, yet no full stop: a teaser cut off mid-sentence
  else if (!terminal && words >= 1 && words <= 20 && /^[\p{Lu}\p{N}"'“‘(]/u.test(text)) type = 'heading'
  else type = 'short'
  return { text, type, words }
}

function score(u: Unit): number {
  switch (u.type) {
    case 'prose':
      // Like Readability's per-paragraph score: long paragraphs weigh, one-liners cost.
      return Math.min(u.words, 80) - 15
    case 'heading':
      return -1
    case 'list':
    case 'quote':
      return u.words >= 5 ? 0 : -3
    case 'short':
      return -6
    default:
      return -12
  }
}

/**
 * A multi-line block is one paragraph when it is hard-wrapped prose (long lines,
 * or lines that continue mid-sentence); otherwise (a card of labels, a credit
 * line and a button) each line is its own unit.
 */
function unitsOf(block: string): Unit[] {
  const lines = block.split('\n').map((l) => tidyText(l)).filter(Boolean)
  if (lines.length <= 1) return lines.map(classify)
  if (lines.every((l) => LIST_MARK.test(l))) return lines.map(classify)
  if (lines.every((l) => /^>/.test(l))) return [classify(lines.map((l) => l.replace(/^>\s?/, '')).join(' ').replace(/^/, '> '))]
  const body = lines.slice(0, -1)
  const wrapped = body.filter((l, i) => l.length >= 40 || /^[\p{Ll}]/u.test(lines[i + 1] ?? '')).length >= 0.6 * body.length
  if (wrapped) return [classify(lines.join(' '))]
  return lines.map(classify)
}

/** Maximum-sum run of unit scores (Kadane), then grown over adjacent story units. */
function findStory(units: Unit[]): [number, number] | undefined {
  let best = 0
  let bestStart = -1
  let bestEnd = -1
  let sum = 0
  let start = 0
  for (let i = 0; i < units.length; i++) {
    if (sum <= 0) {
      sum = 0
      start = i
    }
    sum += score(units[i]!)
    if (sum > best) {
      best = sum
      bestStart = start
      bestEnd = i
    }
  }
  if (bestStart < 0) return undefined
  const storyLike = (u: Unit) => u.type === 'prose' || u.type === 'list' || u.type === 'quote'
  // Forward: more prose; a heading only when story text follows it.
  let end = bestEnd
  while (end + 1 < units.length) {
    const next = units[end + 1]!
    if (storyLike(next)) end++
    else if (next.type === 'heading') {
      let j = end + 1
      while (j < units.length && units[j]!.type === 'heading') j++
      if (j < units.length && storyLike(units[j]!)) end = j
      else break
    } else break
  }
  // Backward: prose and the headings that introduce it.
  let begin = bestStart
  while (begin > 0 && (storyLike(units[begin - 1]!) || units[begin - 1]!.type === 'heading')) begin--
  return [begin, end]
}

const KIND: Record<UnitType, Block['kind']> = {
  prose: 'paragraph',
  heading: 'heading',
  list: 'list-item',
  quote: 'quote',
  short: 'paragraph',
  ui: 'paragraph',
  truncated: 'paragraph',
}

function toBlock(u: Unit): Block {
  const text = u.type === 'list' ? u.text.replace(LIST_MARK, '') : u.type === 'quote' ? u.text.replace(/^>\s?/, '') : u.text
  return { kind: KIND[u.type], text }
}

/** Title candidates in the page header: title-shaped lines; one that the page repeats (headline + image alt) wins. */
function headerTitle(header: Unit[]): string | undefined {
  const candidates = header.filter((u) => u.type === 'heading' && u.words >= 3)
  for (const c of candidates) {
    const key = comparable(c.text)
    if (candidates.filter((o) => comparable(o.text) === key).length > 1) return c.text
  }
  return candidates.find((u) => u.words >= 4)?.text
}

export function extractPlain(text: string): Extracted {
  const blocks = text.replace(/\r\n?/g, '\n').split(/\n[ \t\f\v\u00a0]*\n/)
  const units = blocks.flatMap(unitsOf).filter((u) => isSpeakableBlock(u.text))
  if (units.length === 0) return { blocks: [] }
  const span = units.some((u) => score(u) > 0) ? findStory(units) : undefined
  if (!span) {
    // No paragraph long enough to anchor a story (a note, a list, a poem): read it all.
    const first = units[0]!
    const title = units.length > 1 && first.type === 'heading' ? first.text : undefined
    return { blocks: (title ? units.slice(1) : units).map(toBlock), title, titleFromBody: title !== undefined }
  }
  const [begin, end] = span
  let body = units.slice(begin, end + 1).filter((u) => u.type !== 'ui' && u.type !== 'truncated')
  let title = headerTitle(units.slice(0, begin))
  let titleFromBody = false
  if (title) {
    const key = comparable(title)
    body = body.filter((u, i) => !(i < 3 && u.type === 'heading' && comparable(u.text) === key))
  } else if (body[0]?.type === 'heading') {
    title = body[0].text
    body = body.slice(1)
    titleFromBody = true
  }
  return { blocks: body.map(toBlock), title, titleFromBody }
}
