/** German spoken forms: dates, times, money, ordinals, years, decades, percentages and decimals. */
import { cardinal, decimal, splitNumber } from './numbers.ts'
import { ordinal } from './numbers.ts'
import type { SpokenLanguage, SpokenRule } from './types.ts'

/** "hundert", "tausend": news German drops the "ein" that n2words writes before them. */
const card = (n: string | number) => cardinal(n, 'de').replace(/^ein(?=hundert|tausend)/, '')
/** "eins" before a noun is "ein" ("ein Uhr", "ein Euro"). */
const before = (words: string) => words.replace(/eins$/, 'ein')

const MONTHS = ['Januar', 'Februar', 'März', 'April', 'Mai', 'Juni', 'Juli', 'August', 'September', 'Oktober', 'November', 'Dezember']
const MONTH_RE = String.raw`(Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|Jan|Feb|Mär|Apr|Jun|Jul|Aug|Sept|Sep|Okt|Nov|Dez)`
const monthName = (w: string) => MONTHS.find((m) => m.slice(0, 3) === w.slice(0, 3))!

/** 1989 "neunzehnhundertneunundachtzig"; from 2000 years are cardinals. */
export function yearWords(y: string): string {
  const n = Number(y)
  if (n >= 1100 && n < 2000) return `${card(Math.floor(n / 100))}hundert${n % 100 ? card(n % 100) : ''}`
  return card(n)
}

/**
 * An ordinal with the ending its context asks for: "am fünfundzwanzigsten", "der dritte", and
 * without an article (a dateline, "3. Oktober") "dritter".
 */
function ordinalFor(n: string | number, context: string): string {
  const base = ordinal(n, 'de').replace(/^ein(?=hundert|tausend)/, '')
  if (/\b(?:am|vom|zum|zur|im|beim|dem|den|des|seit dem|bis zum|ab dem|ab|bis|seit|vor dem|nach dem)\s$/i.test(context)) return `${base}n`
  if (/\b(?:der|die|das)\s$/i.test(context)) return base
  return `${base}r`
}

function num(written: string): string {
  const [w, f] = splitNumber(written, 'de')
  return decimal(w, f, 'de')
}

const NUM = String.raw`\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?`
const CUR: Record<string, string> = { '€': 'Euro', EUR: 'Euro', Euro: 'Euro', $: 'Dollar', USD: 'Dollar', Dollar: 'Dollar', '£': 'Pfund', GBP: 'Pfund', CHF: 'Franken', Franken: 'Franken', '¥': 'Yen' }
const SCALE: Record<string, [string, string]> = { Tsd: ['tausend', 'tausend'], Mio: ['Million', 'Millionen'], Mrd: ['Milliarde', 'Milliarden'], Bio: ['Billion', 'Billionen'], Million: ['Million', 'Millionen'], Millionen: ['Million', 'Millionen'], Milliarde: ['Milliarde', 'Milliarden'], Milliarden: ['Milliarde', 'Milliarden'] }

function money(n: string, scale: string | undefined, cur: string, context: string): string {
  const unit = CUR[cur] ?? cur
  const [w, f] = splitNumber(n, 'de')
  // The masculine accusative after für, um, gegen, ohne, über: "für einen Euro".
  if (w === '1' && !f && !scale && unit !== 'Pfund' && /\b(?:für|um|gegen|ohne|über|pro)\s$/i.test(context)) return `einen ${unit}`
  if (scale) {
    const s = SCALE[scale.replace('.', '')]!
    const one = w === '1' && !f
    return `${one ? 'eine' : decimal(w, f, 'de')} ${one ? s[0] : s[1]} ${unit}`
  }
  if (f && f.length === 2 && unit === 'Euro') {
    if (Number(w) === 0) return `${card(Number(f))} Cent`
    return `${before(card(w))} ${unit}${Number(f) ? ` ${card(Number(f))}` : ''}`
  }
  if (f && f.length === 2 && (unit === 'Dollar' || unit === 'Pfund' || unit === 'Franken')) return `${before(card(w))} ${unit}${Number(f) ? ` ${card(Number(f))}` : ''}`
  return `${f ? decimal(w, f, 'de') : before(card(w))} ${unit}`
}

