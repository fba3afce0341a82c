/**
 * ID3v2.3 tag writer for episodes: text frames, comment, cover art (APIC) and
 * chapters (CHAP + CTOC, the ID3v2 Chapter Frame Addendum that Apple Podcasts
 * and most podcast apps read). The same frames ffmpeg's mp3 muxer writes with
 * `-id3v2_version 3` from our ffmetadata (date split into TYER + TDAT as
 * v2.3 requires), so ffprobe and players read the same tags either way.
 *
 * v2.3 rather than v2.4: it is what Apple's podcast guidelines and older
 * players expect; text is ISO-8859-1 when it fits, else UTF-16 with a BOM
 * (v2.3 has no UTF-8).
 * Spec: https://id3.org/id3v2.3.0 and https://id3.org/id3v2-chapters-1.0
 */

export interface Id3Tags {
  title?: string
  artist?: string
  album?: string
  /** YYYY or YYYY-MM-DD. */
  date?: string
  comment?: string
  language?: string
  genre?: string
}

export interface Id3Chapter {
  title: string
  startMs: number
  endMs: number
}

export interface Id3Cover {
  mime: 'image/jpeg' | 'image/png'
  data: Uint8Array
}

const latin1Fits = (s: string) => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false
  return true
}

/** Encoding byte + text (no terminator) for a text field. */
function encodedText(text: string, terminated = false): Buffer {
  if (latin1Fits(text)) return Buffer.concat([Buffer.from([0]), Buffer.from(text, 'latin1'), terminated ? Buffer.from([0]) : Buffer.alloc(0)])
  return Buffer.concat([Buffer.from([1, 0xff, 0xfe]), Buffer.from(text, 'utf16le'), terminated ? Buffer.from([0, 0]) : Buffer.alloc(0)])
}

function frame(id: string, body: Buffer): Buffer {
  const header = Buffer.alloc(10)
  header.write(id, 0, 'latin1')
  header.writeUInt32BE(body.length, 4) // v2.3: a plain 32-bit size, not syncsafe
  return Buffer.concat([header, body])
}

const textFrame = (id: string, text: string) => frame(id, encodedText(text))

function commentFrame(text: string): Buffer {
  // Encoding, language, empty short description (terminated in that encoding), the text.
  const enc = latin1Fits(text) ? 0 : 1
  const description = enc === 0 ? Buffer.from([0]) : Buffer.from([0xff, 0xfe, 0, 0])
  const body = enc === 0 ? Buffer.from(text, 'latin1') : Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
  return frame('COMM', Buffer.concat([Buffer.from([enc]), Buffer.from('eng', 'latin1'), description, body]))
}

function pictureFrame(cover: Id3Cover): Buffer {
  // Latin-1, MIME type, picture type 3 (front cover), description, data.
  return frame('APIC', Buffer.concat([Buffer.from([0]), Buffer.from(`${cover.mime}\0`, 'latin1'), Buffer.from([3]), Buffer.from('Cover\0', 'latin1'), cover.data]))
}

function chapterFrames(chapters: Id3Chapter[]): Buffer[] {
  const ids = chapters.map((_, i) => `ch${i}`)
  const chaps = chapters.map((c, i) => {
    const times = Buffer.alloc(16)
    times.writeUInt32BE(Math.max(0, Math.round(c.startMs)), 0)
    times.writeUInt32BE(Math.max(0, Math.round(c.endMs)), 4)
    // Byte offsets unknown/unused: 0xFFFFFFFF says "use the times".
    times.writeUInt32BE(0xffffffff, 8)
    times.writeUInt32BE(0xffffffff, 12)
    return frame('CHAP', Buffer.concat([Buffer.from(`${ids[i]}\0`, 'latin1'), times, textFrame('TIT2', c.title)]))
  })
  // One top-level, ordered table of contents (its entry count is one byte: at most 255 chapters listed).
  const listed = ids.slice(0, 255)
  const toc = frame('CTOC', Buffer.concat([Buffer.from('toc\0', 'latin1'), Buffer.from([0x03, listed.length]), ...listed.map((id) => Buffer.from(`${id}\0`, 'latin1'))]))
  return [toc, ...chaps]
}

function syncsafe(n: number): Buffer {
  return Buffer.from([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f])
}

/** The whole tag (header + frames), ready to prepend to MP3 frames. */
export function buildId3v23(tags: Id3Tags, chapters: Id3Chapter[] = [], cover?: Id3Cover): Buffer {
  const frames: Buffer[] = []
  if (tags.title) frames.push(textFrame('TIT2', tags.title))
  if (tags.artist) frames.push(textFrame('TPE1', tags.artist))
  if (tags.album) frames.push(textFrame('TALB', tags.album))
  if (tags.date) {
    // v2.3 has no full date frame: the year in TYER, day and month (DDMM) in TDAT.
    const m = /^(\d{4})(?:-(\d{2})-(\d{2}))?/.exec(tags.date)
    if (m) {
      frames.push(textFrame('TYER', m[1]!))
      if (m[2] && m[3]) frames.push(textFrame('TDAT', `${m[3]}${m[2]}`))
    }
  }
  if (tags.genre) frames.push(textFrame('TCON', tags.genre))
  if (tags.language) frames.push(textFrame('TLAN', tags.language))
  if (tags.comment) frames.push(commentFrame(tags.comment))
  if (chapters.length > 0) frames.push(...chapterFrames(chapters))
  if (cover) frames.push(pictureFrame(cover))
  const body = Buffer.concat(frames)
  return Buffer.concat([Buffer.from('ID3', 'latin1'), Buffer.from([3, 0, 0]), syncsafe(body.length), body])
}
