/** Input formats, metadata, language, and every kind of bad input. */
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { MAX_INPUT_BYTES, articleToScript, detectFormat, detectLanguage } from '../../src/script/index.ts'
import { displayOf } from './helpers.ts'

function errorOf(fn: () => unknown): AppError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    return err as AppError
  }
  throw new Error('expected an AppError, nothing was thrown')
}

const PARA = 'The council voted on Tuesday to extend the tram line to the harbour, a project first proposed a decade ago.'

describe('format detection', () => {
  it.each([
    ['<!doctype html><html><body><p>x</p></body></html>', 'html'],
    ['<p>One</p><p>Two</p>', 'html'],
    ['# Title\n\nSome *text* and a [link](https://example.com).', 'markdown'],
    ['- one\n- two\n\n**bold** move', 'markdown'],
    ['{"title":"T","body":"B"}', 'json'],
    ['Just some text.\n\nAnother paragraph - with a dash.', 'text'],
    ['Price < 5 and > 2 is fine.', 'text'],
  ])('%j -> %s', (input, format) => {
    expect(detectFormat(input)).toBe(format)
  })
})

describe('HTML fragments', () => {
  const fragment = `
    <h1>Harbour tram approved</h1>
    <div class="share-bar"><a href="#">Share on X</a><a href="#">Email</a></div>
    <button>Listen to article</button>
    <p>${PARA}<sup><a href="#fn1">1</a></sup> Read the <a href="https://example.com/plan">full plan</a> online.</p>
    <figure><img src="a.jpg" alt="A tram"><figcaption>The new tram. Photo: City Archive</figcaption></figure>
    <h2>What happens next</h2>
    <blockquote><p>"It will change how people cross the city," the mayor said.</p></blockquote>
    <ul><li>Construction starts in May.</li><li>Service begins in 2027.</li></ul>
    <pre><code>const tram = new Tram()</code></pre>
    <table><tr><th>Stop</th><th>Minutes</th></tr><tr><td>Harbour</td><td>4</td></tr></table>
    <p>Questions? Write to trams@example.org. 🚋🎉</p>
    <script>window.tracking = "SECRET_TRACKER_TEXT"</script>
    <style>.x { content: "STYLE_TEXT" }</style>
    <nav><a href="/">Home</a> <a href="/news">News</a></nav>
    <div class="comments-section"><p>Be the first to comment.</p></div>`
  const script = articleToScript({ content: fragment })
  const read = displayOf(script)

  it('reads title, paragraphs, headings, quotes and list items in order', () => {
    expect(script.title).toBe('Harbour tram approved')
    expect(script.segments.map((s) => s.kind)).toEqual(['title', 'paragraph', 'heading', 'quote', 'list-item', 'list-item', 'paragraph'])
    expect(read).toContain('Read the full plan online.') // link text kept
  })

  it('drops widgets, buttons, captions, code, tables, scripts, styles, nav, comments and footnote markers', () => {
    for (const gone of ['Share on X', 'Listen to article', 'Photo: City Archive', 'new Tram()', 'Minutes', 'SECRET_TRACKER_TEXT', 'STYLE_TEXT', 'Home', 'first to comment']) {
      expect(read.includes(gone), gone).toBe(false)
    }
    expect(read).not.toMatch(/decade ago\.1/)
  })

  it('normalizes the spoken text: e-mail read out, emoji gone', () => {
    const last = script.segments.at(-1)!
    expect(last.text).toBe('Questions? Write to trams at example dot org.')
    expect(last.displayText).toContain('trams@example.org')
  })

  it('numbers sections from the headings and uses per-kind pauses', () => {
    const heading = script.segments.find((s) => s.kind === 'heading')!
    expect(heading.sectionIndex).toBe(1)
    expect(script.segments[1]!.sectionIndex).toBe(0)
    expect(script.segments.find((s) => s.kind === 'title')!.pauseAfterMs).toBe(900)
    expect(heading.pauseAfterMs).toBe(800)
    expect(script.segments.find((s) => s.kind === 'list-item')!.pauseAfterMs).toBe(350)
    const custom = articleToScript({ content: fragment }, { pauses: { heading: 1500 } })
    expect(custom.segments.find((s) => s.kind === 'heading')!.pauseAfterMs).toBe(1500)
  })

  it('gives segment ids from spoken text and voice role, stable across edits elsewhere', () => {
    const edited = articleToScript({ content: fragment.replace('Construction starts in May.', 'Construction starts in June.') })
    const para = (s: typeof script) => s.segments.find((x) => x.kind === 'paragraph')!.id
    expect(para(edited)).toBe(para(script))
    const ids = (s: typeof script) => new Set(s.segments.map((x) => x.id))
    expect([...ids(script)].filter((id) => !ids(edited).has(id))).toHaveLength(1)
    // Same words, different role (quote voice vs body voice): different id.
    const asQuote = articleToScript({ content: `<blockquote><p>${PARA}</p></blockquote><p>${PARA}</p>` })
    const [q, p] = asQuote.segments.filter((s) => s.kind !== 'title')
    expect(q!.text).toBe(p!.text)
    expect(q!.id).not.toBe(p!.id)
  })
})

