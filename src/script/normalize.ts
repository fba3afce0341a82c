/**
 * Normalization for speech: the text a voice should read, from the text as
 * written. Typography, emoji, footnote markers and URLs are handled for every
 * language; symbols and abbreviations that engines misread (%, &, currency,
 * degrees, ranges, e.g., Dr.) are spelled out for the languages in WORDS, and
 * left to the engine elsewhere.
 *
 * Normalization works sentence by sentence (see normalizeForSpeech), so the
 * segmenter can keep a mapping from each spoken piece to the text as written.
 */
import { primaryLanguage } from './language.ts'
import { speakWrittenForms } from './spoken/index.ts'

interface LanguageWords {
  percent: string
  and: string
  to: string
  plus: string
  minus: string
  plusMinus: string
  degrees: string
  degree: string
  celsius: string
  fahrenheit: string
  dot: string
  at: string
}

const WORDS: Record<string, LanguageWords> = {
  en: { percent: 'percent', and: 'and', to: 'to', plus: 'plus', minus: 'minus', plusMinus: 'plus or minus', degrees: 'degrees', degree: 'degree', celsius: 'Celsius', fahrenheit: 'Fahrenheit', dot: 'dot', at: 'at' },
  de: { percent: 'Prozent', and: 'und', to: 'bis', plus: 'plus', minus: 'minus', plusMinus: 'plus minus', degrees: 'Grad', degree: 'Grad', celsius: 'Celsius', fahrenheit: 'Fahrenheit', dot: 'Punkt', at: 'at' },
  fr: { percent: 'pour cent', and: 'et', to: 'à', plus: 'plus', minus: 'moins', plusMinus: 'plus ou moins', degrees: 'degrés', degree: 'degré', celsius: 'Celsius', fahrenheit: 'Fahrenheit', dot: 'point', at: 'arobase' },
  es: { percent: 'por ciento', and: 'y', to: 'a', plus: 'más', minus: 'menos', plusMinus: 'más o menos', degrees: 'grados', degree: 'grado', celsius: 'Celsius', fahrenheit: 'Fahrenheit', dot: 'punto', at: 'arroba' },
  pt: { percent: 'por cento', and: 'e', to: 'a', plus: 'mais', minus: 'menos', plusMinus: 'mais ou menos', degrees: 'graus', degree: 'grau', celsius: 'Celsius', fahrenheit: 'Fahrenheit', dot: 'ponto', at: 'arroba' },
  it: { percent: 'per cento', and: 'e', to: 'a', plus: 'più', minus: 'meno', plusMinus: 'più o meno', degrees: 'gradi', degree: 'grado', celsius: 'Celsius', fahrenheit: 'Fahrenheit', dot: 'punto', at: 'chiocciola' },
  nl: { percent: 'procent', and: 'en', to: 'tot', plus: 'plus', minus: 'min', plusMinus: 'plus of min', degrees: 'graden', degree: 'graad', celsius: 'Celsius', fahrenheit: 'Fahrenheit', dot: 'punt', at: 'apenstaartje' },
}

