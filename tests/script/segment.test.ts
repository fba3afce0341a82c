/** Segmentation: whole sentences grouped to a target, never over the byte limit. */
import { describe, expect, it } from 'vitest'
import { articleToScript, normalizeForSpeech, segmentText, splitToLimit, utf8Bytes } from '../../src/script/index.ts'
import { words } from './helpers.ts'

const sentence = (i: number) => `This is sentence number ${i} of a long paragraph about the harbour tram.`

describe('segmentText', () => {
  it('groups whole sentences up to the target size', () => {
    const text = Array.from({ length: 30 }, (_, i) => sentence(i)).join(' ')
    const pieces = segmentText(text, 'en', { targetChars: 300 })
    expect(pieces.length).toBeGreaterThan(5)
    for (const p of pieces) {
      expect(p.text.length).toBeLessThanOrEqual(300)
      expect(p.text).toMatch(/^This is sentence number \d+/)
      expect(p.text).toMatch(/tram\.$/) // whole sentences only
      expect(p.displayText).toBe(p.text)
    }
    expect(words(pieces.map((p) => p.text).join(' '))).toEqual(words(normalizeForSpeech(text, 'en')))
  })

  it('keeps the text as written in displayText', () => {
    const [p] = segmentText('Profits rose 15% to $3bn.', 'en')
    expect(p).toEqual({ text: 'Profits rose fifteen percent to three billion dollars.', displayText: 'Profits rose 15% to $3bn.' })
  })

  it('splits an over-long sentence at clause punctuation first', () => {
    const long = Array.from({ length: 12 }, (_, i) => `clause number ${i} goes here`).join(', ') + '.'
    const pieces = segmentText(long, 'en', { maxBytes: 100, targetChars: 100 })
    for (const p of pieces) expect(utf8Bytes(p.text)).toBeLessThanOrEqual(100)
    expect(pieces.slice(0, -1).every((p) => p.text.endsWith(','))).toBe(true)
    expect(words(pieces.map((p) => p.text).join(' '))).toEqual(words(long))
  })

  it('then at spaces, never inside a word', () => {
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + '.'
    const pieces = segmentText(long, 'en', { maxBytes: 64 })
    expect(pieces.length).toBeGreaterThan(5)
    for (const p of pieces) expect(utf8Bytes(p.text)).toBeLessThanOrEqual(64)
    expect(words(pieces.map((p) => p.text).join(' '))).toEqual(words(long))
  })

  it('never cuts a multi-byte character, and splits CJK at word boundaries', () => {
    const zh = '人工智能正在改变世界'.repeat(40) + '。'
    const pieces = segmentText(zh, 'zh', { maxBytes: 100 })
    for (const p of pieces) {
      expect(utf8Bytes(p.text)).toBeLessThanOrEqual(100)
      expect(p.text).not.toMatch(/\uFFFD/)
      expect(Buffer.from(p.text, 'utf8').toString('utf8')).toBe(p.text)
    }
    expect(pieces.map((p) => p.text).join('')).toBe(zh)
  })

  it('cuts CJK text at its full-width punctuation, but never inside a spaced token', () => {
    const zh = '人工智能正在改变世界，'.repeat(12) + '结束。'
    const pieces = splitToLimit(zh, 100, 'zh')
    for (const p of pieces.slice(0, -1)) expect(p.endsWith('，')).toBe(true)
    expect(pieces.join('')).toBe(zh)
    // Found by the property test: a full-width comma inside a token of spaced text.
    const mixed = splitToLimit('minus 5 degrees Celsius ，¡𐀀', 32, 'en')
    expect(mixed).toEqual(['minus 5 degrees Celsius', '，¡𐀀'])
  })

  it('splits a single word longer than the limit at grapheme boundaries, as a last resort', () => {
    const word = 'é́'.repeat(50) + 'x'.repeat(200) // e + combining acute: one grapheme of 4 bytes
    const pieces = splitToLimit(word, 40, 'en')
    for (const p of pieces) {
      expect(utf8Bytes(p)).toBeLessThanOrEqual(40)
      expect(p.normalize('NFC').startsWith('\u0301')).toBe(false) // no orphaned combining mark
    }
    expect(pieces.join('')).toBe(word)
  })

  it('holds Google’s 5000-byte limit by default, with multi-byte text', () => {
    const ru = Array.from({ length: 400 }, () => 'Очень длинное предложение без точки').join(', ')
    const script = articleToScript({ content: ru })
    expect(script.segments.length).toBeGreaterThan(1)
    for (const s of script.segments) expect(utf8Bytes(s.text)).toBeLessThanOrEqual(5000)
  })

  it('pause after a cut inside a block is short; after the block, per kind', () => {
    const text = 'Headline here\n\n' + Array.from({ length: 20 }, (_, i) => sentence(i)).join(' ')
    const script = articleToScript({ content: text }, { targetChars: 200 })
    const body = script.segments.filter((s) => s.kind === 'paragraph')
    expect(body.length).toBeGreaterThan(2)
    expect(new Set(body.map((s) => s.blockIndex))).toEqual(new Set([0]))
    expect(body.slice(0, -1).every((s) => s.pauseAfterMs < 500)).toBe(true)
    expect(body.at(-1)!.pauseAfterMs).toBe(500)
  })
})
