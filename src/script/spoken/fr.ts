/** French spoken forms: dates, times, money, ordinals (1er, 2e, XXIe), percentages and decimals. */
import { cardinal, decimal, ordinal, splitNumber } from './numbers.ts'
import type { SpokenLanguage, SpokenRule } from './types.ts'

const card = (n: string | number) => cardinal(n, 'fr')
/** "un" before a feminine noun is "une" ("une heure", "vingt et une heures"). */
const feminine = (words: string) => words.replace(/\bun$/, 'une')

const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre']
const MONTH_RE = String.raw`(janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|janv|févr|avr|juil|sept|oct|nov|déc)`
const monthName = (w: string) => MONTHS.find((m) => m.normalize('NFD').replace(/\p{M}/gu, '').startsWith(w.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').slice(0, 3)) && (w.toLowerCase().slice(0, 3) !== 'jui' || m.startsWith(w.toLowerCase().slice(0, 4))))!

const dayWords = (d: string) => (Number(d) === 1 ? 'premier' : card(d))

function num(written: string): string {
  const [w, f] = splitNumber(written, 'fr')
  return decimal(w, f, 'fr')
}

const NUM = String.raw`\d{1,3}(?:[\s.]\d{3})+(?:,\d+)?|\d+(?:,\d+)?`
const CUR: Record<string, [string, string]> = { '€': ['euro', 'euros'], EUR: ['euro', 'euros'], $: ['dollar', 'dollars'], USD: ['dollar', 'dollars'], '£': ['livre', 'livres'], GBP: ['livre', 'livres'], CHF: ['franc suisse', 'francs suisses'] }
const SCALE: Record<string, [string, string]> = { k: ['mille', 'mille'], M: ['million', 'millions'], Md: ['milliard', 'milliards'], Mds: ['milliard', 'milliards'], Mrd: ['milliard', 'milliards'] }

function money(n: string, scale: string | undefined, cur: string): string {
  const unit = CUR[cur] ?? [cur, cur]
  const [w, f] = splitNumber(n, 'fr')
  if (scale) {
    const s = SCALE[scale]!
    if (scale === 'k') return `${decimal(w, f, 'fr')} mille ${unit[1]}`
    const many = Number(w) >= 2
    const head = `${decimal(w, f, 'fr')} ${many ? s[1] : s[0]}`
    return `${head} ${/^[aeiouy]/.test(unit[1]) ? "d'" : 'de '}${unit[1]}`.replace("d' ", "d'")
  }
  const many = Number(w) >= 2
  const major = `${unit[0] === 'livre' ? feminine(card(w)) : card(w)} ${many ? unit[1] : unit[0]}`
  if (f && f.length === 2) {
    if (Number(w) === 0) return `${card(Number(f))} centimes`
    return Number(f) ? `${major} ${card(Number(f))}` : major
  }
  return f ? `${decimal(w, f, 'fr')} ${unit[1]}` : major
}

const rules: SpokenRule[] = [
  {
    category: 'dates',
    // The first day of a span: "du 12 au 14 mai".
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}])(1er|\d{1,2})(?=\s(?:au|et|-|–)\s(?:1er|\d{1,2})\s${MONTH_RE})`, 'giu'),
    say: (m) => (m.g[0] === '1er' ? 'premier' : dayWords(m.g[0]!)),
  },
  {
    category: 'dates',
    pattern: /(?<![\d/])(\d{1,2})\/(\d{1,2})\/(\d{4})(?![\d/])/g,
    say: (m) => (Number(m.g[1]) >= 1 && Number(m.g[1]) <= 12 && Number(m.g[0]) >= 1 && Number(m.g[0]) <= 31 ? `${dayWords(m.g[0]!)} ${MONTHS[Number(m.g[1]) - 1]} ${card(m.g[2]!)}` : undefined),
  },
  {
    category: 'dates',
    pattern: /\b(\d{4})-(\d{2})-(\d{2})\b(?![-\d])/g,
    say: (m) => (Number(m.g[1]) >= 1 && Number(m.g[1]) <= 12 ? `${dayWords(m.g[2]!)} ${MONTHS[Number(m.g[1]) - 1]} ${card(m.g[0]!)}` : undefined),
  },
  {
    category: 'dates',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}])(1er|\d{1,2})\s${MONTH_RE}\.?(?:\s(\d{4}))?(?![\p{L}\p{N}])`, 'giu'),
    say: (m) => `${m.g[0] === '1er' ? 'premier' : dayWords(m.g[0]!)} ${monthName(m.g[1]!)}${m.g[2] ? ` ${card(m.g[2])}` : ''}`,
  },
  {
    category: 'years',
    pattern: /(?<=\b(?:en|depuis|jusqu'en|avant|après|dès|vers|de|à)\s)(1\d{3}|20\d{2})(?![\p{L}\p{N}%]|[.,]\d|\s?[-–]\s?\d|\s\p{L})/gu,
    say: (m) => card(m.g[0]!),
  },
  {
    category: 'money',
    pattern: /(?<![\p{L}\p{N},.])(\d+)(?=\s(?:euros?|dollars?|livres?|francs?)\b)/gu,
    say: (m) => card(m.g[0]!),
  },
  {
    category: 'times',
    pattern: /(?<![\p{L}\p{N},.:])(\d{1,2})\s?(?:h|:)\s?(\d{2})?(?![\p{L}\p{N}])/gu,
    say: (m) => {
      const h = Number(m.g[0])
      const min = m.g[1] ? Number(m.g[1]) : 0
      if (h > 24 || min > 59 || (m.text.includes(':') && !m.g[1])) return undefined
      return `${feminine(card(h))} ${h >= 2 ? 'heures' : 'heure'}${min ? ` ${card(min)}` : ''}`
    },
  },
  {
    category: 'money',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}])(${NUM})\s?(?:(k|M|Mds|Md|Mrd)\s?)?(€|EUR|\$|USD|£|GBP|CHF)(?![\p{L}\p{N}])`, 'gu'),
    say: (m) => money(m.g[0]!, m.g[1], m.g[2]!),
  },
  {
    category: 'money',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}])(€|\$|£)\s?(${NUM})(?:\s?(M|Mds|Md)(?![\p{L}\p{N}]))?`, 'gu'),
    say: (m) => money(m.g[1]!, m.g[2], m.g[0]!),
  },
  {
    category: 'percentages',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,])(${NUM})\s?%`, 'gu'),
    say: (m) => `${num(m.g[0]!)} pour cent`,
  },
  {
    category: 'ordinals',
    pattern: /(?<![\p{L}\p{N}])(\d{1,4}|[IVX]{1,6})(er|re|ère|e|ème|è)(?![\p{L}\p{N}])/gu,
    say: (m) => {
      const written = m.g[0]!
      let n: number
      if (/^\d/.test(written)) n = Number(written)
      else {
        const values: Record<string, number> = { I: 1, V: 5, X: 10 }
        n = 0
        for (let i = 0; i < written.length; i++) {
          const v = values[written[i]!]!
          n += v < (values[written[i + 1] ?? ''] ?? 0) ? -v : v
        }
      }
      if (n < 1) return undefined
      if (n === 1) return m.g[1] === 'er' ? 'premier' : 'première'
      return ordinal(n, 'fr')
    },
  },
  {
    category: 'cardinals',
    pattern: /(?<![\p{L}\p{N}.,])(\d{1,3}(?:[\s.]\d{3})+(?:,\d+)?|\d+,\d+)(?![\p{L}\p{N}]|[.,]\d)/gu,
    say: (m) => num(m.g[0]!),
  },
]

export const fr: SpokenLanguage = { trigger: /\d|[IVX](?:er|e|ème)\b/, rules }
