/**
 * The command line's one parser. Every command is declared once as data (a
 * {@link CommandSpec}: name, summary, positionals, options, subcommands, and a
 * lazily imported handler); parsing, validation, `--help` text, usage errors
 * and docs/cli.md are all generated from that declaration.
 *
 * This module is tiny on purpose: it is loaded on every start, before any
 * command's own modules, so it imports only node:util.
 */
import { parseArgs } from 'node:util'

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** Placeholder shown in help, e.g. FILE (string options only). */
  value?: string
  help: string
  /** Allowed values (string options). */
  choices?: readonly string[]
  /** A whole number at least this large (string options); the handler gets a number. */
  int?: { min: number }
  /** May be given several times; the handler gets an array. */
  multiple?: boolean
  /** Shown in help only; defaults are applied by the handler (most come from the config). */
  defaultText?: string
  /** The command cannot run without it. */
  required?: boolean
}

export interface PositionalSpec {
  name: string
  help: string
  required?: boolean
  /** Takes every remaining positional (last one only). */
  variadic?: boolean
}

export interface ParsedArgs {
  values: Record<string, string | boolean | number | (string | number)[] | undefined>
  positionals: string[]
}

export type Handler = (args: ParsedArgs) => Promise<number>

export interface CommandSpec {
  name: string
  summary: string
  /** Paragraphs shown under the usage line in --help. */
  description?: string
  positionals?: PositionalSpec[]
  options?: Record<string, OptionSpec>
  /** `briefcast voices install ...`: the first positional selects a subcommand. */
  subcommands?: CommandSpec[]
  /** Loads the handler (kept lazy so a command never pays for another's modules). */
  load?: () => Promise<Handler>
  /** Lines of examples for --help and the docs. */
  examples?: string[]
  /** Starts an espeak-ng worker while the command's modules load (src/tts/espeak-prestart.ts). */
  espeak?: boolean
}

/** A mistake in how a command was called: printed as one line plus the usage, exit 2. */
export class UsageError extends Error {
  /** Handlers throw it with the message only; the parser fills in the command it was parsing. */
  constructor(
    message: string,
    readonly command?: CommandSpec,
    readonly path?: string[],
  ) {
    super(message)
  }
}

export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' }

function optionsOf(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, help: HELP_OPTION }
}

function synopsis(spec: CommandSpec, path: string[]): string {
  const parts = ['briefcast', ...path]
  if (spec.subcommands?.length && !spec.load) parts.push('<command>')
  else if (spec.subcommands?.length) parts.push('[command]')
  for (const p of spec.positionals ?? []) {
    const n = p.variadic ? `${p.name}...` : p.name
    parts.push(p.required ? `<${n}>` : `[${n}]`)
  }
  const required = Object.entries(spec.options ?? {}).filter(([, o]) => o.required)
  for (const [name, o] of required) parts.push(`--${name} ${o.value ?? 'VALUE'}`)
  if (Object.keys(spec.options ?? {}).length > required.length) parts.push('[options]')
  return parts.join(' ')
}

function optionLabel(name: string, o: OptionSpec): string {
  const short = o.short ? `-${o.short}, ` : '    '
  const value = o.type === 'string' ? ` ${o.value ?? (o.choices ? o.choices.join('|') : 'VALUE')}` : ''
  return `${short}--${name}${value}`
}

/** The --help text of a command, generated from its declaration. */
export function helpText(spec: CommandSpec, path: string[]): string {
  const out: string[] = [`usage: ${synopsis(spec, path)}`, '']
  if (spec.description) out.push(spec.description.trim(), '')
  else out.push(spec.summary, '')
  if (spec.subcommands?.length) {
    out.push('commands:')
    const w = Math.max(...spec.subcommands.map((s) => s.name.length))
    for (const s of spec.subcommands) out.push(`  ${s.name.padEnd(w)}  ${s.summary}`)
    out.push('')
  }
  if (spec.positionals?.length) {
    out.push('arguments:')
    const w = Math.max(...spec.positionals.map((p) => p.name.length))
    for (const p of spec.positionals) out.push(`  ${p.name.padEnd(w)}  ${p.help}`)
    out.push('')
  }
  const opts = Object.entries(optionsOf(spec))
  out.push('options:')
  const labels = opts.map(([n, o]) => optionLabel(n, o))
  const w = Math.max(...labels.map((l) => l.length))
  opts.forEach(([, o], i) => {
    const extra = o.defaultText ? ` (default: ${o.defaultText})` : ''
    out.push(`  ${labels[i]!.padEnd(w)}  ${o.help}${extra}`)
  })
  if (spec.examples?.length) out.push('', 'examples:', ...spec.examples.map((e) => `  ${e}`))
  return out.join('\n') + '\n'
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]!
}