describe('other formats', () => {
  it('Markdown: heading as title, code dropped, links read as text', () => {
    const md = `# Storm warning\n\n${PARA} See [the forecast](https://example.com/f).\n\n## Later\n\n> A quoted line here.\n\n\`\`\`js\nconsole.log("code")\n\`\`\`\n\n1. First item\n2. Second item\n`
    const script = articleToScript({ content: md })
    expect(script.title).toBe('Storm warning')
    expect(script.segments.map((s) => s.kind)).toEqual(['title', 'paragraph', 'heading', 'quote', 'list-item', 'list-item'])
    expect(displayOf(script)).toContain('See the forecast.')
    expect(displayOf(script)).not.toContain('console')
  })

  it('Markdown front matter supplies the title and author', () => {
    const script = articleToScript({ content: `---\ntitle: "From the front"\nauthor: Ada\n---\n\n${PARA}\n\n**Bold** claim here.` , format: 'markdown' })
    expect(script.title).toBe('From the front')
    expect(script.byline).toBe('Ada')
    expect(script.segments[1]).toMatchObject({ kind: 'byline', text: 'By Ada' })
  })

  it('JSON: fields become metadata, the body is converted by its format', () => {
    const json = JSON.stringify({ title: 'Tram news', body: `<p>${PARA}</p>`, format: 'html', author: 'By Ben Ode', publishedAt: '2025-01-02T03:04:05Z', language: 'en-gb', url: 'https://example.com/t' })
    const script = articleToScript({ content: json })
    expect(script).toMatchObject({ title: 'Tram news', byline: 'By Ben Ode', language: 'en-GB', publishedAt: '2025-01-02T03:04:05Z', url: 'https://example.com/t' })
    expect(script.segments.map((s) => s.kind)).toEqual(['title', 'byline', 'paragraph'])
    expect(script.segments[1]!.text).toBe('By Ben Ode') // no "By By"
  })

  it('input fields override what the content says', () => {
    const script = articleToScript({ content: `<h1>Old title</h1><p>${PARA}</p>`, title: 'New title', author: 'Cy', language: 'en-AU' })
    expect(script.title).toBe('New title')
    expect(script.language).toBe('en-AU')
    expect(displayOf(script)).toContain('Old title') // a different heading is still read
  })

  it('reads a page title without the "| Author" suffix the byline repeats, and no byline that is just the site name', () => {
    const page = (byline: string) =>
      `<html><head><title>Harbour tram approved | ${byline}</title><meta property="og:site_name" content="City Paper"><meta name="author" content="${byline}"></head>` +
      `<body><article><h1>Harbour tram approved</h1>${`<p>${PARA}</p>`.repeat(6)}</article></body></html>`
    const withAuthor = articleToScript({ content: page('Ann Lee') })
    expect(withAuthor.title).toBe('Harbour tram approved | Ann Lee')
    expect(withAuthor.segments.slice(0, 2).map((s) => s.text)).toEqual(['Harbour tram approved', 'By Ann Lee'])
    const siteOnly = articleToScript({ content: page('City Paper') })
    expect(siteOnly.segments.filter((s) => s.kind === 'byline')).toHaveLength(0)
    expect(siteOnly.segments[0]!.text).toBe('Harbour tram approved')
  })

  it('sourceHash is the sha256 of the input bytes', () => {
    const a = articleToScript({ content: PARA })
    const b = articleToScript({ content: new TextEncoder().encode(PARA) })
    expect(a.sourceHash).toMatch(/^[0-9a-f]{64}$/)
    expect(b.sourceHash).toBe(a.sourceHash)
  })

  it('decodes a legacy charset an HTML page declares', () => {
    const html = '<html><head><meta charset="windows-1252"></head><body><p>Caf\u00e9 prices rose again this week, the caf\u00e9 owners said.</p></body></html>'
    const bytes = Uint8Array.from(html, (c) => c.charCodeAt(0)) // latin1 bytes: 0xE9 is invalid UTF-8 here
    expect(displayOf(articleToScript({ content: bytes }))).toContain('Café prices')
  })
})

