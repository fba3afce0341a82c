/**
 * A small server speaking the player's side of the HTTP API (docs/api.md, docs/player.md) with a real
 * MP3 (made by ffmpeg): info.json, Range-served versioned audio, timings, a
 * progressive stream, and listen events. The player's own code (the real bundle)
 * is served as /player.js. Used to test the widget in isolation; the service
 * suite (service.browser.test.ts) runs the same player against the real app.
 */
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg'
import { playerBundle } from '../../src/http/player/bundle.ts'
import { serve, type Served } from './harness.ts'

const run = promisify(execFile)

export interface FixtureArticle {
  id: string
  title: string
  paragraphs: string[]
  /** Seconds of audio per paragraph. */
  secondsPerParagraph: number
}

export interface FixtureService extends Served {
  /** Every request: method, path, status, request Range header. */
  log: { method: string; path: string; status: number; range?: string }[]
  events: { id: string; body: string }[]
  /** Make the not-yet-rendered article ready (info.json flips to status ready). */
  finishRender(id: string): void
  dir: string
}

/** A tone per paragraph, so the MP3 is a real, seekable file of known length. */
async function makeMp3(file: string, paragraphs: number, seconds: number): Promise<void> {
  const inputs: string[] = []
  for (let i = 0; i < paragraphs; i++) inputs.push('-f', 'lavfi', '-i', `sine=frequency=${300 + i * 60}:duration=${seconds}`)
  const concat = `${Array.from({ length: paragraphs }, (_, i) => `[${i}:a]`).join('')}concat=n=${paragraphs}:v=0:a=1[out]`
  await run(ffmpegInstaller.path, ['-y', '-loglevel', 'error', ...inputs, '-filter_complex', concat, '-map', '[out]', '-ac', '1', '-ar', '24000', '-b:a', '64k', file])
}

export async function startFixtureService(articles: FixtureArticle[], options: { renderingIds?: string[]; rerenderingIds?: string[] } = {}): Promise<FixtureService> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-player-'))
  const files = new Map<string, { mp3: Buffer; timings: unknown[]; durationMs: number }>()
  for (const a of articles) {
    const file = path.join(dir, `${a.id}.mp3`)
    await makeMp3(file, a.paragraphs.length, a.secondsPerParagraph)
    const ms = a.secondsPerParagraph * 1000
    // Title segment first (no blockIndex, 0 length is not allowed: give it 0..0.5 of the first tone), then one or two segments per block.
    const timings: unknown[] = []
    a.paragraphs.forEach((text, i) => {
      const start = i * ms
      timings.push({ id: `s${i}a`, kind: 'paragraph', sectionIndex: 0, blockIndex: i, startMs: start, endMs: start + ms / 2, text })
      timings.push({ id: `s${i}b`, kind: 'paragraph', sectionIndex: 0, blockIndex: i, startMs: start + ms / 2, endMs: start + ms, text })
    })
    files.set(a.id, { mp3: await fs.readFile(file), timings, durationMs: a.paragraphs.length * ms })
  }
  const rendering = new Set(options.renderingIds ?? [])
  // Edited articles: a new revision renders while the previous episode is still served.
  const rerendering = new Set(options.rerenderingIds ?? [])
  const bundle = playerBundle()
  const log: FixtureService['log'] = []
  const events: FixtureService['events'] = []
  const cors = { 'Access-Control-Allow-Origin': '*' }

  const served = await serve((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const p = url.pathname
    res.once('finish', () => log.push({ method: req.method ?? '', path: p, status: res.statusCode, range: req.headers.range }))
    const base = `http://${req.headers.host}`
    let m: RegExpExecArray | null
    if (p === '/player.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript', 'Content-Encoding': 'gzip', ...cors })
      return res.end(bundle.gzip)
    }
    if ((m = /^\/listen\/([^/]+)\/info\.json$/.exec(p))) {
      const id = decodeURIComponent(m[1]!)
      const f = files.get(id)
      if (!f) {
        res.writeHead(404, { 'Content-Type': 'application/json', ...cors })
        return res.end(JSON.stringify({ error: { code: 'ARTICLE_NOT_FOUND', message: 'nope' } }))
      }
      const ready = !rendering.has(id)
      const a = articles.find((x) => x.id === id)!
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache', ...cors })
      return res.end(
        JSON.stringify({
          id,
          externalId: null,
          title: a.title,
          language: 'en',
          status: ready && !rerendering.has(id) ? 'ready' : 'rendering',
          progress: ready ? 1 : 0.3,
          durationMs: ready ? f.durationMs : null,
          audioUrl: ready ? `${base}/audio/${id}/abc123.mp3` : null,
          streamUrl: `${base}/listen/${id}`,
          transcriptUrl: null,
          chaptersUrl: null,
          timingsUrl: ready ? `${base}/audio/${id}/abc123.timings.json` : null,
          embedUrl: `${base}/embed/${id}`,
          error: null,
        }),
      )
    }
    if ((m = /^\/audio\/([^/]+)\/abc123\.timings\.json$/.exec(p))) {
      const f = files.get(m[1]!)!
      res.writeHead(200, { 'Content-Type': 'application/json', ...cors })
      return res.end(JSON.stringify(f.timings))
    }
    if ((m = /^\/audio\/([^/]+)\/abc123\.mp3$/.exec(p))) {
      const buf = files.get(m[1]!)!.mp3
      const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
      const headers = { 'Content-Type': 'audio/mpeg', 'Accept-Ranges': 'bytes', ...cors }
      if (r) {
        const start = Number(r[1])
        const end = r[2] ? Math.min(Number(r[2]), buf.length - 1) : buf.length - 1
        if (start >= buf.length) {
          res.writeHead(416, { 'Content-Range': `bytes */${buf.length}` })
          return res.end()
        }
        res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${buf.length}`, 'Content-Length': end - start + 1 })
        return res.end(buf.subarray(start, end + 1))
      }
      res.writeHead(200, { ...headers, 'Content-Length': buf.length })
      return res.end(buf)
    }
    if ((m = /^\/listen\/([^/]+)$/.exec(p))) {
      const id = decodeURIComponent(m[1]!)
      const buf = files.get(id)!.mp3
      // Progressive: chunked, no length, a piece at a time, like a render in progress.
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'X-Briefcast-Progressive': '1', 'Cache-Control': 'no-store', ...cors })
      let off = 0
      const tick = setInterval(() => {
        if (res.destroyed) return clearInterval(tick)
        res.write(buf.subarray(off, off + 16_000))
        off += 16_000
        if (off >= buf.length) {
          clearInterval(tick)
          res.end()
        }
      }, 250)
      return
    }
    if ((m = /^\/listen\/([^/]+)\/events$/.exec(p)) && req.method === 'POST') {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        events.push({ id: decodeURIComponent(m![1]!), body })
        res.writeHead(204, cors)
        res.end()
      })
      return
    }
    res.writeHead(404)
    res.end()
  })
  return {
    ...served,
    log,
    events,
    dir,
    finishRender: (id) => rendering.delete(id),
    close: async () => {
      await served.close()
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}
