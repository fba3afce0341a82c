/**
 * Small SSML helpers shared by engines: escaping plain text (with a map back to
 * the original offsets, for word timings), a well-formedness check so broken
 * markup is refused with SSML_REJECTED before any engine sees it, and
 * stripping tags for engines/voices that take no SSML.
 */
import { AppError } from '../errors.ts'

/** XML-escape text; map[i] is the original offset of escaped character i (map[escaped.length] = text.length). */
export function escapeXmlWithMap(text: string): { escaped: string; map: Int32Array } {
  let out = ''
  const map: number[] = []
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    const rep = ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch
    out += rep
    for (let k = 0; k < rep.length; k++) map.push(i)
  }
  map.push(text.length)
  return { escaped: out, map: Int32Array.from(map) }
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const TAG = /<\/?([A-Za-z][\w:-]*)((?:\s+[\w:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g

/**
 * Throws SSML_REJECTED (naming `who`) unless the markup is balanced XML with a
 * single <speak> root (added when missing). Returns the SSML with the root.
 */
export function checkSsml(ssml: string, who: string): string {
  const trimmed = ssml.trim()
  const doc = /^<speak[\s>]/.test(trimmed) ? trimmed : `<speak>${trimmed}</speak>`
  const stack: string[] = []
  let rootClosed = false
  for (const m of doc.matchAll(TAG)) {
    const raw = m[0]
    if (raw.startsWith('<!--') || raw.startsWith('<?')) continue
    if (raw === '<') throw new AppError('SSML_REJECTED', `SSML for ${who} has a stray "<" at offset ${m.index}; escape it as &lt;.`)
    if (raw.startsWith('&')) throw new AppError('SSML_REJECTED', `SSML for ${who} has a bare "&" at offset ${m.index}; escape it as &amp;.`)
    const name = m[1]!
    if (rootClosed) throw new AppError('SSML_REJECTED', `SSML for ${who} has content after </speak>.`)
    if (raw.startsWith('</')) {
      const open = stack.pop()
      if (open !== name) throw new AppError('SSML_REJECTED', `SSML for ${who}: </${name}> at offset ${m.index} does not close <${open ?? 'nothing'}>.`)
      if (stack.length === 0) rootClosed = true
    } else if (m[3] !== '/') {
      stack.push(name)
    }
  }
  if (stack.length > 0) throw new AppError('SSML_REJECTED', `SSML for ${who}: <${stack[stack.length - 1]}> is never closed.`)
  return doc
}

/** Plain text from SSML: tags dropped, entities decoded (for voices that take no SSML). */
export function ssmlToText(ssml: string): string {
  return ssml
    .replace(/<break\b[^>]*>/gi, ' ')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim()
}
