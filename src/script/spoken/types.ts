/** One language's spoken-form rules (see spoken/index.ts). */

export interface RuleMatch {
  /** The whole match as written. */
  text: string
  /** Capture groups (undefined when a group did not take part). */
  g: (string | undefined)[]
  /** The sentence before and after the match (for context: "in 1998", "the 1980s", "a $4m plan"). */
  before: string
  after: string
  /** The article's full BCP 47 tag ("en-GB"): region-dependent forms (07/08/2012) read it. */
  tag: string
}

export interface SpokenRule {
  /** The category it belongs to (dates, times, money...): names the rule in docs, tests and --explain. */
  category: string
  /** A global regular expression. */
  pattern: RegExp
  /** The spoken form, or undefined to leave the match as written. */
  say: (m: RuleMatch) => string | undefined
}

export interface SpokenLanguage {
  /** Sentences without a match of this skip every rule (most sentences have no digit). */
  trigger: RegExp
  /** Applied in order, each to the previous one's output. */
  rules: SpokenRule[]
}
