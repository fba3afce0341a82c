/** Normalization for speech: what engines misread is spelled out. */
import { describe, expect, it } from 'vitest'
import { normalizeForSpeech, splitSentences } from '../../src/script/index.ts'

describe('normalizeForSpeech (English)', () => {
  it.each([
    ['Sales rose 15% this year.', 'Sales rose fifteen percent this year.'],
    ['Bill & Melinda, R&D.', 'Bill and Melinda, R and D.'],
    ['It cost $50 and $1.', 'It cost fifty dollars and one dollar.'],
    ['A $50 million deal, a $1.5bn loss, US$3 in fees.', 'A fifty million dollar deal, a one point five billion dollar loss, three US dollars in fees.'],
    ['£20 or 30€ or €5.', 'twenty pounds or thirty euros or five euros.'],
    ['It was -5°C, then 72°F and 1°C.', 'It was minus five degrees Celsius, then seventy-two degrees Fahrenheit and one degree Celsius.'],
    ['A 90° turn.', 'A ninety degree turn.'],
    ['Error ±2 or +/-3, up +4.', 'Error plus or minus 2 or plus or minus 3, up plus 4.'],
    ['From 2020-2024 and 2020–2024, pages 5—7.', 'From twenty twenty to twenty twenty-four and twenty twenty to twenty twenty-four, pages 5 to 7.'],
    ['Call 555-123-4567 on 2024-01-05.', 'Call five five five, one two three, four five six seven on January fifth, twenty twenty-four.'],
    ['COVID-19 is not a range.', 'COVID-19 is not a range.'],
    ['See https://www.example.com/a/b?c=1 now.', 'See example dot com now.'],
    ['Mail jane.doe@example.org today.', 'Mail jane doe at example dot org today.'],
    ['Try Amazon.com today.', 'Try Amazon dot com today.'],
    ['Fruit, e.g. apples, i.e. food, etc. And more.', 'Fruit, for example apples, that is food, et cetera. And more.'],
    ['Dr. Who met Mr. Smith and Mrs. Jones vs. Prof. Plum.', 'Doctor Who met Mister Smith and Missus Jones versus Professor Plum.'],
    ['He lives on St. Paul Street, No. 5.', 'He lives on Saint Paul Street, number 5.'],
    ['He said “hello” — then left…', 'He said "hello", then left...'],
    ['It’s ‘quoted’.', "It's 'quoted'."],
    ['A well-known fact – really.', 'A well-known fact, really.'],
    ['Party time 🎉👍🏽 now.', 'Party time now.'],
    ['A claim.[1] Another[12] one², see [citation needed].', 'A claim. Another one, see.'],
    ['Spaces   and\ttabs\n\nnewlines.', 'Spaces and tabs newlines.'],
    ['#breaking news', 'breaking news'],
  ])('%s', (input, spoken) => {
    expect(normalizeForSpeech(input, 'en')).toBe(spoken)
  })

  it('drops what cannot be spoken', () => {
    expect(normalizeForSpeech('🎉 — …', 'en')).toBe('')
  })
})

describe('other languages', () => {
  it('German spells symbols and abbreviations in German', () => {
    expect(normalizeForSpeech('Die Preise stiegen um 15 % von 2020-2024, z. B. bei Strom & Gas.', 'de')).toBe(
      'Die Preise stiegen um fünfzehn Prozent von 2020 bis 2024, zum Beispiel bei Strom und Gas.',
    )
  })
  it('French and Spanish use their own words', () => {
    expect(normalizeForSpeech('Une hausse de 3 % en 2019-2020.', 'fr-FR')).toBe('Une hausse de trois pour cent en 2019 à 2020.')
    expect(normalizeForSpeech('Un « mémorandum argumenté » et M. Valls.', 'fr')).toBe('Un "mémorandum argumenté" et Monsieur Valls.')
    expect(normalizeForSpeech('Subió un 4 % según el Sr. Pérez.', 'es')).toBe('Subió un 4 por ciento según el señor Pérez.')
  })
  it('leaves symbols to the engine where no rules exist, but still tidies', () => {
    expect(normalizeForSpeech('Рост 5% — «хорошо» 🎉', 'ru')).toBe('Рост 5%, "хорошо"')
  })
})

describe('sentences', () => {
  it('splits with Intl.Segmenter and mends breaks after abbreviations, initials and inside tokens', () => {
    expect(splitSentences('Mr. Smith went home. Dr. Who arrived. J. K. Rowling wrote. See example.com/a?b=1 now.', 'en')).toEqual([
      'Mr. Smith went home.',
      'Dr. Who arrived.',
      'J. K. Rowling wrote.',
      'See example.com/a?b=1 now.',
    ])
  })
  it('splits CJK and Arabic sentences', () => {
    expect(splitSentences('你好。我很好！谢谢？', 'zh')).toEqual(['你好。', '我很好！', '谢谢？'])
    expect(splitSentences('مرحبا بكم. كيف حالك؟ أنا بخير.', 'ar')).toHaveLength(3)
  })
})
