/**
 * Language of an article as a BCP 47 tag: the input's own field, else the page's
 * lang attribute, else guessed from the text's script (and, for Latin text,
 * from very common function words).
 */

/** Canonical BCP 47 form ("en-us" -> "en-US"), or undefined when the tag is not valid. */
export function canonicalLanguage(tag: string | undefined | null): string | undefined {
  if (!tag) return undefined
  const t = tag.trim().replace(/_/g, '-')
  if (!t) return undefined
  try {
    const [c] = Intl.getCanonicalLocales(t)
    return c
  } catch {
    return undefined
  }
}

/** Primary subtag, lower case ("pt-BR" -> "pt", "pt_br" -> "pt": an underscore separates as in canonicalLanguage). The one place that says so. */
export function primaryLanguage(tag: string): string {
  return tag.split(/[-_]/)[0]!.toLowerCase()
}

const SCRIPTS: { lang: string; re: RegExp }[] = [
  { lang: 'ja', re: /[\p{Script=Hiragana}\p{Script=Katakana}]/gu },
  { lang: 'ko', re: /\p{Script=Hangul}/gu },
  { lang: 'zh', re: /\p{Script=Han}/gu },
  { lang: 'ru', re: /\p{Script=Cyrillic}/gu },
  { lang: 'ar', re: /\p{Script=Arabic}/gu },
  { lang: 'el', re: /\p{Script=Greek}/gu },
  { lang: 'he', re: /\p{Script=Hebrew}/gu },
  { lang: 'hi', re: /\p{Script=Devanagari}/gu },
  { lang: 'th', re: /\p{Script=Thai}/gu },
  { lang: 'latin', re: /\p{Script=Latin}/gu },
]

/** A few of the most frequent words of each language: enough to tell Latin-script news languages apart. */
const STOPWORDS: Record<string, string[]> = {
  en: ['the', 'and', 'of', 'to', 'is', 'in', 'that', 'it', 'was', 'for', 'with', 'are', 'on', 'this', 'have'],
  de: ['der', 'die', 'und', 'das', 'ist', 'nicht', 'mit', 'den', 'ein', 'eine', 'auch', 'sich', 'für', 'dem', 'auf'],
  fr: ['le', 'la', 'les', 'et', 'des', 'est', 'une', 'dans', 'pour', 'que', 'qui', 'pas', 'sur', 'du', 'au'],
  es: ['el', 'los', 'las', 'y', 'del', 'que', 'en', 'una', 'por', 'con', 'para', 'es', 'se', 'su', 'al'],
  pt: ['o', 'os', 'as', 'e', 'do', 'da', 'dos', 'que', 'em', 'um', 'uma', 'para', 'com', 'não', 'ao'],
  it: ['il', 'di', 'che', 'e', 'la', 'per', 'del', 'della', 'un', 'una', 'non', 'sono', 'gli', 'nel', 'è'],
  nl: ['de', 'het', 'een', 'en', 'van', 'is', 'dat', 'niet', 'met', 'op', 'voor', 'zijn', 'ook', 'aan', 'er'],
  pl: ['i', 'w', 'nie', 'na', 'się', 'z', 'że', 'do', 'jest', 'to', 'jak', 'po', 'ale', 'od', 'dla'],
}

/** Guess a language tag from the text itself (first 20 000 characters). */
export function detectLanguage(text: string): string {
  const sample = text.length > 20_000 ? text.slice(0, 20_000) : text
  let best = 'latin'
  let bestCount = 0
  const counts: Record<string, number> = {}
  for (const { lang, re } of SCRIPTS) {
    const n = sample.match(re)?.length ?? 0
    counts[lang] = n
    if (n > bestCount) {
      best = lang
      bestCount = n
    }
  }
  // Japanese mixes kana with Han; any real share of kana means Japanese.
  if ((best === 'zh' || best === 'ja') && (counts.ja ?? 0) > 0.05 * ((counts.zh ?? 0) + (counts.ja ?? 0))) return 'ja'
  if (best === 'ru') {
    if (/[іїєґ]/iu.test(sample)) return 'uk'
    return 'ru'
  }
  if (best === 'ar' && /[پچژگ]/u.test(sample)) return 'fa'
  if (best !== 'latin') return best
  return detectLatinLanguage(sample)
}

function detectLatinLanguage(sample: string): string {
  const words = sample.toLowerCase().match(/\p{L}+/gu) ?? []
  if (words.length === 0) return 'en'
  const scores: Record<string, number> = {}
  const sets = Object.entries(STOPWORDS).map(([lang, list]) => [lang, new Set(list)] as const)
  const limit = Math.min(words.length, 3000)
  for (let i = 0; i < limit; i++) {
    for (const [lang, set] of sets) if (set.has(words[i]!)) scores[lang] = (scores[lang] ?? 0) + 1
  }
  let best = 'en'
  let bestScore = 0
  for (const [lang, s] of Object.entries(scores)) {
    if (s > bestScore) {
      best = lang
      bestScore = s
    }
  }
  // Too few function words to judge (a headline, a list): English is the least-bad default.
  return bestScore >= 2 ? best : 'en'
}
