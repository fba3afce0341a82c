/**
 * From an admin request to a stored article: validate the fields, take the
 * content from the body, an uploaded file or the article's URL (fetched
 * safely), convert it to a Script (in a worker) with the segment sizes of the
 * voice profile, and return what the store needs.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { z } from 'zod'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import type { ArticleInput, InputFormat, Script, SegmentOptions } from '../script/types.ts'
import type { ArticleUpdate } from '../store/types.ts'
import type { SpeechService, VoiceProfile } from '../tts/types.ts'
import { sha256 } from '../util/files.ts'
import { safeFetch } from './fetch.ts'
import type { Scripter } from './scripter.ts'

const nullableText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .nullish()
    .transform((v) => (v ? v : null))

/** The site's own id (docs/security.md): printable, at most 256 characters, no "/" (it is a URL path segment). */
export const EXTERNAL_ID_MAX = 256
const externalId = z
  .string()
  .trim()
  .max(EXTERNAL_ID_MAX)
  // \p{C}: control, format (bidi overrides, zero-width), surrogate, private-use and unassigned code points.
  .regex(/^[^\p{C}/]*$/u, 'must be printable text without "/" or control characters')
  .nullish()
  .transform((v) => (v ? v : null))

export const articleFieldsSchema = z
  .object({
    externalId,
    url: z
      .url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' })
      .nullish()
      .transform((v) => v ?? null),
    title: nullableText(1000),
    html: z.string().optional(),
    markdown: z.string().optional(),
    text: z.string().optional(),
    author: nullableText(500),
    publishedAt: z
      .string()
      .trim()
      .nullish()
      .transform((v, ctx) => {
        if (!v) return null
        const t = Date.parse(v)
        if (Number.isNaN(t)) {
          ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date, e.g. 2026-05-01T08:00:00Z' })
          return z.NEVER
        }
        return new Date(t).toISOString()
      }),
    language: z
      .string()
      .trim()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 language tag such as "en" or "pt-BR"')
      .nullish()
      .transform((v) => v ?? null),
    voice: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a voice profile id')
      .nullish()
      .transform((v) => v ?? null),
  })
  .strict()

export type ArticleFields = z.infer<typeof articleFieldsSchema>

/** Validate a JSON body or multipart fields; every problem in one VALIDATION_FAILED. */
export function parseArticleFields(body: unknown): ArticleFields {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('VALIDATION_FAILED', 'The body must be a JSON object with the article fields.')
  }
  const result = articleFieldsSchema.safeParse(body)
  if (!result.success) {
    const problems = result.error.issues.map((i) => ({ field: i.path.join('.') || (i as { keys?: string[] }).keys?.join(',') || '(body)', message: i.message }))
    throw new AppError('VALIDATION_FAILED', `Invalid article: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { details: { problems } })
  }
  const bodies = (['html', 'markdown', 'text'] as const).filter((k) => result.data[k] !== undefined)
  if (bodies.length > 1) throw new AppError('VALIDATION_FAILED', `Send one of html, markdown or text, not ${bodies.join(' and ')}.`, { details: { fields: bodies } })
  return result.data
}

export interface UploadedFile {
  buffer: Buffer
  originalname: string
  mimetype: string
}

const FILE_TYPES: Record<string, InputFormat> = {
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.json': 'json',
}
const MIME_TYPES: Record<string, InputFormat> = {
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/plain': 'text',
  'application/json': 'json',
}

/** The format of an uploaded article file, by extension then by type; 415 for anything else. */
export function uploadFormat(file: Pick<UploadedFile, 'originalname' | 'mimetype'>): InputFormat | undefined {
  const ext = path.extname(file.originalname).toLowerCase()
  if (FILE_TYPES[ext]) return FILE_TYPES[ext]
  const mime = file.mimetype.split(';')[0]!.trim().toLowerCase()
  if (MIME_TYPES[mime]) return MIME_TYPES[mime]
  if (mime === 'application/octet-stream' && ext === '') return undefined // detect from content
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Article files must be HTML, Markdown, plain text or JSON; got "${file.originalname}" (${file.mimetype}).`, {
    help: 'Upload a .html, .md, .txt or .json file.',
  })
}

export interface IngestTools {
  config: Config
  speech: SpeechService
  scripter: Scripter
  signal?: AbortSignal
}

export interface PreparedArticle extends ArticleUpdate {
  script: Script
}

/** Short url-safe id: 10 chars of base64url (60 bits). */
export function newArticleId(): string {
  return randomBytes(8).toString('base64url').slice(0, 10)
}

export async function prepareArticle(fields: ArticleFields, file: UploadedFile | undefined, tools: IngestTools): Promise<PreparedArticle> {
  let content: string | Uint8Array | undefined
  let format: InputFormat | undefined
  if (file) {
    if (fields.html !== undefined || fields.markdown !== undefined || fields.text !== undefined)
      throw new AppError('VALIDATION_FAILED', 'Send either a file or an html/markdown/text field, not both.')
    format = uploadFormat(file)
    content = file.buffer
  } else if (fields.html !== undefined) {
    content = fields.html
    format = 'html'
  } else if (fields.markdown !== undefined) {
    content = fields.markdown
    format = 'markdown'
  } else if (fields.text !== undefined) {
    content = fields.text
    format = 'text'
  } else if (fields.url) {
    const page = await safeFetch(fields.url, {
      allowlist: tools.config.fetch.allowlist,
      timeoutMs: tools.config.fetch.timeoutMs,
      maxBytes: tools.config.fetch.maxBytes,
      signal: tools.signal,
    })
    content = page.body
    const mime = page.contentType.split(';')[0]!.trim().toLowerCase()
    format = MIME_TYPES[mime] ?? (mime.includes('html') ? 'html' : undefined)
  } else {
    throw new AppError('EMPTY_INPUT', 'The article has no content: send html, markdown or text, a file, or a url to fetch.')
  }
  const input: ArticleInput = {
    content,
    format,
    title: fields.title ?? undefined,
    author: fields.author ?? undefined,
    language: fields.language ?? undefined,
    url: fields.url ?? undefined,
    publishedAt: fields.publishedAt ?? undefined,
  }

  const { speech, scripter } = tools
  const optionsFor = (profile: VoiceProfile): SegmentOptions => {
    const limits = speech.limitsFor(profile)
    return { targetChars: limits.targetChars, maxBytes: limits.maxBytes, pauses: profile.pauses }
  }
  let profile: VoiceProfile | undefined
  if (fields.voice) profile = speech.getProfile(fields.voice)
  else if (fields.language) profile = speech.profileForLanguage(fields.language)
  let script: Script
  if (profile) script = await scripter.toScript(input, optionsFor(profile))
  else {
    // Language unknown until the text is read: detect it, then segment for that language's profile.
    const first = await scripter.toScript(input, optionsFor(speech.profileForLanguage(tools.config.show.language)))
    profile = speech.profileForLanguage(first.language)
    script = await scripter.toScript({ ...input, language: first.language }, optionsFor(profile))
  }
  if (script.segments.length === 0) throw new AppError('NO_ARTICLE_TEXT', 'The article has no text to read.')
  const source = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content)
  return {
    externalId: fields.externalId,
    url: fields.url,
    title: script.title || fields.title || 'Untitled',
    author: fields.author ?? script.byline ?? null,
    publishedAt: fields.publishedAt ?? script.publishedAt ?? null,
    language: script.language,
    voice: fields.voice,
    profileId: profile.id,
    source,
    sourceFormat: format ?? null,
    contentHash: sha256(source),
    excerpt: script.excerpt ?? null,
    script,
  }
}
