/**
 * The default cover art when none is configured or uploaded: a 3000 x 3000 PNG
 * with the show's title, as podcast directories require (square, 1400-3000
 * px). Drawn in JS at 300 x 300 with a small bitmap font (no native image
 * library, no font files), then scaled up 10x and encoded by ffmpeg (a child
 * process, so the event loop never waits for it). Stored as a cover asset
 * named by a hash of the title, made again only when the title changes.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { keyOf } from '../storage/index.ts'
import type { BlobStore } from '../storage/types.ts'
import type { Ffmpeg } from '../audio/ffmpeg.ts'
import type { AssetRecord, Store } from '../store/types.ts'
import { sha256, tempPathFor } from '../util/files.ts'

export const DEFAULT_COVER_PREFIX = 'default-'
const SIZE = 300
const SCALE = 10
const BG: [number, number, number] = [0x14, 0x21, 0x3d]
const FG: [number, number, number] = [0xff, 0xff, 0xff]
const ACCENT: [number, number, number] = [0xfc, 0xa3, 0x11]

/** 5 x 7 glyphs, one string of 7 rows of 5 bits per character. */
const GLYPHS: Record<string, string> = {
  A: '01110100011000111111100011000110001', B: '11110100011000111110100011000111110', C: '01110100011000010000100001000101110',
  D: '11110100011000110001100011000111110', E: '11111100001000011110100001000011111', F: '11111100001000011110100001000010000',
  G: '01110100011000010111100011000101111', H: '10001100011000111111100011000110001', I: '01110001000010000100001000010001110',
  J: '00111000100001000010000101001001100', K: '10001100101010011000101001001010001', L: '10000100001000010000100001000011111',
  M: '10001110111010110101100011000110001', N: '10001100011100110101100111000110001', O: '01110100011000110001100011000101110',
  P: '11110100011000111110100001000010000', Q: '01110100011000110001101011001001101', R: '11110100011000111110101001001010001',
  S: '01111100001000001110000010000111110', T: '11111001000010000100001000010000100', U: '10001100011000110001100011000101110',
  V: '10001100011000110001100010101000100', W: '10001100011000110101101011010101010', X: '10001100010101000100010101000110001',
  Y: '10001100010101000100001000010000100', Z: '11111000010001000100010001000011111',
  '0': '01110100011001110101110011000101110', '1': '00100011000010000100001000010001110', '2': '01110100010000100010001000100011111',
  '3': '11111000100010000010000011000101110', '4': '00010001100101010010111110001000010', '5': '11111100001111000001000011000101110',
  '6': '00110010001000011110100011000101110', '7': '11111000010001000100010000100001000', '8': '01110100011000101110100011000101110',
  '9': '01110100011000101111000010001001100', '.': '00000000000000000000000000110001100', ',': '00000000000000000110001000100000000',
  '-': '00000000000000011111000000000000000', "'": '01100001000100000000000000000000000', '!': '00100001000010000100001000000000100',
  '?': '01110100010000100010001000000000100', ':': '00000011000110000000011000110000000', '&': '01100100101010001000101011001001101',
  '/': '00000000010001000100010001000000000', '+': '00000001000010011111001000010000000',
}

/** Words in upper case without accents; characters without a glyph are dropped. */
function printable(title: string): string[] {
  const plain = title.normalize('NFD').replace(/\p{M}/gu, '').toUpperCase()
  return plain
    .split(/\s+/)
    .map((w) => [...w].filter((c) => GLYPHS[c]).join(''))
    .filter(Boolean)
}

function wrap(words: string[], maxChars: number): string[] | undefined {
  const lines: string[] = []
  let line = ''
  for (const w of words) {
    if (w.length > maxChars) return undefined
    if (!line) line = w
    else if (line.length + 1 + w.length <= maxChars) line += ' ' + w
    else {
      lines.push(line)
      line = w
    }
  }
  if (line) lines.push(line)
  return lines
}