/** The closest of `names` to `word`, if it is close enough to be a typo. */
export function didYouMean(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const n of names) {
    const d = n.startsWith(word) && word.length >= 2 ? 0.5 : levenshtein(word, n)
    if (d < bestDistance) {
      best = n
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined
}

export type Resolved =
  | { kind: 'help'; spec: CommandSpec; path: string[] }
  | { kind: 'run'; spec: CommandSpec; path: string[]; args: ParsedArgs }

/**
 * Parses argv against a command (and its subcommands). Throws UsageError for
 * anything the declaration does not allow; never runs the command.
 */
export function resolve(spec: CommandSpec, argv: string[], path: string[] = [spec.name]): Resolved {
  if (spec.subcommands?.length) {
    const first = argv[0]
    if (first !== undefined && !first.startsWith('-')) {
      const sub = spec.subcommands.find((s) => s.name === first)
      if (sub) return resolve(sub, argv.slice(1), [...path, sub.name])
      if (!spec.load || !spec.positionals?.length) {
        const guess = didYouMean(first, spec.subcommands.map((s) => s.name))
        const words = (w: string) => [...path, w].join(' ')
        throw new UsageError(`unknown command "${words(first)}"${guess ? `; did you mean "${words(guess)}"?` : ''}`, spec, path)
      }
    }
    if (!spec.load) {
      if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help', spec, path }
      const option = argv.find((a) => a.startsWith('-'))
      if (option !== undefined) throw new UsageError(`unknown option ${option.split('=')[0]}; name a command first: ${spec.subcommands.map((s) => s.name).join(', ')}`, spec, path)
      throw new UsageError(`"${path.join(' ')}" needs a command: ${spec.subcommands.map((s) => s.name).join(', ')}`, spec, path)
    }
  }
  const options = optionsOf(spec)
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(options).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
      ),
    })
  } catch (err) {
    throw new UsageError(cleanParseError(err as Error, Object.keys(options)), spec, path)
  }
  if (parsed.values.help) return { kind: 'help', spec, path }
  const values: ParsedArgs['values'] = {}
  for (const [name, raw] of Object.entries(parsed.values)) {
    if (name === 'help') continue
    const o = options[name]!
    const check = (v: string): string | number => {
      if (o.choices && !o.choices.includes(v)) throw new UsageError(`--${name} must be one of ${o.choices.join(', ')} (got "${v}")`, spec, path)
      if (o.int) {
        const n = Number(v)
        if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < o.int.min)
          throw new UsageError(`--${name} must be a whole number of at least ${o.int.min} (got "${v}")`, spec, path)
        return n
      }
      return v
    }
    if (Array.isArray(raw)) values[name] = raw.map((v) => (typeof v === 'string' ? check(v) : String(v)))
    else values[name] = typeof raw === 'string' ? check(raw) : raw
  }
  const positionals = parsed.positionals
  const declared = spec.positionals ?? []
  const variadic = declared.at(-1)?.variadic
  if (!variadic && positionals.length > declared.length) {
    const extra = positionals[declared.length]!
    throw new UsageError(declared.length === 0 ? `unexpected argument "${extra}"` : `unexpected extra argument "${extra}"`, spec, path)
  }
  const required = declared.filter((p) => p.required)
  if (positionals.length < required.length) throw new UsageError(`missing ${required[positionals.length]!.name}: ${required[positionals.length]!.help}`, spec, path)
  for (const [name, o] of Object.entries(spec.options ?? {}))
    if (o.required && values[name] === undefined) throw new UsageError(`missing --${name} ${o.value ?? 'VALUE'}`, spec, path)
  return { kind: 'run', spec, path, args: { values, positionals } }
}

/** node:util's parse errors, without their "To specify a positional argument..." advice and with a hint. */
function cleanParseError(err: Error, known: string[]): string {
  const message = err.message.split('. To specify')[0]!.replace(/\.$/, '')
  const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(message)
  if (unknown) {
    const guess = unknown[1] === '--' ? didYouMean(unknown[2]!, known) : undefined
    return `unknown option ${unknown[1]}${unknown[2]}${guess ? `; did you mean --${guess}?` : ''}`
  }
  const needsValue = /Option '(?:-\w, )?--([^ ']+) <value>' argument missing/.exec(message)
  if (needsValue) return `--${needsValue[1]} needs a value`
  const noValue = /Option '--([^ ']+)' does not take an argument/.exec(message)
  if (noValue) return `--${noValue[1]} takes no value`
  return message.charAt(0).toLowerCase() + message.slice(1)
}

/** A string option's value. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name]
  return typeof v === 'string' ? v : undefined
}

/** A boolean option's value. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true
}

/** A whole-number option's value (declared with `int`). */
export function num(args: ParsedArgs, name: string): number | undefined {
  const v = args.values[name]
  return typeof v === 'number' ? v : undefined
}
