/**
 * HTML -> blocks. Full pages go through @mozilla/readability on a linkedom DOM
 * (the same extraction Firefox Reader View uses); fragments, Markdown rendered
 * to HTML, and pages Readability gives up on are walked directly. Either way the
 * walker below drops what must not be read: widgets, captions, code, tables.
 */
import { createRequire } from 'node:module'
import type { Readability as ReadabilityClass } from '@mozilla/readability'
import type { parseHTML as ParseHTML } from 'linkedom'
import { type Block, type BlockKind, type Extracted, comparable, isSpeakableBlock } from './blocks.ts'
import { type DroppedBlock, furnitureReason, removeFurniture, repeatedLabels, scanTree, siteNames } from './furniture.ts'
import { tidyText } from './normalize.ts'

/**
 * linkedom and Readability load on the first HTML input, not with this module: linkedom alone
 * takes ~125 ms to load, which a plain-text or Markdown conversion (and a CLI re-render of
 * one) would otherwise pay at start-up. Their CommonJS builds, so loading stays synchronous.
 */
const requireHere = createRequire(import.meta.url)
let dom: { parseHTML: typeof ParseHTML; Readability: typeof ReadabilityClass } | undefined
function domLibs(): NonNullable<typeof dom> {
  dom ??= {
    parseHTML: (requireHere('linkedom') as { parseHTML: typeof ParseHTML }).parseHTML,
    Readability: (requireHere('@mozilla/readability') as { Readability: typeof ReadabilityClass }).Readability,
  }
  return dom
}

/** Elements whose content is never read. */
const SKIP_TAGS = new Set([
  'script', 'style', 'noscript', 'template', 'nav', 'aside', 'footer', 'form', 'button', 'select', 'input', 'textarea',
  'label', 'iframe', 'object', 'embed', 'svg', 'canvas', 'video', 'audio', 'picture', 'img', 'figure', 'figcaption',
  'pre', 'dialog', 'menu', 'math', 'head', 'title', 'meta', 'link', 'source', 'track', 'map', 'area', 'caption', 'del', 's',
])
const BLOCK_TAGS = new Set([
  'p', 'div', 'section', 'article', 'main', 'header', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li', 'dl',
  'dt', 'dd', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th', 'hr', 'address', 'center', 'details', 'summary', 'body', 'html', 'hgroup',
])
/** Parts of class/id names that mark page furniture (a class like "article-share" splits into "article" and "share"). */
const WIDGET_WORDS = new Set([
  'share', 'sharing', 'sharebar', 'social', 'comment', 'comments', 'newsletter', 'subscribe', 'subscription', 'signup', 'related',
  'recommended', 'promo', 'advert', 'advertisement', 'ad', 'ads', 'adslot', 'sponsor', 'sponsored', 'banner', 'popup', 'modal',
  'cookie', 'consent', 'breadcrumb', 'breadcrumbs', 'toolbar', 'listen', 'player', 'tts', 'caption', 'credit', 'credits', 'byline',
  'paywall', 'outbrain', 'taboola', 'skip', 'offscreen', 'hidden', 'visually', 'sronly', 'tags', 'tools', 'print', 'email', 'follow',
  'more', 'readmore', 'read', 'nav', 'menu', 'masthead', 'footer', 'timestamp', 'dateline',
])
const WIDGET_ROLES = new Set(['navigation', 'banner', 'contentinfo', 'complementary', 'button', 'menu', 'menubar', 'toolbar', 'dialog', 'alert', 'search', 'tablist', 'img', 'figure'])
const FOOTNOTE = /^\s*(?:\[?\s*(?:\d{1,3}|[a-z]|[ivx]{1,4})\s*\]?|[*†‡§¶]+)\s*$/i

// linkedom's node types, kept loose: we only read.
type DomNode = { nodeType: number; nodeName: string; childNodes: ArrayLike<DomNode>; textContent: string | null; parentNode?: DomNode | null }
type DomElement = DomNode & { getAttribute(name: string): string | null; querySelectorAll(sel: string): ArrayLike<DomElement> }

function textLength(el: DomNode): number {
  return (el.textContent ?? '').replace(/\s+/g, ' ').length
}