describe('language', () => {
  it.each([
    ['The quick brown fox jumps over the lazy dog and the cat is in the house.', 'en'],
    ['Der schnelle braune Fuchs springt über den faulen Hund, und die Katze ist nicht im Haus.', 'de'],
    ['Le renard brun rapide saute par-dessus le chien paresseux et la maison est dans les arbres.', 'fr'],
    ['El rápido zorro marrón salta sobre el perro perezoso y los gatos están en la casa.', 'es'],
    ['Быстрая коричневая лиса прыгает через ленивую собаку.', 'ru'],
    ['Швидка бура лисиця перестрибує через ледачого собаку і її друзів.', 'uk'],
    ['敏捷的棕色狐狸跳过了懒狗。', 'zh'],
    ['素早い茶色の狐がのろまな犬を飛び越えた。', 'ja'],
    ['빠른 갈색 여우가 게으른 개를 뛰어넘었다.', 'ko'],
    ['الثعلب البني السريع يقفز فوق الكلب الكسول.', 'ar'],
    ['Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.', 'el'],
    ['השועל החום המהיר קופץ מעל הכלב העצלן.', 'he'],
    ['तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।', 'hi'],
  ])('%s -> %s', (text, lang) => {
    expect(detectLanguage(text)).toBe(lang)
  })

  it('prefers the input field, then the page lang, then detection; always BCP 47', () => {
    const page = (lang: string) => `<html lang="${lang}"><body><p>Der Rat hat am Dienstag beschlossen, die Straßenbahn bis zum Hafen zu verlängern.</p></body></html>`
    expect(articleToScript({ content: page('de-at') }).language).toBe('de-AT')
    expect(articleToScript({ content: page('de'), language: 'de-CH' }).language).toBe('de-CH')
    expect(articleToScript({ content: page('not a tag!') }).language).toBe('de')
  })
})

