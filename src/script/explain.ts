/**
 * `briefcast script --explain`: what will be read, for an editor. Per segment,
 * each span changed for speech (written -> spoken: "$4.2m" -> "four point two
 * million dollar"), and the blocks the extractor dropped with the reason
 * (ad-slot label, newsletter prompt, the site's name...), so a newsroom sees at
 * once what listeners hear. Pure: the same conversion as articleToScript.
 */
import { comparable } from './blocks.ts'
import { convertWithDropped } from './index.ts'
import type { ArticleInput, Script, SegmentKind, SegmentOptions } from './types.ts'

export interface SpeechChange {
  written: string
  spoken: string
}

export interface SegmentExplanation {
  index: number
  kind: SegmentKind
  /** The segment as written (displayText) and as spoken. */
  written: string
  spoken: string
  changes: SpeechChange[]
}

export interface Explanation {
  script: Script
  segments: SegmentExplanation[]
  dropped: { text: string; reason: string }[]
}

const key = (w: string) => comparable(w) || w

/**
 * The spans that differ between the written and the spoken text, word by word (a
 * longest common subsequence of words, compared without case and punctuation):
 * each maximal run of unmatched words on either side is one change.
 */
export function speechChanges(written: string, spoken: string): SpeechChange[] {
  const a = written.split(/\s+/).filter(Boolean)
  const b = spoken.split(/\s+/).filter(Boolean)
  const ka = a.map(key)
  const kb = b.map(key)
  // lcs[i][j]: LCS length of a[i..] and b[j..] (segments are short: a few hundred words at most).
  const lcs: Uint16Array[] = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1))
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = ka[i] === kb[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
  }
  const changes: SpeechChange[] = []
  let i = 0
  let j = 0
  let w: string[] = []
  let s: string[] = []
  const close = () => {
    if (w.length || s.length) changes.push({ written: w.join(' '), spoken: s.join(' ') })
    w = []
    s = []
  }
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && ka[i] === kb[j]) {
      close()
      i++
      j++
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) s.push(b[j++]!)
    else w.push(a[i++]!)
  }
  close()
  return changes
}

export function explainArticle(input: ArticleInput, options: SegmentOptions = {}): Explanation {
  const { script, dropped } = convertWithDropped(input, options)
  const all = [...dropped]
  const titleSegment = script.segments.find((seg) => seg.kind === 'title')
  if (titleSegment?.displayText && titleSegment.displayText !== script.title && script.title.startsWith(titleSegment.displayText)) {
    all.unshift({ text: script.title.slice(titleSegment.displayText.length).replace(/^\s*[|\-–—:·•»/,]?\s*/, ''), reason: "the site's name at the end of the title (the displayed title keeps it)" })
  } else if (titleSegment?.displayText && titleSegment.displayText !== script.title && script.title.endsWith(titleSegment.displayText)) {
    all.unshift({ text: script.title.slice(0, script.title.length - titleSegment.displayText.length).replace(/\s*[|\-–—:·•»/,]?\s*$/, ''), reason: "the site's name at the start of the title (the displayed title keeps it)" })
  }
  return {
    script,
    dropped: all,
    segments: script.segments.map((seg, index) => ({
      index,
      kind: seg.kind,
      written: seg.displayText ?? seg.text,
      spoken: seg.text,
      changes: speechChanges(seg.displayText ?? seg.text, seg.text),
    })),
  }
}

/** The explanation as text: dropped blocks first, then each segment with its changes. */
export function formatExplanation(e: Explanation): string {
  const lines = [`# ${e.script.title}`, `language: ${e.script.language}   segments: ${e.script.segments.length}   dropped: ${e.dropped.length}`, '']
  if (e.dropped.length) {
    lines.push('Not read:')
    for (const d of e.dropped) lines.push(`  - ${JSON.stringify(d.text)}  (${d.reason})`)
    lines.push('')
  }
  for (const seg of e.segments) {
    lines.push(`[${seg.index + 1} ${seg.kind}] ${seg.spoken}`)
    for (const c of seg.changes) lines.push(`    ${c.written || '(nothing)'}  ->  ${c.spoken || '(not read)'}`)
  }
  return lines.join('\n') + '\n'
}
