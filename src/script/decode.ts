/**
 * Input decoding and the first checks on raw input: size, binary content,
 * encoding, and format detection. Everything here is pure (no I/O).
 */
import { AppError } from '../errors.ts'
import type { InputFormat } from './types.ts'

/**
 * Largest input accepted, in bytes (8 MiB). The biggest real article pages
 * (Guardian live blogs with inline scripts) are 1-3 MB; anything much larger is
 * almost always a mistake (a dump, a binary), and parsing it would hold the
 * event loop for seconds.
 */
export const MAX_INPUT_BYTES = 8 * 1024 * 1024

/** Magic numbers of binary formats people upload by mistake, so the error can name them. */
const MAGIC: { name: string; bytes: number[] }[] = [
  { name: 'PDF', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { name: 'PNG', bytes: [0x89, 0x50, 0x4e, 0x47] },
  { name: 'JPEG', bytes: [0xff, 0xd8, 0xff] },
  { name: 'GIF', bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: 'ZIP (or DOCX/EPUB)', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: 'gzip', bytes: [0x1f, 0x8b] },
  { name: 'MP3', bytes: [0x49, 0x44, 0x33] },
  { name: 'RIFF (WAV/WebP)', bytes: [0x52, 0x49, 0x46, 0x46] },
  { name: 'Ogg', bytes: [0x4f, 0x67, 0x67, 0x53] },
  { name: 'ELF executable', bytes: [0x7f, 0x45, 0x4c, 0x46] },
]

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  if (bytes.length < prefix.length) return false
  return prefix.every((b, i) => bytes[i] === b)
}

/** The charset an HTML page declares in its first bytes (<meta charset> or http-equiv), if any. */
function declaredCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 4096))
  const m = /<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)/i.exec(head)
  return m?.[1]?.toLowerCase()
}

/**
 * Bytes -> string. UTF-8 (BOM stripped) is the contract; UTF-16 with a BOM and
 * HTML pages that declare a legacy charset (windows-1252, iso-8859-x, shift_jis...)
 * are decoded as declared because that is what a browser would do.
 */
export function decodeInput(content: string | Uint8Array): string {
  if (typeof content === 'string') {
    checkSize(Buffer.byteLength(content, 'utf8'))
    const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content
    checkBinary(text)
    return text
  }
  checkSize(content.byteLength)
  for (const m of MAGIC) {
    if (startsWith(content, m.bytes)) {
      throw new AppError('BINARY_INPUT', `The input is a ${m.name} file, not text.`, { details: { detected: m.name } })
    }
  }
  let text: string
  if (startsWith(content, [0xff, 0xfe]) || startsWith(content, [0xfe, 0xff])) {
    const le = content[0] === 0xff
    try {
      text = new TextDecoder(le ? 'utf-16le' : 'utf-16be', { fatal: true }).decode(content.subarray(2))
    } catch (err) {
      throw new AppError('INVALID_ENCODING', 'The input starts with a UTF-16 byte order mark but is not valid UTF-16.', { cause: err })
    }
  } else {
    // A NUL byte never occurs in text, in any 8-bit encoding: test it before decoding
    // so a binary file gets BINARY_INPUT rather than INVALID_ENCODING.
    if (content.includes(0)) throw new AppError('BINARY_INPUT', 'The input contains NUL bytes: it is a binary file, not text.')
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(content)
    } catch (err) {
      const charset = declaredCharset(content)
      if (charset && charset !== 'utf-8' && charset !== 'utf8') {
        try {
          text = new TextDecoder(charset, { fatal: true }).decode(content)
        } catch {
          throw new AppError('INVALID_ENCODING', `The page declares charset "${charset}" but its bytes are neither valid UTF-8 nor valid ${charset}.`, { cause: err })
        }
      } else {
        const at = firstInvalidUtf8(content)
        throw new AppError('INVALID_ENCODING', `The input is not valid UTF-8 (first bad byte at offset ${at}); re-save it as UTF-8.`, {
          cause: err,
          details: { offset: at },
        })
      }
    }
  }
  checkBinary(text)
  return text
}

