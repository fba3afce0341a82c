/**
 * English spoken forms, as a news reader says them (US by default; en-GB
 * reads "and" inside numbers and day-first numeric dates).
 */
import { cardinal, decimal, digitByDigit, isOne, type NumberLanguage, ordinal, splitNumber } from './numbers.ts'
import type { RuleMatch, SpokenLanguage, SpokenRule } from './types.ts'

const lang = (tag: string): NumberLanguage => (/^en-(gb|ie|au|nz|in|za)\b/i.test(tag) ? 'en-GB' : 'en')
const card = (n: string | number, tag: string) => cardinal(n, lang(tag))

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const MONTH_RE = String.raw`(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)`
function monthName(written: string): string {
  return MONTHS.find((m) => m.toLowerCase().startsWith(written.toLowerCase().slice(0, 3)))!
}

/** A year as read: 1905 "nineteen oh five", 2006 "two thousand six", 2012 "twenty twelve", 1900 "nineteen hundred". */
export function yearWords(y: string, tag: string): string {
  const n = Number(y)
  if (y.length !== 4 || n < 1000) return card(y, tag)
  const hi = Math.floor(n / 100)
  const lo = n % 100
  if (n >= 2000 && n < 2010) return card(n, tag)
  if (lo === 0) return n % 1000 === 0 ? card(n, tag) : `${card(hi, tag)} hundred`
  if (lo < 10) return `${card(hi, tag)} oh ${card(lo, tag)}`
  return `${card(hi, tag)} ${card(lo, tag)}`
}

/** "eighty" -> "eighties", "hundred" -> "hundreds": the plural of a number's last word (decades). */
function pluralLast(words: string): string {
  return words.replace(/(\p{L}+)$/u, (w) => (w.endsWith('y') ? `${w.slice(0, -1)}ies` : w.endsWith('x') ? `${w}es` : `${w}s`))
}

const ord = (n: string | number) => ordinal(n, 'en')

/** Day-first (25 July) reads "the twenty-fifth of July"; month-first (July 25) reads "July twenty-fifth". */
function dateWords(day: string | undefined, month: number, year: string | undefined, dayFirst: boolean, before: string, tag: string): string {
  const m = MONTHS[month - 1]!
  let s: string
  if (!day) s = m
  else if (dayFirst) s = `${/\bthe\s*$/i.test(before) ? '' : 'the '}${ord(day)} of ${m}`
  else s = `${m} ${ord(day)}`
  if (year) s += dayFirst || !day ? ` ${yearWords(year, tag)}` : `, ${yearWords(year, tag)}`
  return s
}

/** Numbers that are not dates: a day over 31 or a month over 12. */
const validDate = (d: number, m: number) => d >= 1 && d <= 31 && m >= 1 && m <= 12

/** Words after an amount that are not the noun it describes ("$5m in", "$5m was"): the amount is then plural. */
const NOT_NOUN = new Set(
  'a an the and or but nor of in on at to for from by with without into onto over under about above below after before since until per each every this that these those last next more less than was were is are be been being will would could should may might can has have had do does did said says say rose fell rise fall up down off out back apiece annually yearly monthly weekly daily so as if when while where which who whom whose what why how it its he she they we you i his her their our your my also already still just only even now then there here yet too very all both either neither cash'.split(' '),
)

/** The amount is used as an adjective ("a $4.2m plan", "a 10km race"): the next word is a noun it qualifies. */
function qualifiesNoun(after: string): boolean {
  const next = /^[\s-]+([a-z][a-z-]*)\b/.exec(after)
  return next !== null && !NOT_NOUN.has(next[1]!) && !/(ly|ed|ing)$/.test(next[1]!)
}

const NUM = String.raw`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`
const SCALE = String.raw`(?:\s?(k|K|m|M|mn|bn|b|B|tn|T)(?![\p{L}\p{N}])|\s(thousand|million|billion|trillion|crore|lakh)\b)`
const SCALES: Record<string, string> = { k: 'thousand', m: 'million', mn: 'million', b: 'billion', bn: 'billion', t: 'trillion', tn: 'trillion' }

function numberWords(written: string, tag: string): string {
  const [w, f] = splitNumber(written, lang(tag))
  return decimal(w, f, lang(tag))
}

