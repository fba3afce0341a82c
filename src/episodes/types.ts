import type { SegmentKind } from '../script/types.ts'

export interface SegmentTiming {
  id: string
  kind: SegmentKind
  sectionIndex: number
  blockIndex?: number
  storyIndex?: number
  startMs: number
  endMs: number
  text: string
}

export interface Chapter {
  title: string
  startMs: number
  endMs: number
}

export interface RenderProgress {
  phase: 'synthesize' | 'encode' | 'join' | 'done'
  /** Segments synthesized and encoded so far, out of total. */
  done: number
  total: number
  /** 0..1 over the whole render. */
  fraction: number
  /** Segments whose clip is ready (synthesized or from the clip cache). */
  synthesized?: number
  /** Pieces ready (encoded now or from the piece cache). */
  encoded?: number
}

export interface EncodedPiece {
  index: number
  /** An MP3 file of the segment's clip plus its pause, normalized; playable on its own and concatenable. */
  path: string
  durationMs: number
}

export interface RenderOptions {
  format?: 'mp3' | 'm4a'
  signal?: AbortSignal
  onProgress?(progress: RenderProgress): void
  /** Called in script order as each encoded piece is ready (progressive streaming). */
  onPiece?(piece: EncodedPiece): void
  metadata?: { title?: string; artist?: string; album?: string; date?: string; coverPath?: string; comment?: string }
}

export interface EpisodeResult {
  /** Content hash of the episode; file names derive from it. */
  hash: string
  format: 'mp3' | 'm4a'
  mimeType: string
  /** audio-cache/episodes/<hash>.mp3 (complete, renamed into place). */
  audioPath: string
  vttPath: string
  chaptersPath: string
  timingsPath: string
  bytes: number
  durationMs: number
  loudness: { integratedLufs: number; truePeakDb: number }
  chapters: Chapter[]
  timings: SegmentTiming[]
  /**
   * encoded: pieces encoded by this render; encodedParts: the MP3 parts they were encoded as (a long clip may be
   * encoded in parallel parts); relevels: encodes repeated with a lower limiter ceiling (MP3 coding had taken
   * a piece's true peak too close to the target); encodeThreads: the encoder threads the render could use.
   */
  stats: { segments: number; synthesized: number; cached: number; encoded: number; encodedParts: number; relevels: number; elapsedMs: number; encodeThreads: number }
}