/** [pattern, replacement]; patterns are matched only before a space, punctuation or the end. */
const ABBREVIATIONS: Record<string, [RegExp, string][]> = {
  en: [
    // After a street name and not before a name: "Elm Dr." is Elm Drive, "Baker St." Baker Street (not Doctor or Saint).
    [/(?<=\p{Lu}\p{Ll}+\s)Dr\.(?=[\s,;:)]|$)(?!\s+\p{Lu}\p{Ll})/gu, 'Drive'],
    [/(?<=\p{Lu}\p{Ll}+\s)St\.(?=[\s,;:)]|$)(?!\s+\p{Lu}\p{Ll})/gu, 'Street'],
    [/\b[Ee]\.\s?g\.(?=[\s,;:)]|$)/g, 'for example'],
    [/\b[Ii]\.\s?e\.(?=[\s,;:)]|$)/g, 'that is'],
    [/\betc\.(?=[\s,;:)]|$)/g, 'et cetera'],
    [/\b[Vv]s\.?(?=\s)/g, 'versus'],
    [/\bMr\.(?=\s)/g, 'Mister'],
    [/\bMrs\.(?=\s)/g, 'Missus'],
    [/\bMs\.(?=\s)/g, 'Miz'],
    [/\bDr\.(?=\s)/g, 'Doctor'],
    [/\bProf\.(?=\s)/g, 'Professor'],
    [/\bSt\.(?=\s\p{Lu})/gu, 'Saint'],
    [/\bJr\.(?=[\s,;:)]|$)/g, 'Junior'],
    [/\bSr\.(?=[\s,;:)]|$)/g, 'Senior'],
    [/\bGov\.(?=\s)/g, 'Governor'],
    [/\bSen\.(?=\s)/g, 'Senator'],
    [/\bRep\.(?=\s)/g, 'Representative'],
    [/\bGen\.(?=\s)/g, 'General'],
    [/\bSgt\.(?=\s)/g, 'Sergeant'],
    [/\bLt\.(?=\s)/g, 'Lieutenant'],
    [/\bCol\.(?=\s\p{Lu})/gu, 'Colonel'],
    [/\bCapt\.(?=\s)/g, 'Captain'],
    [/\bCmdr\.(?=\s)/g, 'Commander'],
    [/\bMt\.(?=\s\p{Lu})/gu, 'Mount'],
    [/\bFt\.(?=\s\p{Lu})/gu, 'Fort'],
    [/\bNo\.(?=\s?\d)/g, 'number'],
    [/\bapprox\.(?=\s)/gi, 'approximately'],
    [/\bDept\.(?=[\s,;:)]|$)/g, 'Department'],
    [/\bCorp\.(?=[\s,;:)]|$)/g, 'Corporation'],
    [/\bLtd\.(?=[\s,;:)]|$)/g, 'Limited'],
    [/\bInc\.(?=[\s,;:)]|$)/g, 'Incorporated'],
    [/\bJan\.(?=\s)/g, 'January'],
    [/\bFeb\.(?=\s)/g, 'February'],
    [/\bAug\.(?=\s)/g, 'August'],
    [/\bSept?\.(?=\s)/g, 'September'],
    [/\bOct\.(?=\s)/g, 'October'],
    [/\bNov\.(?=\s)/g, 'November'],
    [/\bDec\.(?=\s)/g, 'December'],
  ],
  de: [
    [/\bz\.\s?B\.(?=[\s,;:)]|$)/g, 'zum Beispiel'],
    [/\bd\.\s?h\.(?=[\s,;:)]|$)/g, 'das heißt'],
    [/\bu\.\s?a\.(?=[\s,;:)]|$)/g, 'unter anderem'],
    [/\busw\.(?=[\s,;:)]|$)/g, 'und so weiter'],
    [/\bbzw\.(?=[\s,;:)]|$)/g, 'beziehungsweise'],
    [/\bca\.(?=\s)/g, 'circa'],
    [/\bNr\.(?=\s?\d)/g, 'Nummer'],
    [/\bDr\.(?=\s)/g, 'Doktor'],
    [/\bProf\.(?=\s)/g, 'Professor'],
  ],
  fr: [
    [/\bM\.(?=\s\p{Lu})/gu, 'Monsieur'],
    [/\bMme(?=\s\p{Lu})/gu, 'Madame'],
    [/\bMlle(?=\s\p{Lu})/gu, 'Mademoiselle'],
    [/\betc\.(?=[\s,;:)]|$)/g, 'et cetera'],
    [/\bDr(?=\s\p{Lu})/gu, 'Docteur'],
  ],
  es: [
    [/\bSr\.(?=\s)/g, 'señor'],
    [/\bSra\.(?=\s)/g, 'señora'],
    [/\betc\.(?=[\s,;:)]|$)/g, 'etcétera'],
    [/\bEE\.\s?UU\.(?=[\s,;:)]|$)/g, 'Estados Unidos'],
  ],
}

