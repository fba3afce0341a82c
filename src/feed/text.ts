/**
 * Text cleaning for XML 1.0 output.
 *
 * XML 1.0 only allows these characters (https://www.w3.org/TR/xml/#charsets):
 *   #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
 * A single forbidden character makes the whole feed unreadable in podcast apps,
 * so every string that goes into a feed passes through `xmlSafeText` first:
 *
 * - C0 controls except tab and newline are removed (U+0000-U+0008, U+000B,
 *   U+000C, U+000E-U+001F), and so are DEL (U+007F) and the C1 controls
 *   (U+0080-U+009F): XML 1.0 allows C1 but they are always mojibake in article
 *   text (cp1252 read as latin-1) and some parsers reject them.
 * - CR LF and lone CR become LF: XML parsers normalize line ends that way, so
 *   doing it here keeps what we write equal to what a parser reads back.
 * - Lone UTF-16 surrogates (what invalid UTF-8 or a cut emoji leaves behind)
 *   become U+FFFD, the replacement character.
 * - The noncharacters U+FFFE and U+FFFF are removed.
 * - Leading and trailing whitespace is trimmed (feed parsers trim it too).
 *
 * Markup characters (&, <, >, quotes, "]]>") are left alone: the XML writer
 * escapes them or puts the text in CDATA, splitting any "]]>".
 */

// eslint-disable-next-line no-control-regex
const FORBIDDEN_CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]/g
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

// Anything the cleaning would touch; most text has none of it and only needs trimming.
// eslint-disable-next-line no-control-regex
const NEEDS_CLEANING = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\uD800-\uDFFF\uFFFE\uFFFF]/

export function xmlSafeText(value: string | null | undefined): string {
  if (value === null || value === undefined) return ''
  const text = String(value)
  if (!NEEDS_CLEANING.test(text)) return text.trim()
  return text
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/\r\n?/g, '\n')
    .replace(FORBIDDEN_CONTROLS, '')
    .trim()
}

/** One line of text: also folds newlines and runs of whitespace to single spaces (titles, names). */
export function xmlSafeLine(value: string | null | undefined): string {
  return xmlSafeText(value).replace(/\s+/g, ' ')
}

/** Escape text for an HTML fragment (content:encoded), after cleaning it. */
const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(value: string): string {
  return /[&<>"']/.test(value) ? value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!) : value
}
