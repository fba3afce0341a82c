/**
 * Spoken forms: numbers, dates, times, money, measures, ranges, ordinals,
 * roman numerals, phone and serial numbers, read as a news reader says them,
 * per language. Each language is a module of rules (spoken/en.ts, de.ts,
 * fr.ts) over number words from n2words (spoken/numbers.ts); a language
 * without a module is left to the engine. How to add one: docs/script.md.
 *
 * The output is plain words, which every engine reads the same way: engines
 * that normalize by themselves (Google) get text they cannot misread, and
 * espeak-ng no longer reads "2012" as "two thousand twelve".
 */
import { de } from './de.ts'
import { en } from './en.ts'
import { fr } from './fr.ts'
import type { RuleMatch, SpokenLanguage } from './types.ts'
import { primaryLanguage } from '../language.ts'

export type { RuleMatch, SpokenLanguage, SpokenRule } from './types.ts'

export const SPOKEN_LANGUAGES: Readonly<Record<string, SpokenLanguage>> = Object.freeze({ en, de, fr })

/**
 * The sentence with every written form its language's rules know replaced by
 * words. `tag` is the article's BCP 47 tag; its primary subtag picks the rules.
 */
export function speakWrittenForms(sentence: string, tag: string): string {
  const lang = SPOKEN_LANGUAGES[primaryLanguage(tag)]
  if (!lang || !lang.trigger.test(sentence)) return sentence
  let t = sentence
  for (const rule of lang.rules) {
    rule.pattern.lastIndex = 0
    if (!rule.pattern.test(t)) continue
    rule.pattern.lastIndex = 0
    t = t.replace(rule.pattern, (...args: unknown[]) => {
      const hasGroups = typeof args[args.length - 1] === 'object'
      const whole = args[args.length - (hasGroups ? 2 : 1)] as string
      const offset = args[args.length - (hasGroups ? 3 : 2)] as number
      const text = args[0] as string
      const m: RuleMatch = {
        text,
        g: args.slice(1, args.length - (hasGroups ? 3 : 2)) as (string | undefined)[],
        before: whole.slice(0, offset),
        after: whole.slice(offset + text.length),
        tag,
      }
      return rule.say(m) ?? text
    })
  }
  return t
}