const CURRENCIES: Record<string, { one: string; many: string; minor?: [string, string]; minorAfter?: boolean }> = {
  $: { one: 'dollar', many: 'dollars', minor: ['cent', 'cents'] },
  US$: { one: 'US dollar', many: 'US dollars', minor: ['cent', 'cents'] },
  A$: { one: 'Australian dollar', many: 'Australian dollars', minor: ['cent', 'cents'] },
  C$: { one: 'Canadian dollar', many: 'Canadian dollars', minor: ['cent', 'cents'] },
  NZ$: { one: 'New Zealand dollar', many: 'New Zealand dollars', minor: ['cent', 'cents'] },
  HK$: { one: 'Hong Kong dollar', many: 'Hong Kong dollars', minor: ['cent', 'cents'] },
  '€': { one: 'euro', many: 'euros', minor: ['cent', 'cents'] },
  '£': { one: 'pound', many: 'pounds', minor: ['penny', 'pence'], minorAfter: true },
  '¥': { one: 'yen', many: 'yen' },
  '₹': { one: 'rupee', many: 'rupees' },
  '₽': { one: 'ruble', many: 'rubles' },
  '₩': { one: 'won', many: 'won' },
  USD: { one: 'US dollar', many: 'US dollars', minor: ['cent', 'cents'] },
  EUR: { one: 'euro', many: 'euros', minor: ['cent', 'cents'] },
  GBP: { one: 'pound', many: 'pounds', minor: ['penny', 'pence'], minorAfter: true },
  CHF: { one: 'Swiss franc', many: 'Swiss francs', minor: ['centime', 'centimes'] },
  JPY: { one: 'yen', many: 'yen' },
  CAD: { one: 'Canadian dollar', many: 'Canadian dollars', minor: ['cent', 'cents'] },
  AUD: { one: 'Australian dollar', many: 'Australian dollars', minor: ['cent', 'cents'] },
}
const CUR_SYMBOL = String.raw`US\$|A\$|C\$|NZ\$|HK\$|\$|€|£|¥|₹|₽|₩`
const CUR_CODE = String.raw`USD|EUR|GBP|CHF|JPY|CAD|AUD`

/** Words for an amount of a currency: "four point two million dollars", "four dollars and ninety-nine cents". */
function money(num: string, scale: string | undefined, cur: string, adjective: boolean, tag: string, withUnit = true): string {
  const c = CURRENCIES[cur] ?? CURRENCIES.$!
  const scaleWord = scale ? SCALES[scale.toLowerCase()] ?? scale.toLowerCase() : undefined
  const [whole, frac] = splitNumber(num, lang(tag))
  if (scaleWord) return `${decimal(whole, frac, lang(tag))} ${scaleWord}${withUnit ? ` ${adjective ? c.one : c.many}` : ''}`
  const unit = withUnit ? ` ${adjective || isOne(whole) ? c.one : c.many}` : ''
  if (frac && c.minor && frac.length === 2) {
    const cents = Number(frac)
    if (cents === 0) return `${card(whole, tag)}${unit}`
    const minor = `${card(cents, tag)}${withUnit && !c.minorAfter ? ` ${cents === 1 ? c.minor[0] : c.minor[1]}` : ''}`
    if (Number(whole) === 0) return withUnit ? `${card(cents, tag)} ${cents === 1 ? c.minor[0] : c.minor[1]}` : card(cents, tag)
    if (c.minorAfter) return `${card(whole, tag)}${unit} ${minor}`
    return `${card(whole, tag)}${unit} and ${minor}`
  }
  return `${decimal(whole, frac, lang(tag))}${unit}`
}

