/**
 * The article-to-script converter: any supported input -> Script.
 *
 *   decode (size, binary, UTF-8) -> detect format -> extract blocks
 *   (Readability for pages, DOM walk for fragments/Markdown, shape classifier
 *   for plain text) -> language -> per block: sentences, normalization for
 *   speech, lexicon, grouping under the byte limit -> segments with ids.
 *
 * Pure and synchronous: no I/O (loadLexicon, re-exported here, is the one
 * function that reads a file). Throws only AppError.
 */
import { createHash } from 'node:crypto'
import type * as Marked from 'marked'
import { AppError, isAppError } from '../errors.ts'
import { type Block, type Extracted, comparable } from './blocks.ts'
import { decodeInput, detectFormat } from './decode.ts'
import { titleWithoutSiteName } from './furniture.ts'
import { dropTitleHeading, extractFragment, extractPage, isFullPage } from './html.ts'
import { canonicalLanguage, detectLanguage, primaryLanguage } from './language.ts'
import { lexiconFits } from './lexicon.ts'
import { splitSentences, tidyText } from './normalize.ts'
import { extractPlain } from './plain.ts'
import { segmentText, validateSegmentOptions } from './segment.ts'
import { lazyPackage } from '../util/lazy.ts'
import { type ArticleInput, type InputFormat, type Script, type Segment, type SegmentKind, type SegmentOptions, voiceRoleFor } from './types.ts'

export { decodeInput, detectFormat, MAX_INPUT_BYTES } from './decode.ts'
export { canonicalLanguage, detectLanguage, primaryLanguage } from './language.ts'
export { applyLexicon, createLexicon, emptyLexicon, lexiconFits, loadLexicon } from './lexicon.ts'
export { normalizeForSpeech, normalizeSentence, splitSentences, tidyText } from './normalize.ts'
export { explainArticle, formatExplanation, speechChanges, type Explanation, type SpeechChange } from './explain.ts'
export { DEFAULT_MAX_BYTES, DEFAULT_TARGET_CHARS, segmentText, splitToLimit, utf8Bytes, type TextPiece } from './segment.ts'
export * from './types.ts'

/** Silence after each kind of segment, ms (the last segment of a block; see SENTENCE_PAUSE_MS for the others). */
export const DEFAULT_PAUSES: Readonly<Record<SegmentKind, number>> = Object.freeze({
  title: 900,
  byline: 600,
  heading: 800,
  paragraph: 500,
  'list-item': 350,
  quote: 500,
})
/** Silence between two segments cut from the same block (a sentence boundary, not a paragraph break). */
export const SENTENCE_PAUSE_MS = 250

/** blockIndex of the title and byline segments: they come from metadata, not from a body block. */
export const HEADER_BLOCK_INDEX = -1

const FORMATS: readonly InputFormat[] = ['html', 'markdown', 'text', 'json']
const FORMAT_ALIASES: Record<string, InputFormat> = { md: 'markdown', plain: 'text', txt: 'text', htm: 'html' }

const BY: Record<string, string> = { en: 'By', fr: 'Par', de: 'Von', es: 'Por', pt: 'Por', it: 'Di', nl: 'Door' }

function parseFormat(value: unknown, field: string): InputFormat {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : value
  if (typeof v === 'string' && (FORMATS as readonly string[]).includes(v)) return v as InputFormat
  if (typeof v === 'string' && FORMAT_ALIASES[v]) return FORMAT_ALIASES[v]
  throw new AppError('UNSUPPORTED_FORMAT', `${field} "${String(value)}" is not supported; use one of ${FORMATS.join(', ')}.`, { details: { field } })
}

interface JsonArticle {
  body: string
  format?: InputFormat
  title?: string
  author?: string
  publishedAt?: string
  language?: string
  url?: string
}

function optionalString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw new AppError('VALIDATION_FAILED', `JSON field "${key}" must be a string.`, { details: { field: key } })
  return v.trim() || undefined
}

function parseJsonArticle(text: string): JsonArticle {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new AppError('INVALID_JSON', `The input is not well-formed JSON: ${(err as Error).message}`, { cause: err })
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError('VALIDATION_FAILED', 'JSON input must be an object {title, body, format, author, publishedAt, language, url}.', { details: { field: '(root)' } })
  }
  const obj = raw as Record<string, unknown>
  const body = obj.body ?? obj.content ?? obj.text
  if (typeof body !== 'string') {
    throw new AppError('VALIDATION_FAILED', 'JSON input needs a "body" string with the article text.', { details: { field: 'body' } })
  }
  const format = obj.format === undefined || obj.format === null ? undefined : parseFormat(obj.format, 'JSON field "format"')
  if (format === 'json') throw new AppError('UNSUPPORTED_FORMAT', 'JSON field "format" cannot be "json"; use html, markdown or text.', { details: { field: 'format' } })
  return {
    body,
    format,
    title: optionalString(obj, 'title'),
    author: optionalString(obj, 'author'),
    publishedAt: optionalString(obj, 'publishedAt'),
    language: requestedLanguage(optionalString(obj, 'language')),
    url: optionalString(obj, 'url'),
  }
}