/** The 300 x 300 RGB picture: the title as large as fits (up to 5 lines), a row of "sound" bars below. */
export function drawCover(title: string): Buffer {
  const px = Buffer.alloc(SIZE * SIZE * 3)
  const fill = (x0: number, y0: number, w: number, h: number, c: [number, number, number]) => {
    for (let y = Math.max(0, y0); y < Math.min(SIZE, y0 + h); y++)
      for (let x = Math.max(0, x0); x < Math.min(SIZE, x0 + w); x++) px.set(c, (y * SIZE + x) * 3)
  }
  fill(0, 0, SIZE, SIZE, BG)
  const words = printable(title)
  const words2 = words.length > 0 ? words : ['NEWS']
  let layout: { lines: string[]; s: number } | undefined
  for (let s = 8; s >= 1 && !layout; s--) {
    const lines = wrap(words2, Math.floor(260 / (6 * s)))
    if (lines && lines.length <= 5 && lines.length * 10 * s <= 190) layout = { lines, s }
  }
  layout ??= { lines: [words2.join(' ').slice(0, 43)], s: 1 }
  const { lines, s } = layout
  const blockH = lines.length * 10 * s - 3 * s
  let y = Math.round(40 + (190 - blockH) / 2)
  for (const line of lines) {
    let x = Math.round((SIZE - (line.length * 6 * s - s)) / 2)
    for (const ch of line) {
      const g = GLYPHS[ch]
      if (g) for (let i = 0; i < 35; i++) if (g[i] === '1') fill(x + (i % 5) * s, y + Math.floor(i / 5) * s, s, s, FG)
      x += 6 * s
    }
    y += 10 * s
  }
  const bars = [6, 12, 20, 14, 24, 10, 18, 8, 22, 12, 16, 6]
  bars.forEach((h, i) => fill(78 + i * 12, 262 - h, 8, h, ACCENT))
  return px
}

/** The default cover asset for this title, made when missing; older default covers are removed. */
export async function ensureDefaultCover(title: string, deps: { store: Store; ffmpeg: Ffmpeg; cacheDir: string; blobs?: BlobStore }): Promise<AssetRecord> {
  const id = `${DEFAULT_COVER_PREFIX}${sha256('cover-v1', title).slice(0, 16)}`
  const existing = await deps.store.assets.get(id)
  const rel = path.join('assets', `${id}.png`)
  const target = path.join(deps.cacheDir, rel)
  if (existing) {
    try {
      if (deps.blobs) {
        if (!(await deps.blobs.exists(keyOf(rel)))) throw new Error('not stored')
      } else await fs.access(target)
      return existing
    } catch {
      await deps.store.assets.delete(id)
    }
  }
  await fs.mkdir(path.dirname(target), { recursive: true })
  const raw = tempPathFor(target) + '.rgb'
  const tmp = tempPathFor(target) + '.png'
  try {
    await fs.writeFile(raw, drawCover(title))
    const { ffmpegPath } = deps.ffmpeg.paths
    await deps.ffmpeg.runner(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${SIZE}x${SIZE}`, '-i', raw,
      '-vf', `scale=${SIZE * SCALE}:${SIZE * SCALE}:flags=neighbor`, '-frames:v', '1', '-pix_fmt', 'rgb24', '-f', 'image2', '-c:v', 'png', tmp])
    const info = await deps.ffmpeg.checkImage(tmp)
    await fs.rename(tmp, target)
    const stat = await fs.stat(target)
    // Stored (uploaded, with S3) before the row that serves it exists.
    await deps.blobs?.putFile(keyOf(rel), target, { contentType: 'image/png' })
    for (const a of await deps.store.assets.list('cover')) {
      if (a.id.startsWith(DEFAULT_COVER_PREFIX) && a.id !== id) {
        await deps.store.assets.delete(a.id)
        await fs.rm(path.join(deps.cacheDir, a.file), { force: true })
        await deps.blobs?.delete(keyOf(a.file))
      }
    }
    return deps.store.assets.insert({ id, kind: 'cover', file: rel, originalName: null, mimeType: 'image/png', bytes: stat.size, durationMs: null, width: info.width, height: info.height, createdAt: new Date().toISOString() })
  } finally {
    await fs.rm(raw, { force: true })
    await fs.rm(tmp, { force: true })
  }
}
