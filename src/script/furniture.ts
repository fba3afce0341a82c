/**
 * Page furniture: what a page shows around and inside the story that a
 * listener must not hear (ad-slot labels, sponsor and newsletter prompts,
 * "Read more"/"Related" lines, the site's name). Found by general signals,
 * never one site's phrases:
 *  - role, class, id, aria-label and data-* names of the element or its
 *    ancestors (ad, sponsor, newsletter, promo, related...), for elements
 *    small beside the story, removed before Readability sees the page;
 *  - text repeated across the page as a short label ("Advertisement" above
 *    every ad slot, "Share" under every photo);
 *  - the site's name (og:site_name, application-name, or the part of <title>
 *    the headline does not have) as a line of its own or as the title's tail;
 *  - links to subscription pages and label-plus-link lines (see walkBlocks).
 */
import { comparable } from './blocks.ts'
import { tidyText } from './normalize.ts'

export interface DroppedBlock {
  text: string
  reason: string
}

/** Name parts that mark furniture, with the reason --explain gives. */
const FURNITURE_WORDS: Record<string, string> = {
  ad: 'ad slot', ads: 'ad slot', adv: 'ad slot', advert: 'ad slot', adverts: 'ad slot', advertisement: 'ad slot', advertising: 'ad slot',
  adslot: 'ad slot', adunit: 'ad slot', adcontainer: 'ad slot', adwrapper: 'ad slot', dfp: 'ad slot',
  sponsor: 'sponsor prompt', sponsored: 'sponsor prompt', sponsorship: 'sponsor prompt',
  newsletter: 'newsletter prompt', newsletters: 'newsletter prompt', subscribe: 'newsletter prompt', subscription: 'newsletter prompt', signup: 'newsletter prompt',
  optin: 'newsletter prompt', paywall: 'newsletter prompt', donate: 'newsletter prompt', membership: 'newsletter prompt',
  promo: 'promo', promotion: 'promo', promoted: 'promo', teaser: 'promo', upsell: 'promo', cta: 'promo',
  related: 'related links', recommended: 'related links', recommendations: 'related links', outbrain: 'related links', taboola: 'related links',
  readmore: 'read-more line', readnext: 'read-more line', morestories: 'related links', alsoread: 'read-more line',
}

const NAME_ATTRIBUTES = new Set(['class', 'id', 'role', 'aria-label', 'aria-roledescription', 'data-component', 'data-module', 'data-testid', 'data-type', 'data-block'])
/** Ad-serving attributes: data-ad-slot, data-ad-unit, data-google-query-id... */
const AD_ATTRIBUTE = /^data-(?:ad|ads|adunit|ad-slot|ad-unit|google-query-id|dfp)(?:-|$)/
/** A cheap first test of an attribute value: most elements have none of these letters in a row. */
const MAYBE = /ad|adv|spons|newslet|subscri|sign|optin|paywall|donat|member|promo|teaser|upsell|cta|relat|recommend|outbrain|taboola|more|next|alsoread/i

type Node = {
  nodeType: number
  nodeName: string
  textContent: string | null
  parentNode?: Node | null
  childNodes: ArrayLike<Node>
}
type El = Node & {
  getAttribute(name: string): string | null
  attributes?: ArrayLike<{ name: string; value: string }>
  remove(): void
}

/** Name parts of a class or id: "article-newsletter_box" -> article, newsletter, box (and the joined forms "adslot"); "navId-AD8090D7" has none ("ad8090d7" is an id, not "ad"). */
function nameParts(value: string): string[] {
  const out: string[] = []
  for (const token of value.toLowerCase().split(/\s+/)) {
    if (!token) continue
    const parts = token.split(/[-_:.]+/).filter(Boolean)
    out.push(...parts)
    for (let i = 0; i + 1 < parts.length; i++) out.push(parts[i]! + parts[i + 1]!)
    out.push(token.replace(/[-_]/g, ''))
  }
  return out
}

/** Why an element is furniture by its own names (role, class, id, aria-label, data-*), or undefined. */
export function furnitureReason(el: El): string | undefined {
  const attributes = el.attributes ?? []
  for (let i = 0; i < attributes.length; i++) {
    const { name, value } = attributes[i]!
    if (AD_ATTRIBUTE.test(name)) return `ad slot (${name})`
    if (!NAME_ATTRIBUTES.has(name) || !value || !MAYBE.test(value)) continue
    for (const part of name === 'aria-label' ? value.toLowerCase().split(/[^a-z]+/) : nameParts(value)) {
      const reason = FURNITURE_WORDS[part]
      if (reason) return `${reason} (${name}="${value.length > 40 ? `${value.slice(0, 40)}…` : value}")`
    }
  }
  return undefined
}

/** The element's text with a space between its text nodes (its blocks would otherwise run together: "inboxOur"), clipped for --explain. */
function spacedText(el: Node): string {
  const parts: string[] = []
  const stack: Node[] = [el]
  while (stack.length) {
    const node = stack.pop()!
    if (node.nodeType === 3) parts.push(node.textContent ?? '')
    else if (node.nodeType === 1 && !/^(?:script|style|noscript|template)$/i.test(node.nodeName)) {
      const kids = node.childNodes
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!)
    }
  }
  const text = tidyText(parts.join(' ')).replace(/\s+([,.;:!?])/g, '$1')
  return text.length > 160 ? `${text.slice(0, 160)}…` : text
}

/**
 * The elements under root in document order, each with the index just past its
 * subtree and its text length (non-space characters), in one pass: reading
 * textContent per element would be quadratic in the page's depth.
 */