const rules: SpokenRule[] = [
  {
    category: 'dates',
    // The first day of a span: "vom 12. bis 14. Mai".
    pattern: new RegExp(String.raw`(?<![\d.])(\d{1,2})\.(?=\s?(?:bis|und|–|-)\s?(?:zum\s)?\d{1,2}\.\s?${MONTH_RE})`, 'g'),
    say: (m) => (Number(m.g[0]) >= 1 && Number(m.g[0]) <= 31 ? ordinalFor(m.g[0]!, m.before) : undefined),
  },
  {
    category: 'dates',
    pattern: /\b(\d{4})-(\d{2})-(\d{2})\b(?![-\d])/g,
    say: (m) => (Number(m.g[1]) >= 1 && Number(m.g[1]) <= 12 ? `${ordinalFor(m.g[2]!, m.before)} ${MONTHS[Number(m.g[1]) - 1]} ${yearWords(m.g[0]!)}` : undefined),
  },
  {
    category: 'dates',
    pattern: /(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?![\d])/g,
    say: (m) => {
      const d = Number(m.g[0])
      const mo = Number(m.g[1])
      if (d < 1 || d > 31 || mo < 1 || mo > 12) return undefined
      const y = m.g[2] ? ` ${yearWords(m.g[2].length === 2 ? `20${m.g[2]}` : m.g[2])}` : ''
      return `${ordinalFor(d, m.before)} ${MONTHS[mo - 1]}${y}`
    },
  },
  {
    category: 'dates',
    pattern: new RegExp(String.raw`(?<![\d.])(\d{1,2})\.\s?${MONTH_RE}\.?(?:\s(\d{4}))?\b`, 'g'),
    say: (m) => (Number(m.g[0]) >= 1 && Number(m.g[0]) <= 31 ? `${ordinalFor(m.g[0]!, m.before)} ${monthName(m.g[1]!)}${m.g[2] ? ` ${yearWords(m.g[2])}` : ''}` : undefined),
  },
  {
    category: 'dates',
    pattern: new RegExp(String.raw`\b${MONTH_RE}\.?\s(\d{4})\b`, 'g'),
    say: (m) => `${monthName(m.g[0]!)} ${yearWords(m.g[1]!)}`,
  },
  {
    category: 'times',
    pattern: /(?<![\d.,:])(\d{1,2})[:.](\d{2})(?:\s?Uhr\b)?(?![\d:])/g,
    say: (m) => {
      const h = Number(m.g[0])
      const min = Number(m.g[1])
      // "17.45" without "Uhr" may be a decimal written the English way: only a colon or "Uhr" makes it a time.
      if (h > 24 || min > 59 || (!m.text.includes(':') && !/Uhr$/.test(m.text))) return undefined
      return `${before(card(h))} Uhr${min ? ` ${card(min)}` : ''}`
    },
  },
  {
    category: 'times',
    pattern: /(?<![\d.,:])(\d{1,2})\s?Uhr\b/g,
    say: (m) => (Number(m.g[0]) <= 24 ? `${before(card(m.g[0]!))} Uhr` : undefined),
  },
  {
    category: 'money',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}])(${NUM})\s?(?:(Tsd|Mio|Mrd|Bio)\.?\s?|(Millionen|Million|Milliarden|Milliarde)\s)?(€|EUR|Euro|\$|USD|Dollar|£|GBP|CHF|Franken|¥)(?![\p{L}\p{N}])`, 'gu'),
    say: (m) => money(m.g[0]!, m.g[1] ?? m.g[2], m.g[3]!, m.before),
  },
  {
    category: 'money',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}])(€|EUR|\$|USD|£|GBP|CHF)\s?(${NUM})(?:\s?(Tsd|Mio|Mrd|Bio)\.?|\s(Millionen|Million|Milliarden|Milliarde)\b)?`, 'gu'),
    say: (m) => money(m.g[1]!, m.g[2] ?? m.g[3], m.g[0]!, m.before),
  },
  {
    category: 'percentages',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,])(${NUM})\s?%`, 'gu'),
    say: (m) => `${num(m.g[0]!)} Prozent`,
  },
  {
    category: 'decades',
    pattern: /(?<![\p{L}\p{N}])(1\d|20)?(\d)0er\b/gu,
    say: (m) => `${m.g[0] ? yearWords(`${m.g[0]}${m.g[1]}0`) : card(`${m.g[1]}0`)}er`,
  },
  {
    category: 'ordinals',
    // "der 2. Weltkrieg", "am 3. Tag": a number with a dot after an article, before a noun.
    pattern: /(?<=\b(?:der|die|das|den|dem|des|im|am|zum|zur|beim|vom)\s)(\d{1,3})\.(?=\s\p{Lu})/gu,
    say: (m) => ordinalFor(m.g[0]!, m.before),
  },
  {
    category: 'years',
    pattern: /(?<=\b(?:im Jahr|im Jahre|Jahr|seit|bis|von|vor|nach|ab|um|Anfang|Ende|Mitte|Sommer|Winter|Frühjahr|Herbst|zwischen|und|in)\s)(1[1-9]\d{2}|20\d{2})(?![\p{N}%]|[.,]\d|\s?[-–]\s?\d)/gu,
    say: (m) => yearWords(m.g[0]!),
  },
  {
    category: 'years',
    // A number from 1100 to 1999 not before a noun (nouns are capitalized: "1945 Menschen" is a count) is a year.
    pattern: /(?<![\p{L}\p{N}.,-])(1[1-9]\d{2})(?![\p{N}%]|[.,]\d|\s?[-–]\s?\d|\s+\p{Lu})/gu,
    say: (m) => yearWords(m.g[0]!),
  },
  {
    category: 'cardinals',
    pattern: /(?<![\p{L}\p{N}.,])(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+)(?![\p{L}\p{N}]|[.,]\d)/gu,
    say: (m) => num(m.g[0]!),
  },
]

export const de: SpokenLanguage = { trigger: /\d/, rules }