describe('bad input', () => {
  it.each([
    ['empty string', { content: '' }, 'EMPTY_INPUT'],
    ['whitespace only', { content: ' \n\t \n' }, 'EMPTY_INPUT'],
    ['empty bytes', { content: new Uint8Array() }, 'EMPTY_INPUT'],
    ['a page shell with no article', { content: '<!doctype html><html><head><title>Shop</title><script>var a=1</script></head><body><nav><a href="/">Home</a></nav><footer class="site-footer">© 2025</footer></body></html>' }, 'NO_ARTICLE_TEXT'],
    ['only emoji', { content: '🎉🎉 👍' }, 'NO_ARTICLE_TEXT'],
    ['only a bare URL', { content: 'https://example.com/story/123' }, 'NO_ARTICLE_TEXT'],
    ['only code', { content: '```\nconst x = 1\n```', format: 'markdown' as const }, 'NO_ARTICLE_TEXT'],
    ['NUL bytes', { content: Uint8Array.from([0x48, 0x69, 0x00, 0x01, 0x02]) }, 'BINARY_INPUT'],
    ['a PNG', { content: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]) }, 'BINARY_INPUT'],
    ['control characters', { content: 'ab\x01\x02\x03\x04\x05\x06cd\x07\x08\x0e\x0f\x10\x11\x12ef' }, 'BINARY_INPUT'],
    ['invalid UTF-8', { content: Uint8Array.from([0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0xc3, 0x28, 0x20, 0x77]) }, 'INVALID_ENCODING'],
    ['broken JSON', { content: '{"title": "x", "body": ' }, 'INVALID_JSON'],
    ['JSON without body', { content: '{"title": "x"}' }, 'VALIDATION_FAILED'],
    ['JSON with an unknown format', { content: '{"body": "x", "format": "docx"}' }, 'UNSUPPORTED_FORMAT'],
    ['an unknown format', { content: 'x', format: 'pdf' as never }, 'UNSUPPORTED_FORMAT'],
    ['an invalid language', { content: PARA, language: 'english please' }, 'VALIDATION_FAILED'],
    ['an invalid JSON language', { content: JSON.stringify({ body: PARA, language: 'xx yy' }) }, 'VALIDATION_FAILED'],
  ])('%s -> %s', (_name, input, code) => {
    expect(errorOf(() => articleToScript(input)).code).toBe(code)
  })

  it('a 10 MB page is INPUT_TOO_LARGE, quickly, and the message names the limit', () => {
    const big = `<html><body>${'<p>word </p>'.repeat(Math.ceil((10 * 1024 * 1024) / 12))}</body></html>`
    const t = performance.now()
    const err = errorOf(() => articleToScript({ content: big }))
    expect(err.code).toBe('INPUT_TOO_LARGE')
    expect(err.message).toContain(`${MAX_INPUT_BYTES / 1048576} MB`)
    expect(performance.now() - t).toBeLessThan(5000)
    expect(errorOf(() => articleToScript({ content: Buffer.from(big) })).code).toBe('INPUT_TOO_LARGE')
  })

  it('invalid options are VALIDATION_FAILED', () => {
    expect(errorOf(() => articleToScript({ content: PARA }, { maxBytes: 3 })).code).toBe('VALIDATION_FAILED')
    expect(errorOf(() => articleToScript({ content: PARA }, { targetChars: 0 })).code).toBe('VALIDATION_FAILED')
    const pause = errorOf(() => articleToScript({ content: PARA }, { pauses: { heading: -5 } }))
    expect(pause.code).toBe('VALIDATION_FAILED')
    expect(pause.message).toContain('pauses.heading')
  })

  it('<br><br> separates paragraphs in fragments', () => {
    const script = articleToScript({ content: `<div>${PARA}<br><br>Second paragraph, after two line breaks.<br>Same paragraph, one break.</div>` })
    expect(script.segments.map((s) => s.displayText)).toEqual([PARA, 'Second paragraph, after two line breaks. Same paragraph, one break.'])
  })

  it('malformed HTML still yields its text', () => {
    const broken = '<html><body><div><p>First <b>bold <i>claim about the harbour tram that keeps going</p><p>Second paragraph without closing tags<div><p>Third one here, unclosed too'
    const read = displayOf(articleToScript({ content: broken }))
    expect(read).toContain('First bold claim about the harbour tram')
    expect(read).toContain('Third one here')
  })

  it('absurdly deep nesting neither hangs nor overflows', () => {
    const depth = 20000
    const html = `<html><body>${'<div>'.repeat(depth)}<p>${PARA}</p>${'</div>'.repeat(depth)}</body></html>`
    const script = articleToScript({ content: html })
    expect(displayOf(script)).toContain('tram line to the harbour')
  })
})
