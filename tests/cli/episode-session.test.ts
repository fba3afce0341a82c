/**
 * cli/episode-session.ts: the output paths of `briefcast render` and `briefcast briefing` (the format
 * each file name or flag picks, checked before any work) and the helpers both commands share.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { episodeOutputs, formatDuration, formatFromName } from '../../src/cli/episode-session.ts'
import { AppError } from '../../src/errors.ts'

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-outputs-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

describe('episodeOutputs', () => {
  it('puts the transcript and chapters beside the audio, and lets the name, then --format, then the config pick the format', async () => {
    expect(await episodeOutputs(path.join(dir, 'news.mp3'), undefined, 'm4a')).toEqual({
      audio: path.join(dir, 'news.mp3'),
      vtt: path.join(dir, 'news.vtt'),
      chapters: path.join(dir, 'news.chapters.json'),
      format: 'mp3',
    })
    expect((await episodeOutputs(path.join(dir, 'news.M4A'), undefined, 'mp3')).format).toBe('m4a')
    expect((await episodeOutputs(path.join(dir, 'news.audio'), undefined, 'm4a')).format).toBe('m4a')
    expect(await episodeOutputs(path.join(dir, 'news.audio'), 'mp3', 'm4a')).toMatchObject({ vtt: path.join(dir, 'news.audio.vtt'), format: 'mp3' })
    expect((await episodeOutputs(path.join(dir, 'news.mp3'), 'm4a', 'mp3')).format).toBe('m4a')
  })

  it('refuses a directory that does not exist, or a path that is a directory, before any work', async () => {
    for (const bad of [path.join(dir, 'no-such-dir', 'x.mp3'), dir]) {
      const err = await episodeOutputs(bad, undefined, 'mp3').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).message).toContain(bad)
    }
  })
})

describe('shared formatting', () => {
  it('names input formats by extension and durations as m:ss or h:mm:ss', () => {
    expect(['a.html', 'a.HTM', 'a.md', 'a.markdown', 'a.txt', 'a.json', 'a.doc'].map(formatFromName)).toEqual(['html', 'html', 'markdown', 'markdown', 'text', 'json', undefined])
    expect([0, 59_400, 61_000, 3_600_000, 3_725_000].map(formatDuration)).toEqual(['0:00', '0:59', '1:01', '1:00:00', '1:02:05'])
  })
})