/** YAML front matter (--- ... ---) at the top of Markdown: its title/author/lang, and the rest. */
function splitFrontMatter(md: string): { meta: Record<string, string>; body: string } {
  const m = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(md)
  if (!m) return { meta: {}, body: md }
  const meta: Record<string, string> = {}
  for (const line of m[1]!.split(/\r?\n/)) {
    const kv = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line)
    if (kv) meta[kv[1]!.toLowerCase()] = kv[2]!.trim().replace(/^(["'])(.*)\1$/, '$2')
  }
  return { meta, body: md.slice(m[0].length) }
}

/** marked, required by the first Markdown input (src/util/lazy.ts). */
const markedPackage = lazyPackage<typeof Marked>('marked')

function extractMarkdown(md: string): Extracted {
  const { meta, body } = splitFrontMatter(md)
  const html = markedPackage().marked.parse(body, { async: false, gfm: true })
  const extracted = extractFragment(html)
  if (meta.title) {
    extracted.blocks = dropTitleHeading(extracted.titleFromBody && extracted.title ? [{ kind: 'heading', text: extracted.title }, ...extracted.blocks] : extracted.blocks, meta.title)
    extracted.title = meta.title
  }
  extracted.byline ??= meta.author
  extracted.language ??= meta.lang ?? meta.language
  extracted.publishedAt ??= meta.date
  return extracted
}

function extract(text: string, format: InputFormat): Extracted {
  switch (format) {
    case 'html':
      return isFullPage(text) ? extractPage(text) : extractFragment(text)
    case 'markdown':
      return extractMarkdown(text)
    case 'text':
      return extractPlain(text)
    case 'json': {
      const article = parseJsonArticle(text)
      if (!article.body.trim()) throw new AppError('EMPTY_INPUT', 'The JSON "body" is empty; put the article text in it.', { details: { field: 'body' } })
      const inner = article.format ?? detectFormat(article.body)
      if (inner === 'json') throw new AppError('UNSUPPORTED_FORMAT', 'The JSON "body" is itself JSON; put the article text (HTML, Markdown or plain text) in it.')
      const extracted = extract(article.body, inner)
      return {
        ...extracted,
        blocks: article.title ? dropTitleHeading(extracted.titleFromBody && extracted.title ? [{ kind: 'heading', text: extracted.title }, ...extracted.blocks] : extracted.blocks, article.title) : extracted.blocks,
        title: article.title ?? extracted.title,
        byline: article.author ?? extracted.byline,
        language: article.language ?? extracted.language,
        publishedAt: article.publishedAt ?? extracted.publishedAt,
        url: article.url ?? extracted.url,
      }
    }
  }
}

function requestedLanguage(tag: string | undefined): string | undefined {
  if (tag === undefined || !tag.trim()) return undefined
  const canonical = canonicalLanguage(tag)
  if (!canonical) {
    throw new AppError('VALIDATION_FAILED', `Language "${tag}" is not a BCP 47 tag; use e.g. "en", "en-GB" or "pt-BR".`, { details: { field: 'language' } })
  }
  return canonical
}

function segmentId(text: string, kind: SegmentKind): string {
  return createHash('sha256').update(voiceRoleFor({ kind })).update('\0').update(text).digest('hex').slice(0, 16)
}

/**
 * The title as read: page titles often end with " | Author" or " - Site name",
 * which the byline already says (or which is not part of the headline).
 * Script.title keeps the full title.
 */
function spokenTitle(title: string, suffixes: (string | undefined)[], siteNames: string[] = []): string {
  const cleaned = titleWithoutSiteName(title, siteNames)
  if (cleaned !== title) return cleaned
  const m = /^(.{8,}?)\s+[|\-–—:·]\s+([^|\-–—:·]+)$/u.exec(title)
  if (!m) return title
  const tail = comparable(m[2]!)
  return suffixes.some((s) => s && comparable(s) === tail) ? m[1]! : title
}

/** When nothing names the article: its first sentence, shortened. Not read as a separate title segment. */
function fallbackTitle(blocks: Block[], language: string): string {
  const first = blocks[0]?.text ?? ''
  const sentence = splitSentences(first, language)[0] ?? first
  if (sentence.length <= 100) return sentence
  const cut = sentence.slice(0, 100)
  const space = cut.lastIndexOf(' ')
  return `${space > 40 ? cut.slice(0, space) : cut}…`
}

/**
 * Convert an article to a Script. Synchronous and pure. Throws AppError with
 * EMPTY_INPUT, NO_ARTICLE_TEXT, UNSUPPORTED_FORMAT, INPUT_TOO_LARGE,
 * INVALID_ENCODING, BINARY_INPUT, INVALID_JSON or VALIDATION_FAILED.
 */
export function articleToScript(input: ArticleInput, options: SegmentOptions = {}): Script {
  return convertWithDropped(input, options).script
}

/** articleToScript, plus what extraction dropped from the input and why (for `script --explain`, see explain.ts). */
export function convertWithDropped(input: ArticleInput, options: SegmentOptions = {}): { script: Script; dropped: { text: string; reason: string }[] } {
  try {
    return convert(input, options)
  } catch (err) {
    if (isAppError(err)) throw err
    // Anything else is our bug, but callers were promised one error type.
    throw new AppError('UNEXPECTED_ERROR', `Converting the article failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}

function convert(input: ArticleInput, options: SegmentOptions): { script: Script; dropped: { text: string; reason: string }[] } {
  if (!input || (typeof input.content !== 'string' && !(input.content instanceof Uint8Array))) {
    throw new AppError('VALIDATION_FAILED', 'The article content must be a string or bytes.', { details: { field: 'content' } })
  }
  const limits = validateSegmentOptions(options)
  const text = decodeInput(input.content)
  if (!text.trim()) throw new AppError('EMPTY_INPUT', 'The input is empty; send the article text.')
  const format = input.format === undefined ? detectFormat(text) : parseFormat(input.format, 'format')
  const extracted = extract(text, format)

  let blocks = extracted.blocks
  const inputTitle = input.title ? tidyText(input.title) : undefined
  if (inputTitle) blocks = dropTitleHeading(extracted.titleFromBody && extracted.title ? [{ kind: 'heading', text: extracted.title }, ...blocks] : blocks, inputTitle)
  if (blocks.length === 0) {
    throw new AppError('NO_ARTICLE_TEXT', 'No article text was found in the input (only page furniture, code, images or nothing readable).', { details: { format } })
  }

  const sample = blocks.slice(0, 50).map((b) => b.text).join('\n')
  // A language the caller states must be valid; a page's own lang attribute is often junk and is just skipped.
  const language = requestedLanguage(input.language) ?? canonicalLanguage(extracted.language) ?? detectLanguage(`${extracted.title ?? ''}\n${sample}`)
  const lexicon = options.lexicon && lexiconFits(options.lexicon, language) ? options.lexicon : undefined
  const pauses = { ...DEFAULT_PAUSES, ...options.pauses }
  for (const [kind, ms] of Object.entries(pauses)) {
    if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
      throw new AppError('VALIDATION_FAILED', `pauses.${kind} must be a whole number of milliseconds from 0 to 60000 (got ${String(ms)}).`, { details: { field: `pauses.${kind}` } })
    }
  }
  const segOpts = { ...limits, lexicon }

  const segments: Segment[] = []
  const push = (kind: SegmentKind, text: string, blockIndex: number, sectionIndex: number) => {
    const pieces = segmentText(text, language, segOpts)
    pieces.forEach((p, i) => {
      segments.push({
        id: segmentId(p.text, kind),
        kind,
        text: p.text,
        pauseAfterMs: i === pieces.length - 1 ? pauses[kind] : SENTENCE_PAUSE_MS,
        sectionIndex,
        displayText: p.displayText,
        blockIndex,
      })
    })
    return pieces.length
  }

  const title = inputTitle ?? extracted.title
  const byline = input.author ? tidyText(input.author) : extracted.byline
  if (title) push('title', spokenTitle(title, [byline, extracted.siteName], [...(extracted.siteName ? [extracted.siteName] : []), ...(extracted.siteNames ?? [])]), HEADER_BLOCK_INDEX, 0)
  // A byline that is only the site's name ("BBC News") names no author: not read.
  const bylineIsSite = !input.author && byline !== undefined && extracted.siteName !== undefined && comparable(byline) === comparable(extracted.siteName)
  if (byline && !bylineIsSite && comparable(byline) !== comparable(title ?? '')) {
    const by = BY[primaryLanguage(language)]
    const spoken = by && !new RegExp(`^${by}\\b`, 'i').test(byline) ? `${by} ${byline}` : byline
    push('byline', spoken, HEADER_BLOCK_INDEX, 0)
  }
  let section = 0
  let bodySegments = 0
  blocks.forEach((block, index) => {
    const kind: SegmentKind = block.kind === 'heading' && block.text.length > 200 ? 'paragraph' : block.kind
    if (kind === 'heading') section++
    bodySegments += push(kind, block.text, index, section)
  })
  if (bodySegments === 0) {
    throw new AppError('NO_ARTICLE_TEXT', 'The input has no speakable text (only symbols, links or emoji).', { details: { format } })
  }

  const script: Script = {
    title: title ?? fallbackTitle(blocks, language),
    language,
    sourceHash: createHash('sha256').update(input.content).digest('hex'),
    segments,
  }
  if (byline) script.byline = byline
  const url = input.url ?? extracted.url
  if (url) script.url = url
  const publishedAt = input.publishedAt ?? extracted.publishedAt
  if (publishedAt) script.publishedAt = publishedAt
  if (extracted.excerpt) script.excerpt = extracted.excerpt
  return { script, dropped: extracted.dropped ?? [] }
}
