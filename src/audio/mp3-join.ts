/**
 * Joins encoded pieces (bare MPEG-1 Layer III frames, see encodePiece) into an
 * episode file without ffmpeg: an ID3v2.3 tag (tags, chapters, cover), an
 * "Info" frame (the Xing header of a CBR file: frame and byte counts and a
 * seek table, so players show the right duration and seek at once), then the
 * pieces' bytes in order. This is what ffmpeg's concat demuxer with stream
 * copy writes, at the cost of copying bytes: a re-render with one changed
 * paragraph no longer waits for an ffmpeg process (~0.1 s), and a long episode
 * is joined at disk speed. Memory stays at one piece at a time.
 */
import { promises as fs } from 'node:fs'
import { AppError, throwIfAborted } from '../errors.ts'
import { fileError } from '../util/files.ts'
import { buildId3v23, type Id3Chapter, type Id3Cover, type Id3Tags } from './id3.ts'
import { parseFrameHeader } from './mp3.ts'

export interface JoinPiece {
  path: string
  /** MP3 frames in the piece (its samples / 1152). */
  frames: number
}

/**
 * The Info frame for `frames` audio frames of `audioBytes` bytes, with the header of the
 * stream's first frame (MPEG-1 Layer III, CBR). Decoders that know the tag skip this frame.
 */
export function infoFrame(firstHeader: Uint8Array, frames: number, audioBytes: number): Buffer {
  const h = parseFrameHeader(firstHeader)
  if (!h || h.version !== 3) throw new AppError('FFMPEG_FAILED', 'An encoded piece does not start with an MPEG-1 Layer III frame.')
  const size = h.padding ? h.size - 1 : h.size // the padding bit is cleared below
  const offset = 4 + (h.crc ? 2 : 0) + (h.mono ? 17 : 32) // after the side information
  const out = Buffer.alloc(size)
  out[0] = 0xff
  out[1] = firstHeader[1]!
  out[2] = firstHeader[2]! & ~0x02
  out[3] = firstHeader[3]!
  // The seek table and quality need 104 more bytes than the counts: frames of 32-40 kbps at 44.1 kHz
  // (104-130 bytes) have no room for them, and a CBR stream seeks linearly without a table anyway.
  const withToc = offset + 16 + 104 <= size
  let p = offset
  out.write('Info', p, 'latin1') // "Info" rather than "Xing": constant bitrate
  out.writeUInt32BE(withToc ? 0x0f : 0x03, (p += 4)) // frames and bytes present (+ TOC and quality)
  out.writeUInt32BE(frames, (p += 4))
  out.writeUInt32BE(size + audioBytes, (p += 4))
  p += 4
  if (withToc) {
    // Seek table: the byte position (x/256 of the stream) at each percent of the duration; linear at CBR.
    for (let i = 0; i < 100; i++) out[p + i] = Math.min(255, Math.floor((i * 256) / 100))
    out.writeUInt32BE(0, p + 100) // quality (unused by decoders)
  }
  return out
}

export interface JoinMp3Options {
  pieces: JoinPiece[]
  output: string
  tags: Id3Tags
  chapters: Id3Chapter[]
  cover?: Id3Cover
  signal?: AbortSignal
}

/** Writes the episode to `output` (the caller's temp name; it renames it into place). */
export async function joinMp3(o: JoinMp3Options): Promise<void> {
  throwIfAborted(o.signal)
  if (o.pieces.length === 0) throw new AppError('NO_ARTICLE_TEXT', 'There are no pieces to join.')
  const sizes = await Promise.all(o.pieces.map(async (p) => (await fs.stat(p.path)).size))
  const audioBytes = sizes.reduce((a, b) => a + b, 0)
  const frames = o.pieces.reduce((a, p) => a + p.frames, 0)
  const first = await fs.open(o.pieces[0]!.path, 'r')
  const header = Buffer.alloc(4)
  try {
    await first.read(header, 0, 4, 0)
  } finally {
    await first.close()
  }
  let out: fs.FileHandle
  try {
    out = await fs.open(o.output, 'w')
  } catch (err) {
    throw fileError(err, o.output)
  }
  try {
    await out.write(Buffer.concat([buildId3v23(o.tags, o.chapters, o.cover), infoFrame(header, frames, audioBytes)]))
    for (const piece of o.pieces) {
      throwIfAborted(o.signal)
      await out.write(await fs.readFile(piece.path))
    }
  } catch (err) {
    throw err instanceof AppError ? err : fileError(err, o.output)
  } finally {
    await out.close()
  }
}

/** The MIME type of a JPEG or PNG by its magic bytes (the image was checked with ffmpeg before). */
export function imageMime(data: Uint8Array): Id3Cover['mime'] {
  return data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47 ? 'image/png' : 'image/jpeg'
}
