/**
 * `briefcast script <file|-> [--format json|text] [--explain]`: print the Script an article
 * converts to. Reads stdin with "-". The lexicon for the article's language
 * (voices/lexicon/<lang>.json under BRIEFCAST_VOICES_DIR) is applied unless
 * --lexicon none.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { AppError } from '../errors.ts'
import { type ArticleInput, type InputFormat, type Script, articleToScript, explainArticle, formatExplanation, loadLexicon, primaryLanguage } from '../script/index.ts'

const HELP = `usage: briefcast script <file|-> [options]

Convert an article (HTML page or fragment, Markdown, plain text, or JSON
{title, body, format, author, publishedAt, language, url}) to the script that
would be read, and print it. Use "-" to read from stdin.

options:
  --format json|text     output format (default: text)
  --from FORMAT          input format: html, markdown, text or json (default: detected)
  --language TAG         article language as BCP 47 (default: from the input, else detected)
  --title TEXT           article title (default: from the input)
  --target-chars N       target segment size in characters (default 450)
  --max-bytes N          hard segment limit in UTF-8 bytes (default 5000, Google's limit)
  --lexicon NAME|none    pronunciation lexicon in <voices>/lexicon/ (default: the article's language)
  --voices DIR           voices directory (default: BRIEFCAST_VOICES_DIR or ./voices)
  --explain              show what is read: per segment, each change for speech
                         (written -> spoken), and what was dropped and why
  -h, --help             show this help
`

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new AppError('VALIDATION_FAILED', `${flag} must be a positive integer (got "${value}").`, { details: { field: flag } })
  return n
}

export function formatText(script: Script): string {
  const lines: string[] = []
  lines.push(`# ${script.title}`)
  lines.push(`language: ${script.language}   segments: ${script.segments.length}   source: ${script.sourceHash.slice(0, 12)}`)
  let lastBlock: number | undefined
  for (const s of script.segments) {
    if (s.blockIndex !== lastBlock) lines.push('')
    lastBlock = s.blockIndex
    lines.push(`[${s.kind} ${s.pauseAfterMs}ms] ${s.text}`)
  }
  return lines.join('\n') + '\n'
}

export async function run(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        from: { type: 'string' },
        language: { type: 'string' },
        title: { type: 'string' },
        'target-chars': { type: 'string' },
        'max-bytes': { type: 'string' },
        lexicon: { type: 'string' },
        voices: { type: 'string' },
        explain: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    process.stderr.write(`briefcast script: ${(err as Error).message}\n\n${HELP}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  if (positionals.length !== 1) {
    process.stderr.write(`briefcast script: give exactly one input file, or "-" for stdin.\n\n${HELP}`)
    return 2
  }
  const output = values.format ?? 'text'
  if (output !== 'json' && output !== 'text') {
    process.stderr.write(`briefcast script: --format must be json or text (got "${output}").\n`)
    return 2
  }
  const source = positionals[0]!
  let content: Uint8Array
  if (source === '-') content = await readStdin()
  else {
    try {
      content = await readFile(source)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new AppError('NOT_FOUND', `Cannot read ${source} (${code ?? (err as Error).message}).`, { cause: err, help: 'Check the file path, or pass "-" to read stdin.' })
    }
  }
  const input: ArticleInput = { content }
  if (values.from) input.format = values.from as InputFormat // validated by articleToScript
  if (values.language) input.language = values.language
  if (values.title) input.title = values.title
  const options = { targetChars: positiveInt(values['target-chars'], '--target-chars'), maxBytes: positiveInt(values['max-bytes'], '--max-bytes') }

  let script = articleToScript(input, options)
  let lexiconOptions: typeof options & { lexicon?: ReturnType<typeof loadLexicon> } = options
  if (values.lexicon !== 'none') {
    // The lexicon depends on the language, known only after conversion; convert
    // again only when there is a lexicon to apply (conversion is fast and pure).
    let voicesDir = values.voices
    if (!voicesDir) {
      const { loadConfig } = await import('../config.ts')
      voicesDir = loadConfig().voicesDir
    }
    const lexicon = loadLexicon(voicesDir, values.lexicon ?? primaryLanguage(script.language))
    if (lexicon.entries.length > 0) {
      lexiconOptions = { ...options, lexicon }
      script = articleToScript(input, lexiconOptions)
    }
  }
  if (values.explain) {
    const explanation = explainArticle(input, lexiconOptions)
    process.stdout.write(output === 'json' ? JSON.stringify({ title: script.title, language: script.language, segments: explanation.segments, dropped: explanation.dropped }, null, 2) + '\n' : formatExplanation(explanation))
    return 0
  }
  process.stdout.write(output === 'json' ? JSON.stringify(script, null, 2) + '\n' : formatText(script))
  return 0
}
