/**
 * Minimal RIFF/WAVE support for mono 16-bit PCM: the one clip format every
 * engine's output is stored in. Google's LINEAR16 responses carry a WAV header
 * too, so the parser walks chunks instead of assuming a 44-byte header.
 */
import { promises as fs } from 'node:fs'
import { AppError } from '../errors.ts'

export interface WavHeader {
  /** 1 = PCM. */
  format: number
  channels: number
  sampleRate: number
  bitsPerSample: number
  /** Byte offset of the first sample in the file. */
  dataOffset: number
  /** Bytes of sample data declared by the data chunk. */
  dataBytes: number
  durationMs: number
}

/** A complete 16-bit mono WAV file around raw little-endian PCM. */
export function wavFromPcm(pcm: Uint8Array, sampleRate: number): Buffer {
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + pcm.byteLength, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * 2, 28) // byte rate
  header.writeUInt16LE(2, 32) // block align
  header.writeUInt16LE(16, 34) // bits per sample
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(pcm.byteLength, 40)
  return Buffer.concat([header, pcm])
}

/**
 * Parse a WAV header from the start of a file. Returns null when the bytes are
 * not a RIFF/WAVE file or the header is cut short; does not check that the
 * data chunk is complete (see checkWavFile).
 */
export function readWavHeader(bytes: Uint8Array): WavHeader | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') return null
  let offset = 12
  let fmt: Pick<WavHeader, 'format' | 'channels' | 'sampleRate' | 'bitsPerSample'> | null = null
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4)
    const size = buf.readUInt32LE(offset + 4)
    const body = offset + 8
    if (id === 'fmt ') {
      if (body + 16 > buf.length) return null
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      }
    } else if (id === 'data') {
      if (!fmt) return null
      const bytesPerSecond = fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8)
      // Streaming writers put 0xFFFFFFFF (or 0) in the size: treat it as "to the end".
      const dataBytes = size === 0xffffffff || size === 0 ? Math.max(0, buf.length - body) : size
      return { ...fmt, dataOffset: body, dataBytes, durationMs: bytesPerSecond > 0 ? (dataBytes / bytesPerSecond) * 1000 : 0 }
    }
    offset = body + size + (size % 2) // chunks are word-aligned
  }
  return null
}

/** PCM samples and rate from a complete WAV buffer (e.g. a LINEAR16 response); throws ENGINE_FAILED if it is not mono 16-bit PCM. */
export function pcmFromWav(bytes: Uint8Array, what = 'audio'): { pcm: Buffer; sampleRate: number } {
  const header = readWavHeader(bytes)
  if (!header) throw new AppError('ENGINE_FAILED', `The ${what} is not a WAV file.`)
  if (header.format !== 1 || header.bitsPerSample !== 16 || header.channels !== 1)
    throw new AppError('ENGINE_FAILED', `The ${what} is not mono 16-bit PCM (format ${header.format}, ${header.channels} channels, ${header.bitsPerSample} bits).`)
  const end = Math.min(bytes.byteLength, header.dataOffset + header.dataBytes)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { pcm: Buffer.from(buf.subarray(header.dataOffset, end - ((end - header.dataOffset) % 2))), sampleRate: header.sampleRate }
}

/**
 * Check a WAV file on disk: a mono 16-bit PCM header whose data chunk is fully
 * present (a truncated or corrupt clip returns null and must not be served).
 */
export async function checkWavFile(file: string): Promise<WavHeader | null> {
  let fh: fs.FileHandle
  try {
    fh = await fs.open(file, 'r')
  } catch {
    return null
  }
  try {
    const { size } = await fh.stat()
    const head = Buffer.alloc(Math.min(size, 4096))
    await fh.read(head, 0, head.length, 0)
    const header = readWavHeader(head)
    if (!header || header.format !== 1 || header.channels !== 1 || header.bitsPerSample !== 16) return null
    if (header.dataBytes === 0 || header.dataBytes % 2 !== 0) return null
    if (header.dataOffset + header.dataBytes !== size) return null
    return header
  } finally {
    await fh.close()
  }
}

/** Duration of mono 16-bit PCM, ms. */
export function pcmDurationMs(pcmBytes: number, sampleRate: number): number {
  return (pcmBytes / 2 / sampleRate) * 1000
}