const UNITS: Record<string, [string, string]> = {
  kg: ['kilogram', 'kilograms'], g: ['gram', 'grams'], mg: ['milligram', 'milligrams'], lb: ['pound', 'pounds'], lbs: ['pound', 'pounds'], oz: ['ounce', 'ounces'],
  t: ['tonne', 'tonnes'], km: ['kilometer', 'kilometers'], cm: ['centimeter', 'centimeters'], mm: ['millimeter', 'millimeters'], m: ['meter', 'meters'],
  mi: ['mile', 'miles'], ft: ['foot', 'feet'], yd: ['yard', 'yards'], mph: ['mile per hour', 'miles per hour'], kph: ['kilometer per hour', 'kilometers per hour'],
  'km/h': ['kilometer per hour', 'kilometers per hour'], kmh: ['kilometer per hour', 'kilometers per hour'], 'm/s': ['meter per second', 'meters per second'],
  l: ['liter', 'liters'], L: ['liter', 'liters'], ml: ['milliliter', 'milliliters'], ha: ['hectare', 'hectares'],
  'km²': ['square kilometer', 'square kilometers'], 'm²': ['square meter', 'square meters'], 'sq ft': ['square foot', 'square feet'], 'sq mi': ['square mile', 'square miles'],
  KB: ['kilobyte', 'kilobytes'], kB: ['kilobyte', 'kilobytes'], MB: ['megabyte', 'megabytes'], GB: ['gigabyte', 'gigabytes'], TB: ['terabyte', 'terabytes'],
  Mbps: ['megabit per second', 'megabits per second'], Gbps: ['gigabit per second', 'gigabits per second'], 'Mbit/s': ['megabit per second', 'megabits per second'],
  Hz: ['hertz', 'hertz'], kHz: ['kilohertz', 'kilohertz'], MHz: ['megahertz', 'megahertz'], GHz: ['gigahertz', 'gigahertz'],
  W: ['watt', 'watts'], kW: ['kilowatt', 'kilowatts'], MW: ['megawatt', 'megawatts'], GW: ['gigawatt', 'gigawatts'],
  kWh: ['kilowatt hour', 'kilowatt hours'], MWh: ['megawatt hour', 'megawatt hours'], GWh: ['gigawatt hour', 'gigawatt hours'], TWh: ['terawatt hour', 'terawatt hours'],
  V: ['volt', 'volts'], kV: ['kilovolt', 'kilovolts'], mAh: ['milliamp hour', 'milliamp hours'], cal: ['calorie', 'calories'], kcal: ['kilocalorie', 'kilocalories'],
  min: ['minute', 'minutes'], mins: ['minute', 'minutes'], hr: ['hour', 'hours'], hrs: ['hour', 'hours'], sec: ['second', 'seconds'], ms: ['millisecond', 'milliseconds'],
}
const PER: Record<string, string> = { s: 'second', sec: 'second', h: 'hour', hr: 'hour', min: 'minute', day: 'day', d: 'day', wk: 'week', week: 'week', mo: 'month', month: 'month', yr: 'year', year: 'year', kg: 'kilogram', km: 'kilometer', l: 'liter', person: 'person' }
const UNIT_RE = Object.keys(UNITS)
  .sort((a, b) => b.length - a.length)
  .map((u) => u.replace(/[/]/g, '\\/'))
  .join('|')

/** Letters spelled apart when read as a code ("BA" -> "B A"). */
const spellLetters = (s: string) => s.split('').join(' ')

/** Digits of a code read in groups: 380 "three eighty", 2490 "twenty-four ninety", 707 "seven oh seven". */
function groupedDigits(d: string, tag: string): string {
  if (d.length <= 2) return card(d, tag)
  if (d.length === 3) {
    const rest = Number(d.slice(1))
    return `${card(d[0]!, tag)} ${rest === 0 ? 'hundred' : rest < 10 ? `oh ${card(rest, tag)}` : card(rest, tag)}`
  }
  if (d.length === 4 && d[0] !== '0') {
    const hi = Number(d.slice(0, 2))
    const lo = Number(d.slice(2))
    return `${card(hi, tag)} ${lo === 0 ? 'hundred' : lo < 10 ? `oh ${card(lo, tag)}` : card(lo, tag)}`
  }
  return digitByDigit(d, lang(tag), 'oh')
}