function isWidget(el: DomElement, rootTextLength: number): boolean {
  if (el.getAttribute('hidden') !== null || el.getAttribute('aria-hidden') === 'true') return true
  const role = el.getAttribute('role')
  if (role && WIDGET_ROLES.has(role.toLowerCase())) return true
  const style = el.getAttribute('style')
  if (style && /display\s*:\s*none|visibility\s*:\s*hidden/i.test(style)) return true
  const names = `${el.getAttribute('class') ?? ''} ${el.getAttribute('id') ?? ''} ${el.getAttribute('data-component') ?? ''}`.toLowerCase()
  if (!names.trim()) return false
  const hit = names.split(/\s+/).some((token) => token.split(/[-_]+|(?<=[a-z])(?=\d)/).some((part) => WIDGET_WORDS.has(part)) || WIDGET_WORDS.has(token.replace(/[-_]/g, '')))
  if (!hit) return false
  // A class name alone must never drop the article itself: a "widget" that holds a
  // large share of the text is a content wrapper with an unlucky name.
  const len = textLength(el)
  return len < 1500 && len < 0.25 * rootTextLength
}

/** A table of data (not layout): header cells, or many short cells without paragraphs. */
function isDataTable(el: DomElement): boolean {
  if (el.querySelectorAll('th').length > 0) return true
  if (el.querySelectorAll('p').length > 0) return false
  const cells = el.querySelectorAll('td')
  if (cells.length < 2) return false
  let total = 0
  for (let i = 0; i < cells.length; i++) total += textLength(cells[i]!)
  return total / cells.length < 80
}

/** A list whose every item is just a link: a menu or "related stories", not prose. */
function isLinkList(el: DomElement): boolean {
  const items = el.querySelectorAll('li')
  if (items.length < 3) return false
  for (let i = 0; i < items.length; i++) {
    const li = items[i]!
    const links = li.querySelectorAll('a')
    let linkText = 0
    for (let j = 0; j < links.length; j++) linkText += textLength(links[j]!)
    if (linkText < 0.9 * textLength(li)) return false
  }
  return true
}

/**
 * A one-item list right after a figure or image is its caption (The Guardian
 * renders captions so, and Readability keeps them).
 */
function isCaptionList(el: DomElement): boolean {
  if (el.querySelectorAll('li').length !== 1) return false
  const prev = (el as unknown as { previousElementSibling: DomElement | null }).previousElementSibling
  if (!prev) return false
  const tag = prev.nodeName.toLowerCase()
  return tag === 'figure' || tag === 'picture' || tag === 'img' || prev.querySelectorAll('img, picture').length > 0
}

/** A paragraph that is only an in-page/javascript link or a button-like control: UI, not text. */
function isControlLink(el: DomElement): boolean {
  const href = el.getAttribute('href')
  return href !== null && (href === '#' || href.startsWith('javascript:'))
}

/** Comparable forms of the images' alt texts (long enough to be descriptions, not "logo"). */
function imageAlts(root: DomElement): string[] {
  const out: string[] = []
  const imgs = root.querySelectorAll('img[alt]')
  for (let i = 0; i < imgs.length; i++) {
    const alt = comparable(imgs[i]!.getAttribute('alt') ?? '')
    if (alt.length >= 20) out.push(alt)
  }
  return out
}

/** The block repeats an alt text, possibly with a credit appended or a final stop dropped. */
function isCaptionOf(text: string, alts: string[]): boolean {
  if (alts.length === 0) return false
  const c = comparable(text)
  if (c.length < 20) return false
  return alts.some((alt) => alt === c || (c.startsWith(alt) && alt.length >= 0.6 * c.length) || (alt.startsWith(c) && c.length >= 0.8 * alt.length))
}

