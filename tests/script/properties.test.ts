/**
 * Property tests (fast-check): for any input text, every segment is within the
 * byte limit and non-empty, the segments' words are the normalized text's words
 * in order, and the converter throws nothing but AppError.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { articleToScript, normalizeForSpeech, segmentText, utf8Bytes } from '../../src/script/index.ts'
import { inOrderMatches, wordTokens, words } from './helpers.ts'
import { loadSpokenForms } from './spoken-forms/table.ts'

const EXPECTED_CODES = new Set(['EMPTY_INPUT', 'NO_ARTICLE_TEXT', 'UNSUPPORTED_FORMAT', 'INPUT_TOO_LARGE', 'INVALID_ENCODING', 'BINARY_INPUT', 'INVALID_JSON', 'VALIDATION_FAILED'])
const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 300) }

/** Words of mixed scripts and symbols the normalizer rewrites; none longer than a small limit. */
const word = fc.oneof(
  fc.constantFrom('the', 'tram', 'Dr.', 'e.g.', 'U.S.', '15%', '$50', '€3', '2020-2024', '-5°C', '&', '±2', 'COVID-19', 'x@y.com', 'https://a.io/b?c=1', '“quoted”', '—', '…', '🎉', '[1]', 'naïve', 'Straße', 'Москва', '東京', 'مرحبا', 'No.', '5', 'mr.', 'vs', 'A.'),
  fc.stringMatching(/^[a-zA-Z]{1,12}$/),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
)
const punct = fc.constantFrom('', '', '', '.', ',', '?', '!', ';', ':', '."', ')')
const sentenceText = fc.array(fc.tuple(word, punct).map(([w, p]) => w + p), { minLength: 1, maxLength: 40 }).map((ws) => ws.join(' '))
const anyText = fc.oneof(sentenceText, fc.string({ unit: 'grapheme', maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 300 }))
const limits = fc.record({ maxBytes: fc.integer({ min: 32, max: 600 }), targetChars: fc.integer({ min: 1, max: 500 }) })

function speakable(segmentTexts: string[], maxBytes: number): void {
  for (const t of segmentTexts) {
    expect(t.trim()).not.toBe('')
    expect(t).toBe(t.trim())
    expect(utf8Bytes(t)).toBeLessThanOrEqual(maxBytes)
  }
}

describe('segmentText properties', () => {
  it('within the byte limit, never empty, the normalized words in order', () => {
    fc.assert(
      fc.property(sentenceText, limits, (text, { maxBytes, targetChars }) => {
        const pieces = segmentText(text, 'en', { maxBytes, targetChars })
        speakable(pieces.map((p) => p.text), maxBytes)
        const normalized = normalizeForSpeech(text, 'en')
        // Words longer than the limit are cut (last resort); compare them without spaces.
        if (words(normalized).every((w) => utf8Bytes(w) <= maxBytes)) {
          expect(words(pieces.map((p) => p.text).join(' '))).toEqual(words(normalized))
        }
        expect(pieces.map((p) => p.text).join('').replace(/\s+/g, '')).toBe(normalized.replace(/\s+/g, ''))
      }),
      RUNS,
    )
  })

  it('holds for arbitrary Unicode and languages without spaces', () => {
    fc.assert(
      fc.property(anyText, limits, fc.constantFrom('en', 'zh', 'ja', 'ar', 'ru', 'de', 'th'), (text, { maxBytes, targetChars }, lang) => {
        const pieces = segmentText(text, lang, { maxBytes, targetChars })
        speakable(pieces.map((p) => p.text), maxBytes)
        expect(pieces.map((p) => p.text).join('').replace(/\s+/g, '')).toBe(normalizeForSpeech(text, lang).replace(/\s+/g, ''))
        for (const p of pieces) expect(p.displayText.trim()).not.toBe('')
      }),
      RUNS,
    )
  })
})

