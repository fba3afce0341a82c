/**
 * Render stage 4, assemble the file, tags and sidecars: the timeline from the pieces' real frame
 * counts (so transcript and chapters match the file), chapters, tags, the episode's content hash, the
 * episode itself (MP3: the pieces' frames joined in JS by mp3-join.ts, no ffmpeg; M4A: ffmpeg's
 * concat demuxer), its loudness from the pieces' and the VTT, chapters and timings files.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Config } from '../config.ts'
import { AppError, throwIfAborted } from '../errors.ts'
import { SAMPLES_PER_FRAME, type FfmpegMedia, type Loudness } from '../audio/ffmpeg.ts'
import { imageMime, joinMp3 } from '../audio/mp3-join.ts'
import type { RunDir } from '../audio/tempdir.ts'
import { buildChaptersJson, buildFfmetadata, buildTimingsJson, buildVtt, sentenceSpans, type TimedSegment } from '../audio/transcript.ts'
import type { Segment, Script } from '../script/types.ts'
import { sha256 } from '../util/files.ts'
import { exists, renameInto, writeInto } from './render-files.ts'
import { msOf, type Item } from './render-plan.ts'
import type { Chapter, EpisodeResult, RenderOptions, SegmentTiming } from './types.ts'

/** What assembly needs of a piece. */
export interface AssemblyPiece {
  path: string
  key: string
  samples: number
  speechStart: number
  speechEnd: number
  loudness: Promise<Loudness>
  /** Word start times from the engine, ms from the start of the clip. */
  wordStartsMs?: number[]
  /** Sentence start times from engines that report sentences instead of words (sherpa-onnx), ms from the start of the clip. */
  sentenceStartsMs?: number[]
}

function chapterTitle(group: Segment[], fallback: string): string {
  const head = group.find((s) => s.kind === 'title' || s.kind === 'heading')
  const text = (head?.displayText ?? head?.text ?? '').trim()
  if (text) return text
  if (fallback) return fallback
  const first = (group[0]?.displayText ?? group[0]?.text ?? '').trim()
  return first.length > 80 ? first.slice(0, 77).trimEnd() + '…' : first
}

/**
 * The episode's loudness from its pieces: the power mean of their integrated
 * loudness weighted by their audible length (every piece is normalized on its
 * own, so program gating changes this by far less than the 1 LU tolerance),
 * and the highest true peak (pieces are stream-copied, so their samples are
 * the episode's). Saves decoding the whole episode on every re-render.
 */
export function combineLoudness(pieces: { loudness: Loudness; speechStart: number; speechEnd: number }[]): Loudness {
  let power = 0
  let weight = 0
  let peak = -Infinity
  for (const p of pieces) {
    const { integratedLufs, truePeakDb } = p.loudness
    if (truePeakDb > peak) peak = truePeakDb
    if (!Number.isFinite(integratedLufs)) continue
    const w = Math.max(1, p.speechEnd - p.speechStart)
    power += w * Math.pow(10, integratedLufs / 10)
    weight += w
  }
  return { integratedLufs: weight > 0 ? Math.round(100 * 10 * Math.log10(power / weight)) / 100 : -Infinity, truePeakDb: peak }
}

/**
 * Sentence start times from the engine's word timings, when its words line up
 * one-to-one with the whitespace-separated words of the text (otherwise the
 * transcript shares a segment's time among its sentences by length).
 */
export function sentenceStarts(
  text: string,
  wordStartsMs: number[] | undefined,
  engineSentenceStartsMs?: number[],
): { sentenceStartsMs?: number[]; wordStartsMs?: number[] } {
  if (engineSentenceStartsMs && sentenceSpans(text).length === engineSentenceStartsMs.length) return { sentenceStartsMs: engineSentenceStartsMs }
  if (!wordStartsMs) return {}
  const words = (t: string) => t.split(/\s+/).filter(Boolean).length
  if (words(text) !== wordStartsMs.length) return {}
  const starts: number[] = []
  let w = 0
  for (const sentence of sentenceSpans(text)) {
    starts.push(wordStartsMs[Math.min(w, wordStartsMs.length - 1)]!)
    w += words(sentence)
  }
  return { sentenceStartsMs: starts, wordStartsMs }
}

