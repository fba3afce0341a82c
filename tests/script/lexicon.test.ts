/** Pronunciation lexicons: loading, validation, whole-word application. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { applyLexicon, articleToScript, createLexicon, loadLexicon } from '../../src/script/index.ts'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'briefcast-lexicon-'))
mkdirSync(path.join(tmp, 'lexicon'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function write(name: string, body: unknown): void {
  writeFileSync(path.join(tmp, 'lexicon', `${name}.json`), typeof body === 'string' ? body : JSON.stringify(body))
}

describe('applyLexicon', () => {
  const lex = createLexicon('en', [
    { match: 'Nvidia', say: 'en-vidia' },
    { match: 'AI', say: 'A I', caseSensitive: true },
    { match: 'New York', say: 'New York City' },
    { match: 'New York Times', say: 'the Times' },
  ])

  it('replaces whole words only, case-insensitively by default', () => {
    expect(applyLexicon('NVIDIA and nvidia, not Nvidias or xNvidia.', lex)).toBe('en-vidia and en-vidia, not Nvidias or xNvidia.')
  })
  it('respects caseSensitive', () => {
    expect(applyLexicon('AI, ai and said.', lex)).toBe('A I, ai and said.')
  })
  it('prefers the longest match', () => {
    expect(applyLexicon('The New York Times in New York.', lex)).toBe('The the Times in New York City.')
  })
  it('is applied to spoken text only, and only for its language', () => {
    const en = articleToScript({ content: 'Nvidia grows\n\nNvidia sells many chips to AI labs, the report says.' }, { lexicon: lex })
    expect(en.segments[1]!.text).toBe('en-vidia sells many chips to A I labs, the report says.')
    expect(en.segments[1]!.displayText).toBe('Nvidia sells many chips to AI labs, the report says.')
    const de = articleToScript({ content: 'Nvidia verkauft viele Chips an die Labore, und das ist nicht neu.', language: 'de' }, { lexicon: lex })
    expect(de.segments.at(-1)!.text).toContain('Nvidia')
  })
  it('version changes with the entries and is stable otherwise', () => {
    expect(createLexicon('en', [{ match: 'a', say: 'b' }]).version).toBe(createLexicon('en', [{ match: 'a', say: 'b' }]).version)
    expect(createLexicon('en', [{ match: 'a', say: 'c' }]).version).not.toBe(createLexicon('en', [{ match: 'a', say: 'b' }]).version)
  })
})

describe('loadLexicon', () => {
  it('loads a file and computes its version', () => {
    write('xx', { language: 'en', entries: [{ match: 'GIF', say: 'jif', caseSensitive: true }] })
    const lex = loadLexicon(tmp, 'xx')
    expect(lex.entries).toEqual([{ match: 'GIF', say: 'jif', caseSensitive: true }])
    expect(lex.language).toBe('en')
    expect(lex.version).toMatch(/^[0-9a-f]{16}$/)
  })

  it('a missing file is an empty lexicon with a stable version', () => {
    const a = loadLexicon(tmp, 'zz')
    expect(a.entries).toEqual([])
    expect(loadLexicon(tmp, 'yy').version).toBe(a.version)
  })

  it.each([
    ['not JSON', '{ nope', 'entries'],
    ['entries missing', { language: 'en' }, 'entries'],
    ['empty match', { entries: [{ match: ' ', say: 'x' }] }, 'entries.0.match'],
    ['say not a string', { entries: [{ match: 'a', say: 3 }] }, 'entries.0.say'],
  ])('an invalid file (%s) is INVALID_PROFILE naming the path and field', (_name, body, field) => {
    write('bad', body)
    let err: unknown
    try {
      loadLexicon(tmp, 'bad')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AppError)
    expect((err as AppError).code).toBe('INVALID_PROFILE')
    expect((err as AppError).message).toContain(path.join(tmp, 'lexicon', 'bad.json'))
    if (typeof body !== 'string') expect((err as AppError).message).toContain(field)
  })

  it('rejects names that could escape the lexicon directory', () => {
    expect(() => loadLexicon(tmp, '../secrets')).toThrow(AppError)
  })

  it('the shipped English lexicon is valid', () => {
    const lex = loadLexicon(path.join(import.meta.dirname, '..', '..', 'voices'), 'en')
    expect(lex.entries.length).toBeGreaterThan(5)
    expect(lex.language).toBe('en')
  })
})
