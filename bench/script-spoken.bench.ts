/**
 * Spoken forms: the share of the table's rows (tests/script/spoken-forms/*.tsv) that a listener
 * hears right, measured through espeak-ng's phonemes: our normalized text against the expected
 * spoken form, beside plain espeak-ng reading the raw written text (espeak-ng normalizes numbers
 * itself: that is the baseline every row starts from).
 */
import { normalizeForSpeech } from '../src/script/index.ts'
import { loadSpokenForms, phonemizer } from '../tests/script/spoken-forms/table.ts'

const rows = loadSpokenForms()
const phonemes = await phonemizer()
const byGroup = new Map<string, { n: number; ours: number; plain: number }>()
const t = performance.now()
let ours = 0
let plain = 0
for (const row of rows) {
  const wanted = phonemes(row.spoken, row.tag)
  const okOurs = phonemes(normalizeForSpeech(row.written, row.tag), row.tag) === wanted
  const okPlain = phonemes(row.written, row.tag) === wanted
  ours += Number(okOurs)
  plain += Number(okPlain)
  for (const key of [row.tag]) {
    const g = byGroup.get(key) ?? { n: 0, ours: 0, plain: 0 }
    g.n++
    g.ours += Number(okOurs)
    g.plain += Number(okPlain)
    byGroup.set(key, g)
  }
}
const pct = (a: number, n: number) => `${((100 * a) / n).toFixed(1)}%`
for (const [key, g] of [...byGroup].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${key.padEnd(6)} ${String(g.n).padStart(4)} rows  ours ${pct(g.ours, g.n).padStart(6)}  plain espeak-ng ${pct(g.plain, g.n).padStart(6)}`)
}
console.log(
  `spoken forms (${rows.length} rows, ${[...new Set(rows.map((r) => r.tag))].join('/')}): ${ours}/${rows.length} spoken right = ${pct(ours, rows.length)}; plain espeak-ng on the raw text ${plain}/${rows.length} = ${pct(plain, rows.length)} (compared through espeak-ng phonemes, ${((performance.now() - t) / 1000).toFixed(1)} s)`,
)
