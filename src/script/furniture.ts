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

const NAME_ATTRIBUTES = ['class', 'id', 'role', 'aria-label', 'aria-roledescription', 'data-component', 'data-module', 'data-testid', 'data-type', 'data-block']

type El = {
  nodeName: string
  textContent: string | null
  parentNode?: El | null
  getAttribute(name: string): string | null
  getAttributeNames?: () => string[]
  attributes?: ArrayLike<{ name: string }>
  remove(): void
  querySelector(sel: string): El | null
  querySelectorAll(sel: string): ArrayLike<El>
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
  for (const attr of NAME_ATTRIBUTES) {
    const v = el.getAttribute(attr)
    if (!v) continue
    for (const part of attr === 'aria-label' ? v.toLowerCase().split(/[^a-z]+/) : nameParts(v)) {
      const reason = FURNITURE_WORDS[part]
      if (reason) return `${reason} (${attr}="${v.length > 40 ? `${v.slice(0, 40)}…` : v}")`
    }
  }
  // Ad-serving attributes: data-ad-slot, data-ad-unit, data-google-query-id...
  const names = el.getAttributeNames?.() ?? Array.from(el.attributes ?? [], (a) => a.name)
  const adAttr = names.find((n) => /^data-(?:ad|ads|adunit|ad-slot|ad-unit|google-query-id|dfp)(?:-|$)/.test(n))
  if (adAttr) return `ad slot (${adAttr})`
  return undefined
}

/** The element's text with a space between its text nodes (its blocks would otherwise run together: "inboxOur"), clipped for --explain. */
function spacedText(el: El): string {
  const parts: string[] = []
  const stack: El[] = [el]
  while (stack.length) {
    const node = stack.pop()! as El & { nodeType?: number; childNodes?: ArrayLike<El> }
    if (node.nodeType === 3) parts.push(node.textContent ?? '')
    else if (node.nodeType === 1 && !/^(?:script|style|noscript|template)$/i.test(node.nodeName)) {
      const kids = node.childNodes ?? []
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!)
    }
  }
  const text = tidyText(parts.join(' ')).replace(/\s+([,.;:!?])/g, '$1')
  return text.length > 160 ? `${text.slice(0, 160)}…` : text
}

function length(el: El): number {
  return (el.textContent ?? '').replace(/\s+/g, ' ').trim().length
}

/** Elements never removed here: the story's own containers and headline. */
const KEEP = new Set(['html', 'body', 'main', 'article', 'h1'])

/**
 * Removes furniture elements from a page before Readability reads it: an element
 * whose names say ad/sponsor/newsletter/promo/related, holding little text beside
 * the story (a name alone never removes a large share of the page: that is a
 * content wrapper with an unlucky name), and not holding the headline.
 */
export function removeFurniture(body: El, dropped: DroppedBlock[]): void {
  const bodyLength = length(body)
  const all = Array.from(body.querySelectorAll('*'))
  const removed = new Set<El>()
  for (const el of all) {
    if (KEEP.has(el.nodeName.toLowerCase())) continue
    let p = el.parentNode
    let gone = false
    while (p && !gone) {
      gone = removed.has(p)
      p = p.parentNode
    }
    if (gone) continue
    const reason = furnitureReason(el)
    if (!reason) continue
    const len = length(el)
    if (len > 1200 || len > 0.2 * bodyLength || el.querySelector('h1, article, main')) continue
    removed.add(el)
    const text = spacedText(el)
    if (text) dropped.push({ text, reason })
    el.remove()
  }
}

/** Texts that can be labels: a few words, no sentence punctuation at the end. */
function labelLike(text: string): boolean {
  return text.length > 0 && text.length <= 40 && text.split(' ').length <= 4 && !/[.!?"”»)]$/.test(text)
}

/**
 * Short label texts that stand as an element of their own more than once on the
 * page ("Advertisement" above each ad slot): comparable forms.
 */
export function repeatedLabels(body: El): Set<string> {
  const counts = new Map<string, number>()
  for (const el of Array.from(body.querySelectorAll('p, div, span, li, a, strong, b, em, small, section, aside, figcaption, label'))) {
    const text = tidyText(el.textContent ?? '')
    if (!labelLike(text)) continue
    // Count the outermost element with this text only (a <p><span>Ad</span></p> is one label).
    const parent = el.parentNode
    if (parent && tidyText(parent.textContent ?? '') === text) continue
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
