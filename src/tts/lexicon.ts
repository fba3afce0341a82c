/**
 * Pronunciation lexicons (voices/lexicon/<name>.json) come from the script
 * module; this is the TTS side's view of them: which lexicon a profile uses,
 * and whether a lexicon named explicitly by a profile exists.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { applyLexicon, loadLexicon } from '../script/lexicon.ts'
import type { Lexicon } from '../script/types.ts'
import type { VoiceProfile } from './types.ts'
import { primaryLanguage } from '../script/language.ts'

/** The lexicon name a profile uses: its own, else its language's primary subtag. */
export function lexiconNameFor(profile: Pick<VoiceProfile, 'lexicon' | 'language'>): string {
  return profile.lexicon ?? primaryLanguage(profile.language)
}

export function lexiconFileExists(voicesDir: string, name: string): boolean {
  return existsSync(path.join(voicesDir, 'lexicon', `${name}.json`))
}

/** The profile's lexicon (empty when the file does not exist). Throws for an invalid lexicon file. */
export function lexiconFor(voicesDir: string, profile: Pick<VoiceProfile, 'lexicon' | 'language'>): Lexicon {
  return loadLexicon(voicesDir, lexiconNameFor(profile))
}

export function speakWithLexicon(text: string, lexicon: Lexicon): string {
  return applyLexicon(text, lexicon)
}