/**
 * Every abbreviation rule needs a short word ending in a dot, or one of the few
 * dotless forms: a sentence without any (most of them) skips the whole rule list.
 */
const ABBREVIATION_CANDIDATE = /(?<![\p{L}\p{N}])(?:\p{L}{1,6}\.|vs|Mme|Mlle|Dr)(?![\p{L}\p{N}])/u

/**
 * A day or an ordinal written with a dot ("am 3. März", "der 2. Weltkrieg", "25. Juli"): the dot ends no
 * sentence when a month name follows, or when an article stands before the number.
 */
const ORDINAL_DOT = /(?<![\d.])\d{1,3}\.$/
const ARTICLE_ORDINAL = /\b(?:der|die|das|den|dem|des|im|am|zum|zur|beim|vom)\s\d{1,3}\.$/i
const MONTH_START = /^(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|Jan|Feb|Mär|Apr|Jun|Jul|Aug|Sep|Sept|Okt|Nov|Dez)\b/u

/** Abbreviations after which Intl.Segmenter wrongly ends a sentence (it has no suppression list). */
const NON_TERMINAL = /(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gov|Sen|Rep|Gen|Sgt|Lt|Col|Capt|Cmdr|Mt|Ft|No|Nr|vs|approx|ca|cf|Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec|Mio|Mrd|Tsd|Bio|Okt|Dez|M|Mme|Sra?|z\.\s?B|d\.\s?h|u\.\s?a|e\.\s?g|i\.\s?e|bzw)\.|(?<![\p{L}\p{N}])\p{L}\.(?:\p{L}\.)*)\s*$/u

const CURRENCY_UNITS: Record<string, [string, string]> = {
  $: ['dollar', 'dollars'],
  US$: ['US dollar', 'US dollars'],
  A$: ['Australian dollar', 'Australian dollars'],
  C$: ['Canadian dollar', 'Canadian dollars'],
  NZ$: ['New Zealand dollar', 'New Zealand dollars'],
  HK$: ['Hong Kong dollar', 'Hong Kong dollars'],
  '€': ['euro', 'euros'],
  '£': ['pound', 'pounds'],
  '¥': ['yen', 'yen'],
  '₹': ['rupee', 'rupees'],
  '₽': ['ruble', 'rubles'],
  '₩': ['won', 'won'],
}
const SCALES: Record<string, string> = {
  k: 'thousand', K: 'thousand', m: 'million', M: 'million', mn: 'million', bn: 'billion', b: 'billion', B: 'billion', tn: 'trillion', T: 'trillion',
  thousand: 'thousand', million: 'million', billion: 'billion', trillion: 'trillion',
}
const NUM = String.raw`\d+(?:[.,]\d+)*`
const CURRENCY_BEFORE = new RegExp(
  String.raw`(?<![\p{L}\p{N}$€£¥₹₽₩])(US\$|A\$|C\$|NZ\$|HK\$|\$|€|£|¥|₹|₽|₩)\s?(${NUM})(?:(k|K|m|M|mn|bn|b|B|tn|T)\b|\s(thousand|million|billion|trillion)\b)?`,
  'gu',
)
const CURRENCY_AFTER = new RegExp(String.raw`(?<![\p{L}\p{N}])(${NUM})\s?(€|£)(?![\p{L}\p{N}])`, 'gu')

// Alternation, not one character class: modifiers and joiners inside a class trip no-misleading-character-class.
const EMOJI = /\p{Extended_Pictographic}|[\u{1F1E6}-\u{1F1FF}]|[\u{1F3FB}-\u{1F3FF}]|\uFE0E|\uFE0F|\u20E3|\u200D/gu
const INVISIBLE = /[\u00AD\u200B\u200C\u2060\uFEFF]/g
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'()]+(?:\([^\s()]*\)[^\s<>"'()]*)*/gi
const EMAIL_RE = /\b[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+\b/gu
const BARE_DOMAIN = /\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|co|uk|de|fr|gov|edu|ai|app|dev|info|news|tv|eu|ru|cn|jp|in|br|au|ca)\b(?![.@\p{L}\p{N}-]*[\p{L}\p{N}])/giu