interface Tree {
  elements: El[]
  end: number[]
  length: number[]
  parent: number[]
}
export function scanTree(root: El): Tree {
  const elements: El[] = []
  const end: number[] = []
  const length: number[] = []
  const parent: number[] = []
  type Frame = { node: Node; parent: number; exit?: number }
  const stack: Frame[] = [{ node: root, parent: -1 }]
  while (stack.length) {
    const f = stack.pop()!
    if (f.exit !== undefined) {
      end[f.exit] = elements.length
      if (f.parent >= 0) length[f.parent]! += length[f.exit]!
      continue
    }
    const node = f.node
    if (node.nodeType === 3) {
      if (f.parent >= 0) length[f.parent]! += (node.textContent ?? '').replace(/\s+/g, '').length
      continue
    }
    if (node.nodeType !== 1 || /^(?:script|style|noscript|template)$/i.test(node.nodeName)) continue
    const index = elements.length
    elements.push(node as El)
    length.push(0)
    end.push(0)
    parent.push(f.parent)
    stack.push({ node, parent: f.parent, exit: index })
    const kids = node.childNodes // one read: linkedom rebuilds it per access
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]!, parent: index })
  }
  return { elements, end, length, parent }
}

/** Elements never removed here: the story's own containers and headline. */
const KEEP = new Set(['html', 'body', 'main', 'article', 'h1'])
const STORY = new Set(['h1', 'article', 'main'])

/**
 * Removes furniture elements from a page before Readability reads it: an element
 * whose names say ad/sponsor/newsletter/promo/related, holding little text beside
 * the story (a name alone never removes a large share of the page: that is a
 * content wrapper with an unlucky name), and not holding the headline.
 */
export function removeFurniture(body: El, dropped: DroppedBlock[], tree: Tree = scanTree(body)): void {
  const { elements, end, length } = tree
  const bodyLength = length[0] ?? 0
  for (let i = 1; i < elements.length; i++) {
    const el = elements[i]!
    if (KEEP.has(el.nodeName.toLowerCase())) continue
    const reason = furnitureReason(el)
    if (!reason) continue
    const len = length[i]!
    if (len > 1000 || len > 0.2 * bodyLength) continue
    let holdsStory = false
    for (let j = i + 1; j < end[i]! && !holdsStory; j++) holdsStory = STORY.has(elements[j]!.nodeName.toLowerCase())
    if (holdsStory) continue
    const text = spacedText(el)
    if (text) dropped.push({ text, reason })
    el.remove()
    i = end[i]! - 1 // its subtree went with it
  }
}

/** Texts that can be labels: a few words, no sentence punctuation at the end. */
function labelLike(text: string): boolean {
  return text.length > 0 && text.length <= 40 && text.split(' ').length <= 4 && !/[.!?"”»)]$/.test(text)
}

const LABEL_TAGS = new Set(['p', 'div', 'span', 'li', 'a', 'strong', 'b', 'em', 'small', 'section', 'aside', 'figcaption', 'label'])

/**
 * Short label texts that stand as an element of their own more than once on the
 * page ("Advertisement" above each ad slot): comparable forms.
 */
export function repeatedLabels(body: El, tree: Tree = scanTree(body)): Set<string> {
  const { elements, length, parent } = tree
  const counts = new Map<string, number>()
  for (let i = 1; i < elements.length; i++) {
    const len = length[i]!
    if (len === 0 || len > 40 || !LABEL_TAGS.has(elements[i]!.nodeName.toLowerCase())) continue
    // Count the outermost element with this text only (a <p><span>Ad</span></p> is one label).
    const p = parent[i]!
    if (p > 0 && length[p] === len) continue
    const text = tidyText(elements[i]!.textContent ?? '')
    if (!labelLike(text)) continue
    const key = comparable(text)
    if (key) counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return new Set([...counts].filter(([, n]) => n >= 2).map(([k]) => k))
}

/** Separators between a headline and a site name in <title>. */
const SEPARATOR = String.raw`\s*(?:[|\-–—:·•»/,]|\s)\s*`

/**
 * The site's names: og:site_name, application-name, and the part of <title>
 * that the headline (h1 or og:title) does not have ("Headline | Site").
 */
export function siteNames(meta: (name: string) => string | undefined, pageTitle: string | undefined, headline: string | undefined): string[] {
  const names = [meta('og:site_name'), meta('application-name')].filter((n): n is string => !!n && n.length <= 80)
  if (pageTitle && headline) {
    const t = tidyText(pageTitle)
    const h = tidyText(headline)
    if (t.length > h.length && comparable(h).length >= 8) {
      if (t.startsWith(h)) {
        const rest = t.slice(h.length).replace(new RegExp(`^${SEPARATOR}`), '').trim()
        if (rest && rest.length <= 80) names.push(rest)
      } else if (t.endsWith(h)) {
        const rest = t.slice(0, t.length - h.length).replace(new RegExp(`${SEPARATOR}$`), '').trim()
        if (rest && rest.length <= 80) names.push(rest)
      }
    }
  }
  return [...new Set(names.map(tidyText).filter(Boolean))]
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * The title without a site name at its end or start ("Council approves plan, The
 * Riverside Courier" -> "Council approves plan"); unchanged when none is there or
 * nothing would be left.
 */
export function titleWithoutSiteName(title: string, names: (string | undefined)[]): string {
  for (const name of names) {
    if (!name || comparable(name).length < 2) continue
    const n = escapeRegExp(name).replace(/\s+/g, '\\s+')
    const tail = new RegExp(`^(.{8,}?)\\s*(?:[|\\-–—:·•»/,]|\\bon\\b|\\bat\\b)\\s*${n}\\s*$`, 'iu').exec(title)
    if (tail) return tail[1]!.trim()
    const head = new RegExp(`^\\s*${n}\\s*[|\\-–—:·•»/,]\\s*(.{8,})$`, 'iu').exec(title)
    if (head) return head[1]!.trim()
  }
  return title
}
