/** Shared helpers for the script tests: word tokens and in-order matching. */
import type { Script } from '../../src/script/index.ts'

const NO_SPACE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u

/**
 * Lower-cased word tokens: runs of letters/digits; characters of scripts written
 * without spaces (CJK, Thai) count one token each, so those pages are measured
 * as finely as the others.
 */
export function wordTokens(text: string): string[] {
  const out: string[] = []
  for (const run of text.toLowerCase().normalize('NFC').match(/[\p{L}\p{N}\p{M}]+/gu) ?? []) {
    if (NO_SPACE.test(run)) {
      let latin = ''
      for (const ch of run) {
        if (NO_SPACE.test(ch)) {
          if (latin) out.push(latin)
          latin = ''
          out.push(ch)
        } else latin += ch
      }
      if (latin) out.push(latin)
    } else out.push(run)
  }
  return out
}

/** Length of the longest common subsequence: how many of `expected`'s tokens appear in `actual` in the same order. */
export function inOrderMatches(expected: string[], actual: string[]): number {
  let prev = new Uint32Array(actual.length + 1)
  let cur = new Uint32Array(actual.length + 1)
  for (let i = 1; i <= expected.length; i++) {
    const e = expected[i - 1]
    for (let j = 1; j <= actual.length; j++) {
      cur[j] = e === actual[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!)
    }
    ;[prev, cur] = [cur, prev]
  }
  return prev[actual.length]!
}

export function displayOf(script: Script): string {
  return script.segments.map((s) => s.displayText ?? '').join(' ')
}

export function spokenOf(script: Script): string {
  return script.segments.map((s) => s.text).join(' ')
}

/** Whitespace-separated words. */
export function words(text: string): string[] {
  return text.split(/\s+/u).filter(Boolean)
}