function checkSize(bytes: number): void {
  if (bytes > MAX_INPUT_BYTES) {
    throw new AppError('INPUT_TOO_LARGE', `The input is ${(bytes / 1048576).toFixed(1)} MB; the limit is ${MAX_INPUT_BYTES / 1048576} MB.`, {
      details: { bytes, limit: MAX_INPUT_BYTES },
      help: `Send only the article (at most ${MAX_INPUT_BYTES / 1048576} MB), not a whole site dump.`,
    })
  }
}

/** Offset of the first byte that breaks UTF-8, for the error message. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const dec = new TextDecoder('utf-8', { fatal: true })
  let lo = 0
  let hi = bytes.length
  // Binary search on prefix validity; a prefix may end inside a valid sequence, so
  // decode with stream:true, which only throws on bytes that can never be valid.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    try {
      dec.decode(bytes.subarray(0, mid + 1), { stream: true })
      dec.decode()
      lo = mid + 1
    } catch {
      hi = mid
    }
  }
  return lo
}

/**
 * Text with NULs or many C0 control characters is a binary file decoded by
 * accident (e.g. a UTF-8-valid binary blob, or a string built from one).
 */
function checkBinary(text: string): void {
  if (text.includes('\0')) throw new AppError('BINARY_INPUT', 'The input contains NUL characters: it is a binary file, not text.')
  const sample = text.length > 65536 ? text.slice(0, 65536) : text
  let control = 0
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f || c === 0xfffd) control++
  }
  if (sample.length >= 16 && control / sample.length > 0.05) {
    throw new AppError('BINARY_INPUT', `The input looks binary: ${((100 * control) / sample.length).toFixed(0)}% of its characters are control characters.`)
  }
}

const HTML_DOC = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i
const HTML_TAG = /<\/?(?:p|div|h[1-6]|article|section|main|span|a|br|ul|ol|li|blockquote|em|strong|b|i|table|figure|img|header|footer|nav|body|html)\b[^>]*>/gi
const MD_SIGNALS: RegExp[] = [
  /^#{1,6}[ \t]+\S/m, // ATX heading
  /^```|^~~~/m, // fenced code
  /\[[^\]\n]+\]\([^)\s]+\)/, // [text](url)
  /^\s{0,3}>[ \t]?\S/m, // block quote
  /^\s{0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+\S/m, // list item
  /(^|\s)(\*\*|__)\S[^\n]*?\S\2(?=\s|[.,;:!?]|$)/m, // **strong**
  /^[^\n]+\n(?:=+|-+)[ \t]*$/m, // setext heading
]

/**
 * Guess the format of decoded text. JSON if it is an object; HTML if it is a
 * document or has several block tags; Markdown if it shows two Markdown signals
 * (one alone, e.g. a "- " line, is common in plain text); else plain text.
 */
export function detectFormat(text: string): InputFormat {
  const t = text.trimStart()
  // An object, even a broken one: '{' then a key or '}' (so INVALID_JSON can say what is wrong).
  if (/^\{\s*["}]/.test(t) || (t.startsWith('{') && text.trimEnd().endsWith('}'))) return 'json'
  if (HTML_DOC.test(t.slice(0, 4096))) return 'html'
  const sample = text.length > 200_000 ? text.slice(0, 200_000) : text
  const tags = sample.match(HTML_TAG)?.length ?? 0
  if (tags >= 2 || (tags === 1 && /^\s*</.test(t))) return 'html'
  let md = 0
  for (const re of MD_SIGNALS) if (re.test(sample)) md++
  const strong = /^#{1,6}[ \t]+\S/m.test(sample) || /^```/m.test(sample) || /\[[^\]\n]+\]\([^)\s]+\)/.test(sample)
  if (md >= 2 || (strong && md >= 1 && /^#{1,6}[ \t]/m.test(sample))) return 'markdown'
  return 'text'
}