const ROMAN: Record<string, number> = { I: 1, V: 5, X: 10, L: 50, C: 100 }
function romanValue(r: string): number | undefined {
  if (!/^(?=[IVXLC])(C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$/.test(r)) return undefined
  let n = 0
  for (let i = 0; i < r.length; i++) {
    const v = ROMAN[r[i]!]!
    const next = ROMAN[r[i + 1] ?? ''] ?? 0
    n += v < next ? -v : v
  }
  return n
}
/** Words after which a roman numeral is a count, read as a cardinal: World War II, Part IV, Super Bowl LVIII. */
const ROMAN_CARDINAL = /\b(?:War|Part|Chapter|Act|Phase|Volume|Vol\.|Book|Round|Bowl|Title|Stage|Tier|Grade|Class|Type|Mark|Mk|Apollo|Gemini|Section|Article|Schedule|Appendix|Division|Series|Season|Episode|Level|Category)\s$/
/** Titles before a ruler's name: "King Charles III", "Pope Leo XIV". */
const REGNAL = /\b(?:King|Queen|Pope|Prince|Princess|Emperor|Empress|Tsar|Czar|Kaiser|Sultan|Duke|Duchess|Earl|Count|Countess|Pharaoh|Shah|Lord|Sir|Dame)\s+\p{Lu}\p{L}+\s$/u

const FRACTIONS: Record<string, string> = { '½': '1/2', '⅓': '1/3', '⅔': '2/3', '¼': '1/4', '¾': '3/4', '⅕': '1/5', '⅛': '1/8', '⅜': '3/8', '⅝': '5/8', '⅞': '7/8' }
function fractionWords(n: number, d: number, tag: string): string {
  if (d === 2) return n === 1 ? 'one half' : `${card(n, tag)} halves`
  if (d === 4) return n === 1 ? 'one quarter' : `${card(n, tag)} quarters`
  const o = ord(d)
  return `${card(n, tag)} ${n === 1 ? o : `${o}s`}`
}
function mixedFraction(whole: string | undefined, n: number, d: number, tag: string): string {
  if (!whole) return fractionWords(n, d, tag)
  const frac = n === 1 && d === 2 ? 'a half' : n === 1 && d === 4 ? 'a quarter' : fractionWords(n, d, tag)
  return `${card(whole, tag)} and ${frac}`
}

/** Nouns that are counted in millions, not meters ("5m people"). */
const COUNTED = /^\s+(?:people|users|viewers|views|voters|homes|households|jobs|barrels|tonnes|tons|years|customers|subscribers|followers|downloads|residents|children|adults|votes|copies|visitors|passengers|doses|cases|deaths|pounds|dollars|euros|members|players|patients|workers|migrants|refugees|tourists|streams|plays|units|devices|accounts)\b/

const STREET: Record<string, string> = { St: 'Street', Ave: 'Avenue', Av: 'Avenue', Rd: 'Road', Blvd: 'Boulevard', Dr: 'Drive', Ln: 'Lane', Pl: 'Place', Ct: 'Court', Sq: 'Square', Hwy: 'Highway', Pkwy: 'Parkway', Cres: 'Crescent', Terr: 'Terrace' }

/** Context before a four-digit number that makes it a year: "in 1998", "since 2012", "the 2024 election". */
const YEAR_CUE = /(?:'s|\b(?:in|since|by|from|until|till|through|of|year|before|after|during|circa|c\.|early|late|mid|spring|summer|autumn|fall|winter|season|class|vintage|the|a|an|its|his|her|their|our|this|that|last|next|between|and|to|or|back|around|january|february|march|april|may|june|july|august|september|october|november|december))[\s-]$/i

const rules: SpokenRule[] = [
  // Abbreviations that depend on context: a street after a name ("Baker St."), not "St. Paul".
  {
    category: 'addresses',
    pattern: /(?<=\p{Lu}\p{Ll}+\s)(St|Ave|Av|Rd|Blvd|Dr|Ln|Pl|Ct|Sq|Hwy|Pkwy|Cres|Terr)\.?(?=[\s,;:)]|$)(?!\s+\p{Lu}\p{Ll})/gu,
    say: (m) => STREET[m.g[0]!],
  },
  {
    category: 'addresses',
    // A house number before a street name: "221B Baker Street" -> "two twenty-one B", "1600 Pennsylvania Avenue" -> "sixteen hundred".
    pattern: /\b(\d{3,4})([A-Z])?(?=\s+(?:\p{Lu}\p{L}+\s+){1,3}(?:Street|Avenue|Road|Boulevard|Drive|Lane|Place|Court|Square|Highway|Parkway|Crescent|Terrace|Way)\b)/gu,
    say: (m) => `${groupedDigits(m.g[0]!, m.tag)}${m.g[1] ? ` ${m.g[1]}` : ''}`,
  },
  {
    category: 'phone numbers',
    pattern: /(?<![\w+$€£.,/-])(\+\d{1,3}[\s.-]?)?(\(\d{2,5}\)|\d{2,5})([\s.-])(\d{3,4})[\s.-](\d{3,4})(?![\w-]|[.,]\d)/g,
    say: (m) => {
      const [cc, area, sep] = m.g
      // Three groups of digits only with a phone's shape: a country code, an area code in brackets, or 3-3-4.
      const plain = area!.replace(/[()]/g, '')
      if (!cc && !area!.startsWith('(') && !(plain.length === 3 && m.g[3]!.length === 3 && m.g[4]!.length === 4) && !(plain.startsWith('0') && plain.length >= 3)) return undefined
      if (sep === '.' && !cc && !area!.startsWith('(') && /^\s*\d/.test(m.after)) return undefined
      const groups = [cc ? `plus ${digitByDigit(cc.replace(/\D/g, ''), lang(m.tag))}` : undefined, plain, m.g[3]!, m.g[4]!].filter((x): x is string => !!x)
      return groups.map((g) => (g.startsWith('plus') ? g : digitByDigit(g, lang(m.tag), 'oh'))).join(', ')
    },
  },
  {
    category: 'serial numbers',
    // Digit groups joined by hyphens (three or more groups, not a date or phone): read digit by digit, group by group.
    pattern: /(?<![\w.-])\d{2,}(?:-\d{2,}){2,}(?![\w-])/g,
    say: (m) => (/^\d{4}-\d{2}-\d{2}$/.test(m.text) ? undefined : m.text.split('-').map((g) => digitByDigit(g, lang(m.tag), 'oh')).join(', ')),
  },
  {
    category: 'dates',
    pattern: /\b(\d{4})-(\d{2})-(\d{2})\b(?![-\d])/g,
    say: (m) => (validDate(Number(m.g[2]), Number(m.g[1])) ? dateWords(String(Number(m.g[2])), Number(m.g[1]), m.g[0], false, m.before, m.tag) : undefined),
  },
  {
    category: 'dates',
    // 07/25/2012: month first in the US, day first elsewhere; a first number over 12 is a day anywhere.
    pattern: /(?<![\d/])(\d{1,2})([/.])(\d{1,2})\2(\d{4}|\d{2})(?![\d/])/g,
    say: (m) => {
      const a = Number(m.g[0])
      const b = Number(m.g[2])
      const usOrder = /^en(-us)?$/i.test(m.tag) || /^en-(us|ph|ca)\b/i.test(m.tag)
      const dayFirst = a > 12 || (!usOrder && b <= 12)
      const [d, mo] = dayFirst ? [a, b] : [b, a]
      if (!validDate(d, mo)) return undefined
      const y = m.g[3]!.length === 2 ? (Number(m.g[3]) > 50 ? `19${m.g[3]}` : `20${m.g[3]}`) : m.g[3]!
      return dateWords(String(d), mo, y, dayFirst, m.before, m.tag)
    },
  },
  {
    category: 'dates',
    pattern: new RegExp(String.raw`\b${MONTH_RE}\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?(?![\d:.,]\d|\s?(?:%|[ap]\.?m\b))\b`, 'g'),
    say: (m) => (Number(m.g[1]) >= 1 && Number(m.g[1]) <= 31 ? dateWords(m.g[1], MONTHS.indexOf(monthName(m.g[0]!)) + 1, m.g[2], false, m.before, m.tag) : undefined),
  },
  {
    category: 'dates',
    pattern: new RegExp(String.raw`\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?${MONTH_RE}\b\.?(?:,?\s+(\d{4})\b)?`, 'g'),
    say: (m) => (Number(m.g[0]) >= 1 && Number(m.g[0]) <= 31 ? dateWords(m.g[0], MONTHS.indexOf(monthName(m.g[1]!)) + 1, m.g[2], true, m.before, m.tag) : undefined),
  },
  {
    category: 'dates',
    pattern: new RegExp(String.raw`\b${MONTH_RE}\.?,?\s+(\d{4})\b`, 'g'),
    say: (m) => `${monthName(m.g[0]!)} ${yearWords(m.g[1]!, m.tag)}`,
  },
  {
    category: 'times',
    pattern: /(?<![\d:.,])(\d{1,2}):(\d{2})(?::\d{2})?(?:\s?([ap])\.?\s?m\b\.?)?(?![\d:])/gi,
    say: (m) => {
      const h = Number(m.g[0])
      const min = Number(m.g[1])
      if (h > 24 || min > 59) return undefined
      const ampm = m.g[2] ? ` ${m.g[2].toLowerCase()}.m.` : ''
      const hour = card(h, m.tag)
      if (min === 0) return ampm ? `${hour}${ampm}` : h > 12 || h === 0 ? `${card(h, m.tag)} hundred` : `${hour} o'clock`
      return `${hour} ${min < 10 ? `oh ${card(min, m.tag)}` : card(min, m.tag)}${ampm}`
    },
  },
  {
    category: 'times',
    pattern: /(?<![\d:.,])(\d{1,2})\s?([ap])\.?\s?m\b\.?/gi,
    say: (m) => (Number(m.g[0]) >= 1 && Number(m.g[0]) <= 12 ? `${card(m.g[0]!, m.tag)} ${m.g[1]!.toLowerCase()}.m.` : undefined),
  },
  {
    category: 'money',
    pattern: new RegExp(
      String.raw`(?<![\p{L}\p{N}$€£¥₹₽₩])(${CUR_SYMBOL}|(?:${CUR_CODE})\s?)(${NUM})${SCALE}?(?:\s?(?:[-–]|to)\s?(?:${CUR_SYMBOL})?(${NUM})${SCALE}?)?`,
      'gu',
    ),
    say: (m) => {
      const [sym, num, s1, l1, num2, s2, l2] = m.g
      const cur = sym!.trim()
      const adjective = qualifiesNoun(m.after)
      if (num2) return `${money(num!, s1 ?? l1, cur, false, m.tag, false)} to ${money(num2, s2 ?? l2, cur, adjective, m.tag)}`
      return money(num!, s1 ?? l1, cur, adjective, m.tag)
    },
  },
  {
    category: 'money',
    // Currency after the number: "30€", "5 million USD", "50p", "99c".
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,])(${NUM})${SCALE}?\s?(€|£|${CUR_CODE}|p|c)(?![\p{L}\p{N}])`, 'gu'),
    say: (m) => {
      const [num, s, l, cur] = m.g
      if (cur === 'p' || cur === 'c') {
        if (s || l || num!.includes('.')) return undefined
        return `${card(num!, m.tag)} ${cur === 'p' ? (isOne(num!) ? 'penny' : 'pence') : isOne(num!) ? 'cent' : 'cents'}`
      }
      return money(num!, s ?? l, cur!, qualifiesNoun(m.after), m.tag)
    },
  },
  {
    category: 'cardinals',
    // A scale suffix without a currency: "1.2bn users", "3m people", "500k views" (bare "m" only before a counted noun: else meters).
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,$€£])(${NUM})(bn|tn|mn|k|m)(?=\s+(\p{L}+))`, 'gu'),
    say: (m) => {
      if ((m.g[1] === 'm' || m.g[1] === 'k') && !COUNTED.test(` ${m.g[2]}`)) return undefined
      return `${numberWords(m.g[0]!, m.tag)} ${SCALES[m.g[1]!]}`
    },
  },
  {
    category: 'phone numbers',
    // Service and short numbers after "call", "dial", "text": digit by digit ("call 911", "dial 999").
    pattern: /(?<=\b(?:[Cc]all|[Dd]ial|[Tt]ext|[Pp]hone|[Rr]ing)\s)(\d{3,6})(?![\p{L}\p{N}]|[.,]\d)/gu,
    say: (m) => digitByDigit(m.g[0]!, lang(m.tag)),
  },
  {
    category: 'percentages',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,])(${NUM})\s?(%\s?)?(?:[-–]|to)\s?(${NUM})\s?%`, 'gu'),
    // "10-15%" is "ten to fifteen percent"; "4% to 5%" keeps both: "four percent to five percent".
    say: (m) => `${numberWords(m.g[0]!, m.tag)}${m.g[1] ? ' percent' : ''} to ${numberWords(m.g[2]!, m.tag)} percent`,
  },
  {
    category: 'percentages',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,])(${NUM})\s?%`, 'gu'),
    say: (m) => `${numberWords(m.g[0]!, m.tag)} percent`,
  },
  {
    category: 'measures',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,])(${NUM})(?:\s?[-–]\s?(${NUM}))?[\s-]?(${UNIT_RE})(?:\/(s|sec|h|hr|min|day|d|wk|week|mo|month|yr|year|kg|km|l|person))?(?![\p{L}\p{N}²/])`, 'gu'),
    say: (m) => {
      const [a, b, unit, per] = m.g
      const words = UNITS[unit!]!
      // Bare "m" is also "million" ("5m people"): not before a counted noun.
      if (unit === 'm' && COUNTED.test(m.after)) return undefined
      const adjective = /\b(?:a|an)\s$/i.test(m.before) && qualifiesNoun(m.after)
      const one = !b && isOne(a!.replace(/\.0+$/, ''))
      let s = `${numberWords(a!, m.tag)}${b ? ` to ${numberWords(b, m.tag)}` : ''} ${adjective || one ? words[0] : words[1]}`
      if (per) s += ` per ${PER[per]}`
      return s
    },
  },
  {
    category: 'measures',
    pattern: new RegExp(String.raw`(?<![\p{L}\p{N}.,])(-|minus\s)?(${NUM})\s?°(?:\s?([CF])(?![\p{L}\p{N}]))?`, 'gu'),
    say: (m) => {
      const adjective = !m.g[2] && /\b(?:a|an)\s$/i.test(m.before) && qualifiesNoun(m.after)
      const scale = m.g[2] === 'C' ? ' Celsius' : m.g[2] === 'F' ? ' Fahrenheit' : ''
      return `${m.g[0] ? 'minus ' : ''}${numberWords(m.g[1]!, m.tag)} ${adjective || isOne(m.g[1]!) ? 'degree' : 'degrees'}${scale}`
    },
  },
  {
    category: 'measures',
    // "per" after any unit word: "$5/month", "20 calls/day".
    pattern: /(?<=[\p{L}\p{N}])\/(second|sec|minute|min|hour|hr|h|day|week|month|mo|year|yr|night|person|head|capita|gallon|litre|liter|kg|km|mile)\b/gu,
    say: (m) => ` per ${PER[m.g[0]!] ?? m.g[0]!}`,
  },
  {
    category: 'decades',
    pattern: /(?<![\p{L}\p{N}])(?:'|’)?(1\d|20)?(\d)0s\b/gu,
    say: (m) => {
      if (!m.g[0] && !/^'|’/.test(m.text) && m.g[1] === '0') return undefined
      if (!m.g[0]) return m.g[1] === '0' ? undefined : pluralLast(card(`${m.g[1]}0`, m.tag))
      const y = `${m.g[0]}${m.g[1]}0`
      return pluralLast(yearWords(y, m.tag))
    },
  },
  {
    category: 'ordinals',
    pattern: /(?<![\p{L}\p{N}.,])(\d{1,3}(?:,\d{3})*|\d+)(st|nd|rd|th)\b/gu,
    say: (m) => ord(m.g[0]!.replace(/,/g, '')),
  },
  {
    category: 'years',
    // Year ranges: 2020-2024, 2020-24, 1939–45.
    pattern: /(?<![\p{L}\p{N}.,$€£/-])(1[1-9]\d{2}|20\d{2})\s?[-–/]\s?(\d{4}|\d{2})(?![\p{N}%]|\s?[-–/]\d|\.\d)/gu,
    say: (m) => {
      const a = m.g[0]!
      const b = m.g[1]!.length === 2 ? `${a.slice(0, 2)}${m.g[1]}` : m.g[1]!
      if (Number(b) <= Number(a)) return undefined
      return `${yearWords(a, m.tag)} to ${yearWords(b, m.tag)}`
    },
  },
  {
    category: 'years',
    pattern: /(?<![\p{L}\p{N}.,$€£'-])(1\d{3}|20\d{2})(?![\p{N}%°]|[.,]\d|\s?(?:[-–]\s?\d|(?:people|persons|times|units|pieces|jobs|homes|members|students|children|workers|troops|soldiers|residents|votes|miles|meters|kilometers|feet|words|points|calories|acres|hectares|items)\b))/gu,
    say: (m) => (YEAR_CUE.test(m.before) || /^\)/.test(m.after) && /\($/.test(m.before) || /^\s*$|^[.,;:!?]/.test(m.after) && /\b(?:in|since|of|from|until|by)\b/i.test(m.before.slice(-20)) ? yearWords(m.g[0]!, m.tag) : undefined),
  },
  {
    category: 'roman numerals',
    pattern: /(?<=\p{Lu}[\p{L}.]*\s)([IVXLC]{1,8})(?![\p{L}\p{N}'’-])/gu,
    say: (m) => {
      const n = romanValue(m.g[0]!)
      if (n === undefined || n < 1) return undefined
      if (ROMAN_CARDINAL.test(m.before)) return m.g[0] !== 'I' || /\bWar\s$/.test(m.before) ? card(n, m.tag) : undefined
      // A ruler or a name in a line of names: "Charles III", "Henry VIII", "Elizabeth II"; I, V, X alone only after a title.
      if (m.g[0]!.length === 1 && !REGNAL.test(m.before)) return undefined
      if (n > 39) return undefined
      return `the ${ord(n)}`
    },
  },
  {
    category: 'fractions',
    pattern: /(?<![\p{L}\p{N}/.,])(?:(\d+)(?:\s|-)?)?([½⅓⅔¼¾⅕⅛⅜⅝⅞])|(?<![\p{L}\p{N}/.,])(?:(\d+)\s)?([1-9])\/([2-9]|1[0-2])(?![\p{N}/])/gu,
    say: (m) => {
      if (m.g[1]) {
        const [n, d] = FRACTIONS[m.g[1]]!.split('/').map(Number) as [number, number]
        return mixedFraction(m.g[0], n, d, m.tag)
      }
      const n = Number(m.g[3])
      const d = Number(m.g[4])
      if (n >= d) return m.g[2] ? undefined : n === 24 ? undefined : undefined
      return mixedFraction(m.g[2], n, d, m.tag)
    },
  },
  {
    category: '24/7',
    pattern: /\b24\/7\b/g,
    say: () => 'twenty-four seven',
  },
  {
    category: 'serial numbers',
    // Codes of capitals and digits: "A380" -> "A three eighty", "BA2490" -> "B A twenty-four ninety", "M25" -> "M twenty-five".
    pattern: /(?<![\p{L}\p{N}-])([A-Z]{1,3})-?(\d{2,4})(?![\p{L}\p{N}]|[.,]\d)/gu,
    say: (m) => {
      const letters = m.g[0]!
      // Well-known words before a number ("COVID-19") keep the engine's reading of the number, but still get it said as a code.
      return `${letters.length > 1 && letters.length < 4 ? spellLetters(letters) : letters} ${groupedDigits(m.g[1]!, m.tag)}`
    },
  },
  {
    category: 'cardinals',
    // Numbers with thousands separators and decimals: "1,234,567", "4.25".
    pattern: /(?<![\p{L}\p{N}.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![\p{L}\p{N}]|[.,]\d)/gu,
    say: (m) => numberWords(m.g[0]!, m.tag),
  },
]

export const en: SpokenLanguage = {
  trigger: /[\d½⅓⅔¼¾⅕⅛⅜⅝⅞]|\b(?:[IVXLC]{2,}|[IVX](?=[\s,.;:)]|$))|\b(?:St|Ave|Rd|Blvd|Dr|Ln)\b/,
  rules,
}

/** For tests and --explain: the category names of the English rules, in order. */
export const EN_CATEGORIES = [...new Set(rules.map((r) => r.category))]
export type { RuleMatch }
