/**
 * player.js as served: minified with esbuild once per process (start-up, not per
 * request), then kept in memory with its gzip and brotli encodings and a content
 * hash for the ETag and the versioned URL /player/<hash>.js.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { stop as stopEsbuild, transform, transformSync } from 'esbuild'

export interface PlayerBundle {
  /** Minified JavaScript (UTF-8). */
  code: Buffer
  gzip: Buffer
  brotli: Buffer
  /** First 16 hex digits of the sha256 of `code`. */
  hash: string
}

export const PLAYER_SOURCE_PATH = fileURLToPath(new URL('./player.js', import.meta.url))

let cached: PlayerBundle | undefined

const MINIFY = { minify: true, target: 'es2019', legalComments: 'none', charset: 'utf8' } as const

/**
 * Build the bundle with esbuild's async API and wait for its service process
 * to exit. The service calls this at start-up: transformSync runs esbuild from
 * a worker thread, and the `esbuild --service` child it spawns is never reaped
 * once that worker is stopped (a <defunct> process per service).
 */
export async function preparePlayerBundle(options: { onWarning?: (message: string) => void } = {}): Promise<PlayerBundle> {
  if (cached) return cached
  const source = readFileSync(PLAYER_SOURCE_PATH, 'utf8')
  let js = source
  try {
    js = (await transform(source, MINIFY)).code
  } catch (err) {
    options.onWarning?.(`player.js not minified (esbuild failed: ${(err as Error).message}); serving the source`)
  } finally {
    // Resolves once the child has exited (and been waited for by this thread's event loop).
    await stopEsbuild()
  }
  cached ??= finish(js)
  return cached
}

/**
 * Build (or return the cached) bundle. If esbuild is unavailable the readable
 * source is served instead: bigger, but the player still works.
 */
export function playerBundle(options: { onWarning?: (message: string) => void } = {}): PlayerBundle {
  if (cached) return cached
  const source = readFileSync(PLAYER_SOURCE_PATH, 'utf8')
  let js = source
  try {
    // es2019: Safari 13 / older Android WebViews still parse it (no ?. or ?? in the output).
    js = transformSync(source, MINIFY).code
  } catch (err) {
    options.onWarning?.(`player.js not minified (esbuild failed: ${(err as Error).message}); serving the source`)
  } finally {
    // esbuild keeps a worker thread and an `esbuild --service` process (~45 MB) for later calls;
    // there are none: the bundle is made once per process.
    void stopEsbuild()
  }
  cached = finish(js)
  return cached
}

function finish(js: string): PlayerBundle {
  const code = Buffer.from(js, 'utf8')
  return {
    code,
    gzip: zlib.gzipSync(code, { level: 9 }),
    brotli: zlib.brotliCompressSync(code, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: code.length },
    }),
    hash: createHash('sha256').update(code).digest('hex').slice(0, 16),
  }
}