describe('articleToScript properties', () => {
  it('any input text: a valid script or an AppError with a catalogued input code', () => {
    const input = fc.oneof(
      anyText,
      anyText.map((t) => `<p>${t}</p><div><h2>${t.slice(0, 20)}</h2></div>`),
      anyText.map((t) => `# ${t.slice(0, 10)}\n\n${t}`),
      anyText.map((t) => JSON.stringify({ title: t.slice(0, 10), body: t })),
      fc.uint8Array({ maxLength: 300 }),
    )
    fc.assert(
      fc.property(input, limits, (content, { maxBytes, targetChars }) => {
        try {
          const script = articleToScript({ content }, { maxBytes, targetChars })
          expect(script.title).toBeTypeOf('string')
          expect(script.language).toMatch(/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/)
          expect(script.segments.length).toBeGreaterThan(0)
          speakable(script.segments.map((s) => s.text), maxBytes)
        } catch (err) {
          expect(err).toBeInstanceOf(AppError)
          expect(EXPECTED_CODES.has((err as AppError).code), (err as AppError).message).toBe(true)
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400) },
    )
  })

  it('a plain article: every paragraph is read, its normalized words in order', () => {
    const longSentence = fc.array(fc.stringMatching(/^[a-z]{2,9}$/), { minLength: 16, maxLength: 40 }).map((ws) => `${ws.join(' ')}.`)
    // One long sentence makes it a paragraph by shape; the rest is anything sentence-like.
    const paragraph = fc.tuple(longSentence, fc.array(sentenceText, { maxLength: 3 })).map(([first, rest]) => [first, ...rest.map((r) => `${r.replace(/[\s\p{Cc}]+/gu, ' ')}.`)].join(' '))
    fc.assert(
      fc.property(fc.array(paragraph, { minLength: 1, maxLength: 6 }), limits, (paragraphs, { maxBytes, targetChars }) => {
        const text = `Title of the piece\n\n${paragraphs.join('\n\n')}`
        const script = articleToScript({ content: text, language: 'en' }, { maxBytes, targetChars })
        expect(script.title).toBe('Title of the piece')
        const body = script.segments.filter((s) => s.kind !== 'title')
        speakable(body.map((s) => s.text), maxBytes)
        const expected = paragraphs.map((p) => normalizeForSpeech(p, 'en')).join(' ')
        expect(body.map((s) => s.text).join('').replace(/\s+/g, '')).toBe(expected.replace(/\s+/g, ''))
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    )
  })

  it('normalization only adds spoken words for written forms: the story words around them are all read, in order', () => {
    // Story words (none of them an abbreviation, unit or month) mixed with the written forms of the spoken-forms table.
    const story = fc.constantFrom('council', 'bridge', 'river', 'voted', 'plan', 'residents', 'said', 'budget', 'approved', 'tram', 'harbour', 'mayor', 'school', 'roof', 'delayed', 'costs', 'rose', 'storm', 'Stadtrat', 'conseil')
    const rows = loadSpokenForms()
    const written = fc.constantFrom(...rows.map((r) => r.written))
    const language = fc.constantFrom('en', 'en-GB', 'de', 'fr')
    const piece = fc.oneof({ arbitrary: story, weight: 3 }, { arbitrary: written, weight: 2 })
    const punct = fc.constantFrom(' ', ' ', ' ', ', ', '. ', '; ')
    fc.assert(
      fc.property(fc.array(fc.tuple(piece, punct), { minLength: 1, maxLength: 30 }), language, (pieces, lang) => {
        const text = pieces.map(([p, q]) => p + q).join('')
        const storyWords = wordTokens(pieces.map(([p]) => p).filter((p) => /^[A-Za-z]+$/.test(p) && !rows.some((r) => r.written === p)).join(' '))
        const spoken = wordTokens(normalizeForSpeech(text, lang))
        expect(inOrderMatches(storyWords, spoken), `${text}\n-> ${normalizeForSpeech(text, lang)}`).toBe(storyWords.length)
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    )
  })
})