/** One chapter per heading (sectionIndex), or per story when the script is a briefing (storyIndex). */
export function buildChapters(script: Script, timings: SegmentTiming[], durationMs: number): Chapter[] {
  const byStory = script.segments.some((s) => s.storyIndex !== undefined)
  const keyOf = (s: Segment) => (byStory ? (s.storyIndex ?? -1) : s.sectionIndex)
  const groups: { key: number; segments: Segment[]; startMs: number }[] = []
  script.segments.forEach((s, i) => {
    const k = keyOf(s)
    const last = groups[groups.length - 1]
    if (last && last.key === k) last.segments.push(s)
    else groups.push({ key: k, segments: [s], startMs: timings[i]!.startMs })
  })
  if (groups.length === 0) return []
  groups[0]!.startMs = 0 // the first chapter includes the intro jingle
  return groups.map((g, i) => ({
    // The first chapter is the episode's opening (title, byline, intro or a briefing's welcome): the script title names it.
    title: i === 0 && script.title.trim() ? script.title.trim() : chapterTitle(g.segments, ''),
    startMs: Math.round(g.startMs),
    endMs: Math.round(i + 1 < groups.length ? groups[i + 1]!.startMs : durationMs),
  }))
}

/**
 * Where every segment is in the episode, from the pieces' real sample counts. The first cue starts at 0
 * and the last ends with the file (when no jingle takes those places), so the transcript covers all of it.
 */
export function buildTimeline(items: Item[], pieces: AssemblyPiece[]): { timed: TimedSegment[]; timings: SegmentTiming[]; durationMs: number } {
  let cursor = 0
  const timed: TimedSegment[] = []
  items.forEach((item, i) => {
    const p = pieces[i]!
    if (item.kind === 'segment') {
      const s = item.segment
      timed.push({
        id: s.id,
        kind: s.kind,
        sectionIndex: s.sectionIndex,
        ...(s.blockIndex === undefined ? {} : { blockIndex: s.blockIndex }),
        ...(s.storyIndex === undefined ? {} : { storyIndex: s.storyIndex }),
        startMs: Math.round(msOf(cursor)),
        endMs: Math.round(msOf(cursor + p.samples)),
        text: (s.displayText ?? s.text).trim(),
        speechStartMs: msOf(cursor + p.speechStart),
        speechEndMs: msOf(cursor + p.speechEnd),
        ...sentenceStarts((s.displayText ?? s.text).trim(), p.wordStartsMs, p.sentenceStartsMs),
      })
    }
    cursor += p.samples
  })
  const durationMs = Math.round(msOf(cursor))
  const intro = items[0]?.kind === 'jingle'
  const outro = items.length > 0 && items[items.length - 1]!.kind === 'jingle'
  if (timed.length > 0 && !intro) timed[0]!.startMs = 0
  if (timed.length > 0 && !outro) timed[timed.length - 1]!.endMs = durationMs
  const timings: SegmentTiming[] = timed.map(({ speechStartMs: _a, speechEndMs: _b, sentenceStartsMs: _c, wordStartsMs: _d, ...t }) => t)
  return { timed, timings, durationMs }
}

/** The episode's tags: the caller's metadata first, else the script's and the show's. */
export function episodeTags(script: Script, config: Config, meta: NonNullable<RenderOptions['metadata']>): Record<string, string | undefined> {
  let siteHost: string | undefined
  try {
    siteHost = script.url ? new URL(script.url).hostname.replace(/^www\./, '') : undefined
  } catch {}
  return {
    title: meta.title ?? script.title,
    artist: meta.artist ?? siteHost ?? config.show.author,
    album: meta.album ?? config.show.title,
    date: meta.date ?? script.publishedAt?.slice(0, 10),
    comment: meta.comment,
    language: script.language,
    genre: 'Podcast',
  }
}

export interface AssembleRequest {
  script: Script
  items: Item[]
  pieces: AssemblyPiece[]
  format: 'mp3' | 'm4a'
  config: Config
  ffmpeg: FfmpegMedia
  run: RunDir
  /** Part of the episode hash (render-plan.ts encoderSettingsOf). */
  encoderSettings: string
  metadata: NonNullable<RenderOptions['metadata']>
  /** Runs ffmpeg's M4A join in an encoder slot. */
  slot: <T>(fn: () => Promise<T>) => Promise<T>
  signal: AbortSignal
  /** Called when the audio file is in place (before the sidecars). */
  onJoined?(): void
}

export type Assembled = Pick<EpisodeResult, 'hash' | 'format' | 'mimeType' | 'audioPath' | 'vttPath' | 'chaptersPath' | 'timingsPath' | 'bytes' | 'durationMs' | 'loudness' | 'chapters' | 'timings'>

/**
 * The episode under audio-cache/episodes/<hash>.*, named by the hash of everything in it (format,
 * encoder settings, tags, cover, chapters, the pieces' keys): an episode already there is reused with
 * its recorded loudness and duration (<hash>.info.json).
 */