/** Links to subscription, sign-up and donation pages: a short block around one is a prompt, not story. */
const PROMPT_HREF = /\/(?:newsletters?|subscribe|subscription|subscriptions|signup|sign-up|register|membership|donate|join)(?:[/?#._-]|$)|[?&](?:utm_campaign|cmp)=[^&]*(?:newsletter|subscri)/i

/** A short label, a separator, then a link: "Related: ...", "READ MORE | ...", "See also » ...". */
const LABEL_THEN_LINK = /^([^:|»›]{1,30}?)\s*[:|»›]\s*/

const NO_SPACES = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u

export interface WalkContext {
  /** Comparable forms of short labels repeated across the page (see repeatedLabels). */
  repeated?: Set<string>
  /** Comparable forms of the site's names. */
  siteNames?: Set<string>
  /** Receives what was dropped and why. */
  dropped?: DroppedBlock[]
}

function clip(text: string): string {
  return text.length > 160 ? `${text.slice(0, 160)}…` : text
}

/**
 * Walk the DOM into blocks, iteratively (malformed pages can nest tens of
 * thousands deep; recursion would overflow the stack).
 */
export function walkBlocks(root: DomElement, context: WalkContext = {}): Block[] {
  const dropped = context.dropped ?? []
  const blocks: Block[] = []
  const rootLen = textLength(root)
  const alts = imageAlts(root)
  let buffer = ''
  let linkText = 0
  let promptLink = ''
  let inLink = 0
  let pendingBr = false
  const kinds: BlockKind[] = ['paragraph']
  const flush = () => {
    pendingBr = false
    const text = tidyText(buffer)
    const linked = linkText
    const prompt = promptLink
    buffer = ''
    linkText = 0
    promptLink = ''
    if (!text || !isSpeakableBlock(text)) return
    const kind = kinds[kinds.length - 1]!
    const drop = (reason: string) => dropped.push({ text: clip(text), reason })
    const words = text.split(' ').length
    // A short paragraph that is all link is a call to action ("Read the full transcript", "Continue reading").
    if (kind === 'paragraph' && linked >= 0.9 * text.length && words < 12) return drop('all link (a call to action)')
    // A caption: the same words as an image's alt text (sites repeat alt as the visible caption).
    if (kind !== 'heading' && isCaptionOf(text, alts)) return drop('image caption (repeats the alt text)')
    const key = comparable(text)
    if (context.siteNames?.has(key)) return drop("the site's name")
    if (context.repeated?.has(key) && words <= 4 && !/[.!?"”»)]$/.test(text)) return drop('a short label repeated across the page')
    if (prompt && kind !== 'heading' && words < 50) return drop(`links to a subscription page (${prompt.length > 60 ? `${prompt.slice(0, 60)}…` : prompt})`)
    const label = kind !== 'heading' && words < 25 ? LABEL_THEN_LINK.exec(text) : null
    if (label && label[1]!.split(' ').length <= 4 && linked >= 0.85 * (text.length - label[0].length)) return drop('a label and a link (a "Read more"/"Related" line)')
    blocks.push({ kind, text })
  }
  type Frame = { node: DomNode; exit?: 'block' | 'kind' | 'link' }
  const stack: Frame[] = []
  const pushChildren = (node: DomNode) => {
    // Read childNodes once: linkedom rebuilds the array on every access (O(n) each).
    const kids = node.childNodes
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]! })
  }
  pushChildren(root)
  while (stack.length) {
    const frame = stack.pop()!
    const node = frame.node
    if (frame.exit === 'link') {
      inLink--
      continue
    }
    if (frame.exit) {
      flush()
      if (frame.exit === 'kind') kinds.pop()
      continue
    }
    if (node.nodeType === 3) {
      const t = node.textContent ?? ''
      if (pendingBr && /\S/.test(t)) pendingBr = false
      buffer += t
      if (inLink > 0) linkText += t.replace(/\s+/g, ' ').length
      continue
    }
    if (node.nodeType !== 1) continue
    const el = node as DomElement
    const tag = el.nodeName.toLowerCase()
    if (SKIP_TAGS.has(tag)) continue
    if (tag === 'br') {
      // <br><br> is how old pages and CMS fragments separate paragraphs.
      if (pendingBr) flush()
      else buffer += ' '
      pendingBr = !pendingBr
      continue
    }
    if (tag === 'sup' && FOOTNOTE.test(el.textContent ?? '')) continue
    if (tag === 'a' && isControlLink(el)) continue
    if (tag !== 'body' && tag !== 'html' && isWidget(el, rootLen)) {
      const t = tidyText(el.textContent ?? '')
      if (t && isSpeakableBlock(t)) dropped.push({ text: clip(t), reason: furnitureReason(el as never) ?? `page widget (${['role', 'class', 'id', 'aria-hidden', 'hidden', 'style'].map((a) => (el.getAttribute(a) !== null ? `${a}="${el.getAttribute(a)}"` : '')).filter(Boolean).join(' ').slice(0, 60)})` })
      continue
    }
    if (!BLOCK_TAGS.has(tag)) {
      if (tag === 'a' && el.getAttribute('href') !== null) {
        const href = el.getAttribute('href')!
        if (PROMPT_HREF.test(href)) promptLink = href
        inLink++
        stack.push({ node: el, exit: 'link' })
      }
      pushChildren(el)
      continue
    }
    flush()
    if (/^h[1-6]$/.test(tag)) {
      kinds.push('heading')
      stack.push({ node: el, exit: 'kind' })
    } else if (tag === 'blockquote') {
      kinds.push('quote')
      stack.push({ node: el, exit: 'kind' })
    } else if (tag === 'li' || tag === 'dt' || tag === 'dd') {
      kinds.push(kinds[kinds.length - 1] === 'quote' ? 'quote' : 'list-item')
      stack.push({ node: el, exit: 'kind' })
    } else if (tag === 'table') {
      if (isDataTable(el)) continue
      stack.push({ node: el, exit: 'block' })
    } else if ((tag === 'ul' || tag === 'ol') && (isLinkList(el) || isCaptionList(el))) {
      continue
    } else {
      stack.push({ node: el, exit: 'block' })
    }
    pushChildren(el)
  }
  flush()
  // By size and position: a one- or two-word line without punctuation standing between paragraphs of the
  // story (or before its first one) is a label ("Sponsored", "Advertisement", "Anzeige"), not a sentence.
  return blocks.filter((b, i) => {
    // (Words are counted by spaces: not for scripts written without them, where a short line is a sentence.)
    if (b.kind !== 'paragraph' || b.text.length > 25 || b.text.split(' ').length > 2 || /[.!?:;"”»)\]]$/.test(b.text) || NO_SPACES.test(b.text)) return true
    const prev = blocks[i - 1]
    const next = blocks[i + 1]
    if (!next || next.kind !== 'paragraph' || (prev && prev.kind !== 'paragraph')) return true
    dropped.push({ text: b.text, reason: 'a one- or two-word label between paragraphs' })
    return false
  })
}

/** True for a whole document (doctype, <html>, <head> or <body>), false for a fragment. */
export function isFullPage(html: string): boolean {
  return /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*<(?:!doctype|html[\s>]|head[\s>])/i.test(html.slice(0, 4096)) || /<body[\s>]/i.test(html)
}

function metaContent(doc: Document, names: string[]): string | undefined {
  for (const name of names) {
    const el = doc.querySelector(`meta[property="${name}"], meta[name="${name}"], meta[itemprop="${name}"]`)
    const v = el?.getAttribute('content')?.trim()
    if (v) return v
  }
  return undefined
}

/** Drop the first heading when it just repeats the title (Readability keeps the page's h1). */
export function dropTitleHeading(blocks: Block[], title: string | undefined): Block[] {
  if (!title) return blocks
  const t = comparable(title)
  if (!t) return blocks
  const i = blocks.findIndex((b, idx) => idx < 3 && b.kind === 'heading')
  if (i < 0) return blocks
  const h = comparable(blocks[i]!.text)
  const same = h === t || (h.length >= 0.6 * t.length && t.startsWith(h)) || (t.length >= 0.6 * h.length && h.startsWith(t))
  return same ? blocks.filter((_, idx) => idx !== i) : blocks
}

function fragmentTitle(blocks: Block[]): { title?: string; blocks: Block[]; titleFromBody?: boolean } {
  const first = blocks[0]
  if (first?.kind === 'heading') return { title: first.text, blocks: blocks.slice(1), titleFromBody: true }
  return { blocks }
}

/** An HTML fragment (or Markdown rendered to HTML): walked directly, its leading heading is the title. */
export function extractFragment(html: string): Extracted {
  const { document } = domLibs().parseHTML(`<!doctype html><html><head></head><body>${html}</body></html>`)
  const body = document.body as unknown as DomElement
  const dropped: DroppedBlock[] = []
  const repeated = maxDepth(body) > MAX_READABILITY_DEPTH ? undefined : repeatedLabels(body as never)
  return { ...fragmentTitle(walkBlocks(body, { dropped, repeated })), dropped }
}

/** Deeper than any real page (browsers' parsers cap nesting at 512, real articles stay under 100). */
export const MAX_READABILITY_DEPTH = 400

/** Maximum element depth, iteratively (recursion would overflow on the pages this guards against). */
function maxDepth(root: DomNode | null): number {
  if (!root) return 0
  let max = 0
  const stack: [DomNode, number][] = [[root, 1]]
  while (stack.length) {
    const [node, depth] = stack.pop()!
    if (depth > max) max = depth
    const kids = node.childNodes // one read: linkedom rebuilds it per access
    for (let i = 0; i < kids.length; i++) {
      const child = kids[i]!
      if (child.nodeType === 1) stack.push([child, depth + 1])
    }
  }
  return max
}

/** A full page: Readability finds the article; if it cannot, the body is walked as a fragment. */
export function extractPage(html: string): Extracted {
  const { parseHTML, Readability } = domLibs()
  const { document } = parseHTML(html)
  const doc = document as unknown as Document
  const lang = doc.documentElement?.getAttribute('lang') ?? undefined
  const publishedAt = metaContent(doc, ['article:published_time', 'datePublished', 'date', 'dc.date'])
  const pageUrl = metaContent(doc, ['og:url']) ?? doc.querySelector('link[rel="canonical"]')?.getAttribute('href') ?? undefined
  // Furniture goes before Readability sees the page: its names are on the element or an ancestor,
  // which Readability's output no longer has. Labels repeated across the page are counted first.
  // (Not on absurdly deep trees, see tooDeep: both passes read the text of nested elements.)
  const tooDeep = maxDepth(doc.documentElement as unknown as DomNode) > MAX_READABILITY_DEPTH
  const dropped: DroppedBlock[] = []
  const pageBody = tooDeep ? null : (doc.body as unknown as Parameters<typeof removeFurniture>[0] | null)
  const tree = pageBody ? scanTree(pageBody) : undefined
  const repeated = pageBody ? repeatedLabels(pageBody, tree) : new Set<string>()
  const names = siteNames(
    (name) => metaContent(doc, [name]),
    doc.querySelector('title')?.textContent ?? undefined,
    doc.querySelector('h1')?.textContent ?? metaContent(doc, ['og:title']),
  )
  if (pageBody) removeFurniture(pageBody, dropped, tree)
  let article: ReturnType<ReadabilityClass<DomElement>['parse']> = null
  // Readability's scoring walks ancestors and inner text per node: on absurdly deep
  // trees (a malformed or hostile page) that is quadratic and takes minutes. Real
  // pages nest a few dozen levels; past MAX_READABILITY_DEPTH the body is walked directly.
  if (!tooDeep) {
    try {
      // keepClasses: the walker needs class names to recognize widgets Readability left in.
      article = new Readability<DomElement>(doc, { keepClasses: true, serializer: (el) => el as unknown as DomElement }).parse()
    } catch {
      // Readability throws on some malformed trees; the page is then walked as is,
      // which still extracts what it can.
      article = null
    }
  }
  if (article?.siteName) names.push(tidyText(article.siteName))
  const context: WalkContext = { dropped, repeated, siteNames: new Set(names.map(comparable).filter((n) => n.length >= 3)) }
  if (article?.content) {
    const blocks = dropTitleHeading(walkBlocks(article.content, context), article.title ?? undefined)
    if (blocks.length > 0) {
      return {
        siteNames: names,
        dropped,
        blocks,
        title: tidyText(article.title ?? '') || undefined,
        byline: tidyText(article.byline ?? '') || undefined,
        language: article.lang ?? lang,
        excerpt: tidyText(article.excerpt ?? '') || undefined,
        siteName: tidyText(article.siteName ?? '') || undefined,
        publishedAt: article.publishedTime ?? publishedAt,
        url: pageUrl,
      }
    }
  }
  // Readability found nothing (short page, odd markup): re-parse (it mutated the
  // document) and walk the body, widgets dropped as for fragments.
  const fresh = parseHTML(html).document
  const body = (fresh.body ?? fresh.documentElement) as unknown as DomElement | null
  const titleText = tidyText(fresh.querySelector('title')?.textContent ?? '') || undefined
  dropped.length = 0
  if (body && !tooDeep) removeFurniture(body as never, dropped)
  const walked = body ? walkBlocks(body, context) : []
  const h1 = walked.find((b) => b.kind === 'heading')
  const title = titleText ?? h1?.text
  return { blocks: dropTitleHeading(walked, title), title, language: lang, publishedAt, url: pageUrl, siteNames: names, dropped }
}
