/** `briefcast briefing <files...> -o out.mp3` as a user runs it: a child process, real espeak-ng and ffmpeg. */
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseVtt } from '../../src/audio/transcript.ts'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../..')
const FIXTURES = path.join(ROOT, 'tests/fixtures/plain')
const stories = [1, 2, 3].map((n) => path.join(FIXTURES, `story-${n}.txt`))

let dir: string
const env = () => ({ ...process.env, BRIEFCAST_CACHE_DIR: path.join(dir, 'cache'), BRIEFCAST_DATA_DIR: path.join(dir, 'data'), BRIEFCAST_ESPEAK_WORKERS: '2' })

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'briefing', ...args], { cwd: ROOT, env: env(), timeout: 300_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

const firstLine = async (file: string) => (await fs.readFile(file, 'utf8')).trim().split('\n')[0]!.trim()

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'briefcast-briefing-cli-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

describe('briefcast briefing', () => {
  it('joins three stories into one episode with a chapter per story, a transcript and chapters file', async () => {
    const out = path.join(dir, 'daily.mp3')
    const r = await cli([...stories, '-o', out, '--mode', 'lede', '--lede-seconds', '20', '--date', '2026-11-26T06:00:00Z', '--show', 'Morning Brief', '-q'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const chapters = JSON.parse(await fs.readFile(path.join(dir, 'daily.chapters.json'), 'utf8')) as { chapters: { title: string; startTime: number }[] }
    // the opening, then one chapter per story
    expect(chapters.chapters).toHaveLength(4)
    expect(chapters.chapters[0]!.title).toBe('Morning Brief: Thursday, November 26')
    expect(chapters.chapters.slice(1).map((c) => c.title)).toEqual(await Promise.all(stories.map(firstLine)))
    expect(chapters.chapters[0]!.startTime).toBe(0)
    for (let i = 1; i < 4; i++) expect(chapters.chapters[i]!.startTime).toBeGreaterThan(chapters.chapters[i - 1]!.startTime)
    const cues = parseVtt(await fs.readFile(path.join(dir, 'daily.vtt'), 'utf8'))
    expect(cues[0]!.text).toBe('This is Morning Brief for Thursday, November 26.')
    expect(cues.some((c) => c.text === 'And finally.')).toBe(true)
    expect((await fs.stat(out)).size).toBeGreaterThan(10_000)
    // no temp files left beside the output
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([])
  }, 300_000)

  it('names the files it cannot use, or leaves them out with --allow-partial', async () => {
    const empty = path.join(dir, 'empty.txt')
    await fs.writeFile(empty, '')
    const out = path.join(dir, 'partial.mp3')
    const refused = await cli([stories[2]!, empty, '-o', out, '-q'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('BRIEFING_EMPTY')
    expect(refused.stderr).toContain('empty.txt: EMPTY_INPUT')
    await expect(fs.stat(out)).rejects.toThrow()

    const partial = await cli([stories[2]!, empty, '-o', out, '--allow-partial', '-q'])
    expect(partial.code).toBe(0)
    const chapters = JSON.parse(await fs.readFile(path.join(dir, 'partial.chapters.json'), 'utf8')) as { chapters: unknown[] }
    expect(chapters.chapters).toHaveLength(2) // opening + the one story

    const missing = await cli([path.join(dir, 'nope.txt'), '-o', out])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('NOT_FOUND')
    const usage = await cli([])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('usage: briefcast briefing')
  }, 300_000)
})
