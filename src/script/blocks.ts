/** A block of the article body in document order, as written (before speech normalization). */
export type BlockKind = 'heading' | 'paragraph' | 'quote' | 'list-item'

export interface Block {
  kind: BlockKind
  text: string
}

/** What each extractor returns: the body plus whatever metadata the source carried. */
export interface Extracted {
  blocks: Block[]
  title?: string
  byline?: string
  language?: string
  excerpt?: string
  /** The publication's name (og:site_name), to tell a site-name byline or title suffix from an author. */
  siteName?: string
  publishedAt?: string
  url?: string
  /** Other names of the site (application-name, the part of <title> the headline lacks): never read as a line or the title's tail. */
  siteNames?: string[]
  /** What the extractor's own rules dropped, and why (for `script --explain`). */
  dropped?: { text: string; reason: string }[]
  /** True when the title was taken from the body's first heading (so that heading is not read twice). */
  titleFromBody?: boolean
}

/** Letters and digits only, lower case: for comparing a heading with the title. */
export function comparable(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '')
}

const URL_ONLY = /^(?:\s*(?:https?:\/\/|www\.)\S+\s*)+$/i

/** Blocks a listener never wants: empty, bare URLs, pure punctuation/emoji. */
export function isSpeakableBlock(text: string): boolean {
  if (!/[\p{L}\p{N}]/u.test(text)) return false
  if (URL_ONLY.test(text)) return false
  return true
}