/** The text as written, tidied for display: Unicode NFC, invisible characters removed, whitespace collapsed. */
export function tidyText(text: string): string {
  return text.normalize('NFC').replace(INVISIBLE, '').replace(/\s+/gu, ' ').trim()
}

const segmenters = new Map<string, Intl.Segmenter>()
function segmenter(language: string, granularity: 'sentence' | 'word' | 'grapheme'): Intl.Segmenter {
  const key = `${language}|${granularity}`
  let s = segmenters.get(key)
  if (!s) {
    let lang = language
    try {
      Intl.getCanonicalLocales(language)
    } catch {
      lang = 'en'
    }
    s = new Intl.Segmenter(lang, { granularity })
    segmenters.set(key, s)
  }
  return s
}

const NO_SPACE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\u3000-\u303F\uFF00-\uFFEF]/u

/**
 * A break with no space on either side, between characters of a script that
 * uses spaces, is inside a token: "example.com/a?b=1", "here.[1]". ICU breaks
 * there; a reader never would. (Scripts without spaces legitimately break so.)
 */
function midToken(prevRaw: string, next: string): boolean {
  const a = prevRaw.slice(-1)
  const b = next.charAt(0)
  if (!a || !b || /\s/.test(a) || /\s/.test(b)) return false
  return !NO_SPACE_SCRIPT.test(a) && !NO_SPACE_SCRIPT.test(b)
}

/**
 * Intl.Segmenter is superlinear on long strings (V8: 1 MB takes tens of seconds),
 * so long texts are segmented in windows: all sentences of a window but the
 * last, which may be cut off, then the next window starts where that one began.
 */
const WINDOW = 4096
function* rawSentences(seg: Intl.Segmenter, text: string): Generator<string> {
  let pos = 0
  while (text.length - pos > WINDOW) {
    const chunk = text.slice(pos, pos + WINDOW)
    const parts = Array.from(seg.segment(chunk), (s) => s.segment)
    if (parts.length > 1) {
      const last = parts.pop()!
      yield* parts
      pos += chunk.length - last.length
    } else {
      // One sentence longer than the window: hand it on in pieces cut at a space.
      let cut = chunk.search(/\s\S*$/)
      cut = cut > 0 ? cut + 1 : WINDOW
      if (/[\uD800-\uDBFF]/.test(chunk.charAt(cut - 1))) cut--
      yield chunk.slice(0, cut)
      pos += cut
    }
  }
  for (const s of seg.segment(pos === 0 ? text : text.slice(pos))) yield s.segment
}

/** Sentences of already tidied text, with Intl.Segmenter for the language; false breaks after abbreviations and initials are mended. */
export function splitSentences(text: string, language: string): string[] {
  const out: string[] = []
  let prevRaw = ''
  for (const segment of rawSentences(segmenter(language, 'sentence'), text)) {
    const s = segment.trim()
    if (!s) continue
    const prev = out.length ? out[out.length - 1]! : undefined
    if (prev !== undefined && midToken(prevRaw, segment)) out[out.length - 1] = prev + s
    else if (prev !== undefined && NON_TERMINAL.test(prev)) out[out.length - 1] = `${prev} ${s}`
    else if (prev !== undefined && ORDINAL_DOT.test(prev) && (MONTH_START.test(s) || ARTICLE_ORDINAL.test(prev))) out[out.length - 1] = `${prev} ${s}`
    else out.push(s)
    prevRaw = segment
  }
  return out
}

export function graphemes(text: string, language = 'en'): string[] {
  return Array.from(segmenter(language, 'grapheme').segment(text), (s) => s.segment)
}

export function wordBoundaries(text: string, language: string): number[] {
  const cuts: number[] = []
  for (const s of segmenter(language, 'word').segment(text)) if (s.index > 0) cuts.push(s.index)
  return cuts
}

function hostWords(host: string, w: LanguageWords | undefined): string {
  const h = host.replace(/^www\./i, '').replace(/[.:]+$/, '')
  return w ? h.split('.').filter(Boolean).join(` ${w.dot} `) : h
}

