/**
 * Number words for the spoken-form rules, from n2words (cardinals and ordinals
 * in many languages, no dependencies). Everything here takes digit strings as
 * written (no separators) and returns words; callers parse separators per locale.
 */
import type * as DeDE from 'n2words/de-DE'
import type * as EnGB from 'n2words/en-GB'
import type * as EnUS from 'n2words/en-US'
import type * as FrFR from 'n2words/fr-FR'
import { lazyPackage } from '../../util/lazy.ts'

/** Each language's module, required when a script in it first speaks a number (src/util/lazy.ts). */
const en = lazyPackage<typeof EnUS>('n2words/en-US')
const gb = lazyPackage<typeof EnGB>('n2words/en-GB')
const de = lazyPackage<typeof DeDE>('n2words/de-DE')
const fr = lazyPackage<typeof FrFR>('n2words/fr-FR')

export type NumberLanguage = 'en' | 'en-GB' | 'de' | 'fr'

/** Cardinal of a whole number written in digits (leading zeros ignored). */
export function cardinal(digits: string | number, lang: NumberLanguage): string {
  const n = typeof digits === 'number' ? BigInt(Math.trunc(digits)) : BigInt(digits.replace(/^0+(?=\d)/, ''))
  switch (lang) {
    case 'en':
      return en().toCardinal(n)
    case 'en-GB':
      return gb().toCardinal(n)
    case 'de':
      return de().toCardinal(n)
    case 'fr':
      return fr().toCardinal(n)
  }
}

/** Ordinal of a whole number: "twenty-second", "zweiundzwanzigste", "vingt-deuxième". */
export function ordinal(digits: string | number, lang: NumberLanguage): string {
  const n = typeof digits === 'number' ? BigInt(Math.trunc(digits)) : BigInt(digits.replace(/^0+(?=\d)/, ''))
  switch (lang) {
    case 'en':
    case 'en-GB':
      return en().toOrdinal(n)
    case 'de':
      return de().toOrdinal(n)
    case 'fr':
      return fr().toOrdinal(n)
  }
}

const DIGIT_WORDS: Record<NumberLanguage, string[]> = {
  en: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
  'en-GB': ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
  de: ['null', 'eins', 'zwei', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun'],
  fr: ['zéro', 'un', 'deux', 'trois', 'quatre', 'cinq', 'six', 'sept', 'huit', 'neuf'],
}

/** Digit by digit: "4471" -> "four four seven one"; `zero` replaces the word for 0 (English phone numbers say "oh"). */
export function digitByDigit(digits: string, lang: NumberLanguage, zero?: string): string {
  return Array.from(digits, (d) => (d === '0' && zero ? zero : DIGIT_WORDS[lang][Number(d)])).join(' ')
}

const POINT: Record<NumberLanguage, string> = { en: 'point', 'en-GB': 'point', de: 'Komma', fr: 'virgule' }

/**
 * A number with an optional fraction, already split: "4", "25" -> "four point two five".
 * The fraction is read digit by digit, as news readers do (English, German); French reads
 * it as a number ("douze virgule cinquante") unless it starts with a zero.
 */
export function decimal(whole: string, fraction: string | undefined, lang: NumberLanguage): string {
  const w = cardinal(whole || '0', lang)
  if (!fraction) return w
  const f = lang === 'fr' && !fraction.startsWith('0') && fraction.length <= 2 ? cardinal(fraction, lang) : digitByDigit(fraction, lang)
  return `${w} ${POINT[lang]} ${f}`
}

/** Splits a written number by the locale's separators: ["1234", "5"] for "1,234.5" (en) or "1.234,5" (de, fr). */
export function splitNumber(written: string, lang: NumberLanguage): [whole: string, fraction: string | undefined] {
  const t = written.replace(/[\s\u00A0\u202F']/g, '')
  const decimalMark = lang === 'de' || lang === 'fr' ? ',' : '.'
  const group = decimalMark === ',' ? '.' : ','
  // "1,5" in English or "1.5" in German: a lone mark with other than three digits after it is a decimal mark.
  const loneOther = new RegExp(`^\\d+\\${group}(\\d{1,2}|\\d{4,})$`).exec(t)
  if (loneOther) {
    const [w, f] = t.split(group)
    return [w!, f]
  }
  const [w = '', f] = t.split(decimalMark)
  return [w.split(group).join(''), f]
}

/** True when a written number is the whole number one. */
export function isOne(written: string): boolean {
  return /^0*1$/.test(written)
}
