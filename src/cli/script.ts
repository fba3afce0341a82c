/**
 * `briefcast script <file|->`: print the Script an article converts to (options
 * in src/cli/commands.ts). Reads stdin with "-". The lexicon for the article's
 * language (<voices>/lexicon/<lang>.json) is applied unless --lexicon none.
 */
import { readFile } from 'node:fs/promises'
import { AppError } from '../errors.ts'
import { flag, num, str, type ParsedArgs } from './spec.ts'
import { type ArticleInput, type InputFormat, type Script, articleToScript, explainArticle, formatExplanation, loadLexicon, primaryLanguage } from '../script/index.ts'

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
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

export async function run(args: ParsedArgs): Promise<number> {
  const values = {
    from: str(args, 'from'),
    language: str(args, 'language'),
    title: str(args, 'title'),
    lexicon: str(args, 'lexicon'),
    voices: str(args, 'voices'),
    config: str(args, 'config'),
  }
  const output = flag(args, 'json') ? 'json' : (str(args, 'format') ?? 'text')
  const positionals = args.positionals
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
  const options = { targetChars: num(args, 'target-chars'), maxBytes: num(args, 'max-bytes') }

  let script = articleToScript(input, options)
  let lexiconOptions: typeof options & { lexicon?: ReturnType<typeof loadLexicon> } = options
  if (values.lexicon !== 'none') {
    // The lexicon depends on the language, known only after conversion; convert
    // again only when there is a lexicon to apply (conversion is fast and pure).
    let voicesDir = values.voices
    if (!voicesDir) {
      const { loadConfig } = await import('../config.ts')
      voicesDir = loadConfig({ file: values.config }).voicesDir
    }
    const lexicon = loadLexicon(voicesDir, values.lexicon ?? primaryLanguage(script.language))
    if (lexicon.entries.length > 0) {
      lexiconOptions = { ...options, lexicon }
      script = articleToScript(input, lexiconOptions)
    }
  }
  if (flag(args, 'explain')) {
    const explanation = explainArticle(input, lexiconOptions)
    process.stdout.write(output === 'json' ? JSON.stringify({ title: script.title, language: script.language, segments: explanation.segments, dropped: explanation.dropped }, null, 2) + '\n' : formatExplanation(explanation))
    return 0
  }
  process.stdout.write(output === 'json' ? JSON.stringify(script, null, 2) + '\n' : formatText(script))
  return 0
}