function matchCase(original: string, replacement: string): string {
  const first = original[0]
  if (first && first !== first.toLowerCase() && replacement[0] === replacement[0]?.toLowerCase()) {
    return replacement[0]!.toUpperCase() + replacement.slice(1)
  }
  return replacement
}

/**
 * Spoken form of ONE sentence (or any short span). Returns '' when nothing
 * speakable is left (an emoji, a lone URL's punctuation...).
 */
export function normalizeSentence(sentence: string, language: string): string {
  return normalizeTidySentence(tidyText(sentence), language)
}

/** normalizeSentence for text already through tidyText (the segmenter's case: saves a second NFC pass per sentence). */
export function normalizeTidySentence(sentence: string, language: string): string {
  const lang = primaryLanguage(language)
  const w = WORDS[lang]
  let t = sentence
  // Most sentences are plain ASCII: the Unicode-heavy rules below are skipped for them
  // (each rule group runs only when its trigger characters occur; this keeps 1 MB under a second).
  const ascii = /^[ -~]*$/.test(t) // printable ASCII (tidyText turned all whitespace into spaces)
  if (!ascii) t = t.replace(EMOJI, '')

  // Footnote markers: [1], [12], [a], [citation needed], superscript digits after a word.
  if (t.includes('[')) t = t.replace(/\[(?:\d{1,3}|[a-z]|citation needed|note \d+|nb \d+)\]/giu, '')
  if (!ascii) {
    t = t.replace(/(?<=[\p{L}.,;:!?)"'’])[\u00B9\u00B2\u00B3\u2070\u2074-\u2079]+/gu, '')
    // Typography: quotes, ellipses, minus sign.
    t = t
      .replace(/«\s*/g, '"') // French « guillemets » carry inner spaces
      .replace(/\s*»/g, '"')
      .replace(/[“”„‟〝〞＂]/g, '"')
      .replace(/[‘’‚‛‹›`´]/g, "'")
      .replace(/\u2026/g, '...')
      .replace(/\u2212/g, '-')
  } else if (t.includes('`')) t = t.replace(/`/g, "'")
  if (t.includes('. . .')) t = t.replace(/\.\s\.\s\./g, '...')

  // URLs and e-mail addresses: read the host as words; paths and queries are noise when heard.
  // (Each rule group runs only when its trigger characters occur: most sentences have none.)
  if (/:\/\/|www\./i.test(t)) t = t.replace(URL_RE, (url) => {
    const trimmed = url.replace(/[.,;:!?]+$/, '')
    const rest = url.slice(trimmed.length)
    const host = trimmed.replace(/^https?:\/\//i, '').split(/[/?#]/)[0] ?? ''
    return hostWords(host, w) + rest
  })
  if (t.includes('@')) t = t.replace(EMAIL_RE, (mail) => {
    const [local = '', domain = ''] = mail.split('@')
    if (!w) return mail
    return `${local.replace(/[._]/g, ' ')} ${w.at} ${hostWords(domain, w)}`
  })
  if (w && /[a-z0-9-]\.[a-z]{2}/i.test(t)) t = t.replace(BARE_DOMAIN, (d) => hostWords(d, w))

  const abbreviations = ABBREVIATIONS[lang]
  if (abbreviations && ABBREVIATION_CANDIDATE.test(t)) for (const [re, say] of abbreviations) {
    t = t.replace(re, (m, ...args) => {
      const offset = args[args.length - 2] as number
      const whole = args[args.length - 1] as string
      const atEnd = whole.slice(offset + m.length).trim() === ''
      // Capitalize only at the start of the sentence ("E.g." -> "For example", but "No. 5" mid-sentence -> "number 5").
      const atStart = !/[\p{L}\p{N}]/u.test(whole.slice(0, offset))
      return (atStart ? matchCase(m, say) : say) + (atEnd && m.endsWith('.') ? '.' : '')
    })
  }

  // Numbers, dates, times, money, measures... as words, by the language's rules (spoken/).
  t = speakWrittenForms(t, language)

  if (w && /[\d%&±°+]/.test(t)) {
    if (lang === 'en') {
      t = t.replace(CURRENCY_BEFORE, (_m, sym: string, num: string, short?: string, long?: string) => {
        const unit = CURRENCY_UNITS[sym] ?? ['', '']
        const scale = short ? SCALES[short] : long ? SCALES[long] : undefined
        const plural = scale || num !== '1'
        return `${num} ${scale ? scale + ' ' : ''}${plural ? unit[1] : unit[0]}`
      })
      t = t.replace(CURRENCY_AFTER, (_m, num: string, sym: string) => {
        const unit = CURRENCY_UNITS[sym] ?? ['', '']
        return `${num} ${num === '1' ? unit[0] : unit[1]}`
      })
    }
    // Temperatures and degrees (before signs, so "-5°C" becomes "minus 5 degrees Celsius").
    t = t.replace(new RegExp(String.raw`(${NUM})\s?°\s?([CF])\b`, 'g'), (_m, num: string, scale: string) => {
      return `${num} ${num === '1' ? w.degree : w.degrees} ${scale === 'C' ? w.celsius : w.fahrenheit}`
    })
    t = t.replace(new RegExp(String.raw`(${NUM})\s?°`, 'g'), (_m, num: string) => `${num} ${num === '1' ? w.degree : w.degrees}`)
    // Ranges: 2020-2024, 10–20, pages 5—7 (two groups only: three are dates or phone numbers).
    t = t.replace(/(?<![\d.,\-–—/])(\d{1,4})\s?[-–—]\s?(\d{1,4})(?![\d\-–—/]|[.,]\d)/g, `$1 ${w.to} $2`)
    t = t.replace(/(\d)\s?%/g, `$1 ${w.percent}`)
    t = t.replace(/\s?%\s?/g, ` ${w.percent} `)
    t = t.replace(/±\s?|\+\/-\s?/g, `${w.plusMinus} `)
    t = t.replace(/(?<=^|[\s(])\+(?=\d)/g, `${w.plus} `)
    t = t.replace(/(?<=^|[\s(])-(?=\d)/g, `${w.minus} `)
    t = t.replace(/\s*&\s*/g, ` ${w.and} `)
  }

  // Dashes between words are pauses; a hyphen inside a word stays.
  t = t.replace(/\s*[—―]\s*|\s+[–-]{1,2}\s+/g, ', ')
  t = t.replace(/(?<=\p{L})–(?=\p{L})/gu, '-')
  // Hashtags and decoration that engines spell out.
  if (t.includes('#')) t = t.replace(/(?<=^|\s)#(?=\p{L})/gu, '')
  if (!ascii || t.includes('|')) t = t.replace(/[\p{So}\u2190-\u21FF\u2500-\u25FF|•·]+/gu, ' ')
  if (/[*_~^]{2}/.test(t)) t = t.replace(/[*_~^]{2,}/g, ' ')

  // Tidy spacing around punctuation left by the rewrites.
  t = t
    .replace(/\s+/g, ' ')
    .replace(/\s+([,.;:!?)\]])/g, '$1')
    .replace(/([([])\s+/g, '$1')
    .replace(/(^|[\s(])[,;:]+\s*/g, '$1')
    .replace(/,(\s*,)+/g, ',')
    .replace(/\(\s*\)|\[\s*\]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
  // Nothing a voice can say: no letter or digit at all.
  if (!/[\p{L}\p{N}]/u.test(t)) return ''
  return t
}

/**
 * The spoken form of any text: tidied, split into sentences for the language,
 * each sentence normalized (see normalizeSentence), empty results dropped,
 * joined by single spaces. segmentText produces exactly these words, grouped.
 */
export function normalizeForSpeech(text: string, language: string): string {
  return splitSentences(tidyText(text), language)
    .map((s) => normalizeTidySentence(s, language))
    .filter(Boolean)
    .join(' ')
}
