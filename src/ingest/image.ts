/** Image checks by magic bytes and header parsing (no image library): JPEG and PNG only. */
import { AppError } from '../errors.ts'

export interface ImageInfo {
  type: 'jpeg' | 'png'
  mimeType: 'image/jpeg' | 'image/png'
  width: number
  height: number
}

export function inspectImage(buf: Buffer): ImageInfo {
  if (buf.length >= 24 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a && buf.toString('latin1', 12, 16) === 'IHDR') {
    return { type: 'png', mimeType: 'image/png', width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) }
  }
  if (buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    // Walk the JPEG segments to the first start-of-frame marker, which carries the dimensions.
    let i = 2
    while (i + 9 < buf.length) {
      if (buf[i] !== 0xff) {
        i++
        continue
      }
      const marker = buf[i + 1]!
      if (marker === 0xff) {
        i++
        continue
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2
        continue
      }
      const len = buf.readUInt16BE(i + 2)
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
      if (isSof) return { type: 'jpeg', mimeType: 'image/jpeg', height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) }
      if (marker === 0xd9 || marker === 0xda || len < 2) break
      i += 2 + len
    }
    throw new AppError('INVALID_IMAGE', 'The JPEG file is truncated or has no image frame.')
  }
  throw new AppError('INVALID_IMAGE', 'The file is not a JPEG or PNG image.')
}
