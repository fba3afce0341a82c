/**
 * Voice profiles: voices/<id>.json, validated with zod at start-up. Every
 * invalid file is reported in one INVALID_PROFILE error, each problem with its
 * file path and the field at fault, so an operator fixes them in one pass.
 */
import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import type { SegmentKind } from '../script/types.ts'
import type { VoiceProfile } from './types.ts'

export const DEFAULT_PAUSES: Record<SegmentKind, number> = {
  title: 900,
  byline: 700,
  heading: 700,
  paragraph: 500,
  quote: 500,
  'list-item': 350,
}

const voiceSettingsSchema = z
  .object({
    name: z.string().trim().min(1).optional(),
    language: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 language tag such as "en-US"'),
    gender: z.enum(['male', 'female', 'neutral']).optional(),
    speaker: z.number().int().min(0).optional(),
    rate: z.number().min(0.25).max(4).optional(),
    pitch: z.number().min(-20).max(20).optional(),
    volumeGainDb: z.number().min(-96).max(16).optional(),
    effectsProfileId: z.array(z.string().min(1)).optional(),
    model: z.string().trim().min(1).optional(),
  })
  .strict()

const pause = z.number().int().min(0).max(10_000)

export const profileFileSchema = z
  .object({
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).optional(),
    engine: z.string().min(1),
    language: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 language tag such as "en-US"'),
    description: z.string().optional(),
    /** What `briefcast voices install` takes to install the model this profile needs (local engines). */
    install: z.string().min(1).optional(),
    voices: z
      .object({ body: voiceSettingsSchema, title: voiceSettingsSchema.optional(), quote: voiceSettingsSchema.optional(), host: voiceSettingsSchema.optional() })
      .strict(),
    rate: z.number().min(0.25).max(4).optional(),
    pauses: z
      .object({ title: pause, byline: pause, heading: pause, paragraph: pause, quote: pause, 'list-item': pause })
      .partial()
      .strict()
      .optional(),
    targetChars: z.number().int().min(50).max(5000).optional(),
    lexicon: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
    intro: z.string().min(1).optional(),
    outro: z.string().min(1).optional(),
  })
  .strict()

export interface LoadedProfiles {
  profiles: Map<string, VoiceProfile>
  problems: string[]
}

/**
 * Read and validate every voices/*.json. Returns problems instead of throwing so
 * the caller can add its own checks (engines, voices) and report all at once.
 */
export async function readProfiles(voicesDir: string): Promise<LoadedProfiles> {
  const profiles = new Map<string, VoiceProfile>()
  const problems: string[] = []
  let files: string[]
  try {
    files = (await fs.readdir(voicesDir)).filter((f) => f.endsWith('.json')).sort()
  } catch (err) {
    problems.push(`${voicesDir}: cannot read the voices directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    return { profiles, problems }
  }
  for (const file of files) {
    const full = path.join(voicesDir, file)
    const id = file.slice(0, -'.json'.length)
    let raw: unknown
    try {
      raw = JSON.parse(await fs.readFile(full, 'utf8'))
    } catch (err) {
      problems.push(`${full}: not valid JSON (${(err as Error).message})`)
      continue
    }
    const parsed = profileFileSchema.safeParse(raw)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${full}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
      continue
    }
    const data = parsed.data
    if (data.id !== undefined && data.id !== id) {
      problems.push(`${full}: id: "${data.id}" differs from the file name; name the file ${data.id}.json or drop the id`)
      continue
    }
    for (const key of ['intro', 'outro'] as const) {
      const jingle = data[key]
      if (jingle && !existsSync(path.resolve(voicesDir, jingle))) problems.push(`${full}: ${key}: file ${path.resolve(voicesDir, jingle)} does not exist`)
    }
    profiles.set(id, {
      id,
      engine: data.engine,
      language: data.language,
      ...(data.description ? { description: data.description } : {}),
      ...(data.install ? { install: data.install } : {}),
      voices: data.voices,
      ...(data.rate !== undefined ? { rate: data.rate } : {}),
      pauses: { ...DEFAULT_PAUSES, ...data.pauses },
      ...(data.targetChars !== undefined ? { targetChars: data.targetChars } : {}),
      ...(data.lexicon ? { lexicon: data.lexicon } : {}),
      ...(data.intro ? { intro: path.resolve(voicesDir, data.intro) } : {}),
      ...(data.outro ? { outro: path.resolve(voicesDir, data.outro) } : {}),
    })
  }
  return { profiles, problems }
}

export function invalidProfilesError(problems: string[]): AppError {
  return new AppError('INVALID_PROFILE', `Invalid voice profiles:\n  - ${problems.join('\n  - ')}`, { details: { problems } })
}
