/**
 * Article -> script throughput. Every line carries a baseline measured in the
 * same run:
 *  - HTML pages: plain Readability extraction (linkedom parse + Readability.parse)
 *    of the same page, i.e. what any Readability-based converter must pay; the
 *    ratio is our full pipeline (extract + normalize + segment) over that.
 *  - plain text / Markdown: Intl.Segmenter sentence split of every paragraph of
 *    the same text, the least any sentence-based segmenter can do.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Readability } from '@mozilla/readability'
import { parseHTML } from 'linkedom'
import { MAX_INPUT_BYTES, articleToScript } from '../src/script/index.ts'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const fixtures = path.join(root, 'tests', 'fixtures')

/**
 * Best wall time of `ours` and `base`, ms, run alternately (`runs` rounds after a
 * warm-up) so both see the same machine load; the minimum is the least disturbed
 * run, which is what a ratio on a shared machine should compare.
 */
function pair(ours: () => unknown, base: () => unknown, runs: number): [number, number] {
  ours()
  base()
  let a = Infinity
  let b = Infinity
  for (let i = 0; i < runs; i++) {
    let t = performance.now()
    ours()
    a = Math.min(a, performance.now() - t)
    t = performance.now()
    base()
    b = Math.min(b, performance.now() - t)
  }
  return [a, b]
}

function readabilityOnly(html: string): void {
  const { document } = parseHTML(html)
  new Readability(document as unknown as Document).parse()
}

/** Sentence-split every paragraph with Intl.Segmenter: the least a sentence-based segmenter must do. */
function sentencesOnly(text: string): void {
  const seg = new Intl.Segmenter('en', { granularity: 'sentence' })
  let n = 0
  // Per paragraph: Intl.Segmenter is superlinear on one huge string (the converter windows it too).
  for (const p of text.split(/\n\s*\n/)) for (const _ of seg.segment(p)) n++
  if (n < 0) throw new Error('unreachable')
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
const RUNS = 5

// 1. The corpus: 8 Readability pages + the plain-text page.
const pages = readdirSync(path.join(fixtures, 'readability'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
let totalChars = 0
let totalOurs = 0
let totalBase = 0
for (const page of pages) {
  const html = readFileSync(path.join(fixtures, 'readability', page, 'source.html'), 'utf8')
  const [ours, base] = pair(() => articleToScript({ content: html }), () => readabilityOnly(html), RUNS)
  totalChars += html.length
  totalOurs += ours
  totalBase += base
  console.log(`  ${page.padEnd(12)} ${fmt(html.length).padStart(9)} chars  ${ours.toFixed(1).padStart(6)} ms  ${fmt(html.length / (ours / 1000)).padStart(11)} chars/s  readability-only ${base.toFixed(1).padStart(6)} ms  ratio ${(ours / base).toFixed(2)}x`)
}
const plain = readFileSync(path.join(fixtures, 'plain', 'lenovo-nvidia-ai-factories.txt'), 'utf8')
const [plainOurs, plainBase] = pair(() => articleToScript({ content: plain }), () => sentencesOnly(plain), 20)
console.log(`  ${'plain page'.padEnd(12)} ${fmt(plain.length).padStart(9)} chars  ${plainOurs.toFixed(2).padStart(6)} ms  ${fmt(plain.length / (plainOurs / 1000)).padStart(11)} chars/s  sentences-only ${plainBase.toFixed(2)} ms  ratio ${(plainOurs / plainBase).toFixed(2)}x`)
console.log(
  `corpus (8 HTML pages, ${fmt(totalChars)} chars): ${fmt(totalChars / (totalOurs / 1000))} chars/s; full pipeline / Readability-only = ${(totalOurs / totalBase).toFixed(2)}x`,
)

// 2. A 1 MB article, as an HTML page, Markdown and plain text.
const para = readFileSync(path.join(fixtures, 'plain', 'story-1.txt'), 'utf8').split('\n\n').slice(1).join('\n\n')
const paragraphs: string[] = []
let size = 0
for (let i = 0; size < 1024 * 1024; i++) {
  const p = `${para.split('\n\n')[i % 4]} (Part ${i}: it rose 15% to $3bn in 2020-2024, e.g. at Dr. Lee's lab.)`
  paragraphs.push(p)
  size += Buffer.byteLength(p) + 9
}
const html1mb = `<!doctype html><html lang="en"><head><title>One megabyte</title></head><body><nav><a href="/">Home</a></nav><article><h1>One megabyte</h1>${paragraphs.map((p, i) => (i % 25 === 0 ? `<h2>Section ${i / 25}</h2>` : '') + `<p>${p}</p>`).join('')}</article></body></html>`
const text1mb = `One megabyte\n\n${paragraphs.join('\n\n')}`
const md1mb = `# One megabyte\n\n${paragraphs.map((p, i) => (i % 25 === 0 ? `## Section ${i / 25}\n\n` : '') + p).join('\n\n')}`
const [htmlOurs, htmlBase] = pair(() => articleToScript({ content: html1mb }), () => readabilityOnly(html1mb), 3)
const segs = articleToScript({ content: html1mb }).segments.length
console.log(`1 MB article, HTML page: ${htmlOurs.toFixed(0)} ms (${segs} segments, ${fmt(html1mb.length / (htmlOurs / 1000))} chars/s); Readability-only ${htmlBase.toFixed(0)} ms; ratio ${(htmlOurs / htmlBase).toFixed(2)}x`)
const [textOurs, textBase] = pair(() => articleToScript({ content: text1mb }), () => sentencesOnly(text1mb), 3)
console.log(`1 MB article, plain text: ${textOurs.toFixed(0)} ms (${fmt(text1mb.length / (textOurs / 1000))} chars/s); Intl.Segmenter sentences only ${textBase.toFixed(0)} ms; ratio ${(textOurs / textBase).toFixed(2)}x`)
const [mdOurs, mdBase] = pair(() => articleToScript({ content: md1mb }), () => sentencesOnly(md1mb), 3)
console.log(`1 MB article, Markdown: ${mdOurs.toFixed(0)} ms (${fmt(md1mb.length / (mdOurs / 1000))} chars/s); Intl.Segmenter sentences only ${mdBase.toFixed(0)} ms; ratio ${(mdOurs / mdBase).toFixed(2)}x`)

// 3. The largest accepted input (just under the limit) must still finish, not hang.
const biggest = html1mb.replace('</article>', paragraphs.map((p) => `<p>${p}</p>`).join('').repeat(6) + '</article>').slice(0, MAX_INPUT_BYTES - 100)
const t = performance.now()
articleToScript({ content: biggest })
const bigMs = performance.now() - t
console.log(`${(Buffer.byteLength(biggest) / 1048576).toFixed(1)} MB page (limit ${MAX_INPUT_BYTES / 1048576} MB): ${bigMs.toFixed(0)} ms; per MB ${(bigMs / (Buffer.byteLength(biggest) / 1048576)).toFixed(0)} ms vs 1 MB page ${htmlOurs.toFixed(0)} ms (${(bigMs / (Buffer.byteLength(biggest) / 1048576) / htmlOurs).toFixed(2)}x, 1.00 = linear)`)