export async function assembleEpisode(r: AssembleRequest): Promise<Assembled> {
  const { script, pieces, format, config, ffmpeg, run, signal } = r
  const { timed, timings, durationMs } = buildTimeline(r.items, pieces)
  const chapters = buildChapters(script, timings, durationMs)
  const meta = r.metadata
  const tags = episodeTags(script, config, meta)
  let coverId = ''
  if (meta.coverPath) {
    try {
      const st = await fs.stat(meta.coverPath)
      coverId = `${meta.coverPath}|${st.size}|${st.mtimeMs}`
    } catch {
      throw new AppError('INVALID_IMAGE', `The cover art ${meta.coverPath} does not exist.`)
    }
    // Checked before the join so a bad image gets its own error instead of a failed ffmpeg run.
    await ffmpeg.checkImage(meta.coverPath, signal)
  }
  const episodesDir = path.join(config.cacheDir, 'episodes')
  const ext = format === 'm4a' ? 'm4a' : 'mp3'
  const hash = sha256('episode-v2', format, r.encoderSettings, JSON.stringify(tags), coverId, JSON.stringify(chapters), ...pieces.map((p) => p.key)).slice(0, 32)
  const audioPath = path.join(episodesDir, `${hash}.${ext}`)
  const vttPath = path.join(episodesDir, `${hash}.vtt`)
  const chaptersPath = path.join(episodesDir, `${hash}.chapters.json`)
  const timingsPath = path.join(episodesDir, `${hash}.timings.json`)
  const infoPath = path.join(episodesDir, `${hash}.info.json`)

  let loudness: Loudness
  let finalDuration = durationMs
  const info = await fs
    .readFile(infoPath, 'utf8')
    .then((t) => JSON.parse(t) as { loudness: Loudness; durationMs: number })
    .catch(() => undefined)
  if (info && (await exists(audioPath))) {
    loudness = info.loudness
    finalDuration = info.durationMs
  } else {
    const tmpOut = run.file(`episode.${ext}`)
    if (format === 'mp3') {
      // Pieces are bare MP3 frames: the episode is a tag, an Info frame and their bytes (mp3-join.ts), no ffmpeg.
      const coverData = meta.coverPath ? await fs.readFile(meta.coverPath) : undefined
      await joinMp3({
        pieces: pieces.map((p) => ({ path: p.path, frames: p.samples / SAMPLES_PER_FRAME })),
        output: tmpOut,
        tags,
        chapters,
        cover: coverData ? { mime: imageMime(coverData), data: coverData } : undefined,
        signal,
      })
    } else {
      // AAC is a transcode of the joined pieces, with the tags and chapters: ffmpeg.
      const listPath = run.file('pieces.txt')
      const metaPath = run.file('metadata.txt')
      // concat demuxer list: https://ffmpeg.org/ffmpeg-formats.html#concat-1 (single quotes escaped as '\'')
      await fs.writeFile(listPath, pieces.map((p) => `file '${p.path.replace(/'/g, "'\\''")}'\n`).join(''))
      await fs.writeFile(metaPath, buildFfmetadata(tags, chapters))
      await r.slot(() => ffmpeg.join({ listPath, metadataPath: metaPath, coverPath: meta.coverPath, output: tmpOut, bitrateKbps: config.audio.bitrateKbps }, signal))
    }
    loudness = combineLoudness(await Promise.all(pieces.map(async (p) => ({ ...p, loudness: await p.loudness }))))
    if (format === 'm4a') finalDuration = (await ffmpeg.probe(tmpOut, signal)).durationMs
    throwIfAborted(signal)
    await renameInto(tmpOut, audioPath)
    await writeInto(run, infoPath, JSON.stringify({ loudness, durationMs: finalDuration }))
  }
  r.onJoined?.()
  await fs.mkdir(episodesDir, { recursive: true })
  await writeInto(run, vttPath, buildVtt(timed))
  await writeInto(run, chaptersPath, JSON.stringify(buildChaptersJson(chapters), null, 2))
  await writeInto(run, timingsPath, JSON.stringify(buildTimingsJson(timings, finalDuration)))
  const bytes = (await fs.stat(audioPath)).size
  return {
    hash,
    format,
    mimeType: format === 'm4a' ? 'audio/mp4' : 'audio/mpeg',
    audioPath,
    vttPath,
    chaptersPath,
    timingsPath,
    bytes,
    durationMs: finalDuration,
    loudness,
    chapters,
    timings,
  }
}
