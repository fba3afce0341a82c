/**
 * The one step between a finished render and its episode row: with object
 * storage, the episode's files go into the bucket (sidecars first, the audio
 * last) and only then does the render report success, so the row the service
 * publishes never points at a missing or partial object. The local copies are
 * then removed: the bucket is where episodes live, and the render's cache of
 * joined episodes is the bucket too (`isPublished`).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { EpisodeResult } from '../episodes/types.ts'
import { IMMUTABLE_CACHE_CONTROL, contentTypeFor, type BlobStore } from './types.ts'

const keyFor = (cacheDir: string, file: string) => path.relative(cacheDir, file).split(path.sep).join('/')

export async function publishOutputs(blobs: BlobStore, cacheDir: string, result: EpisodeResult, signal?: AbortSignal): Promise<void> {
  if (blobs.kind === 'local') return // the render wrote straight into the store
  const audio = result.audioPath
  const info = audio.replace(/\.(mp3|m4a)$/, '.info.json')
  const sidecars = [result.vttPath, result.chaptersPath, result.timingsPath]
  await Promise.all(sidecars.map((f) => blobs.putFile(keyFor(cacheDir, f), f, { contentType: contentTypeFor(f), cacheControl: IMMUTABLE_CACHE_CONTROL, signal })))
  await blobs.putFile(keyFor(cacheDir, audio), audio, { contentType: result.mimeType, cacheControl: IMMUTABLE_CACHE_CONTROL, signal })
  // Loudness and duration of the joined file: lets the next render of the same content skip the join.
  if (await exists(info)) await blobs.putFile(keyFor(cacheDir, info), info, { contentType: 'application/json', signal })
  await Promise.all([...sidecars, audio, info].map((f) => fs.rm(f, { force: true })))
}

async function exists(file: string): Promise<boolean> {
  return await fs.stat(file).then(
    () => true,
    () => false,
  )
}
