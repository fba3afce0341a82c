/** `briefcast script`, run for real as a child process. */
import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Script } from '../../src/script/index.ts'

const root = path.join(import.meta.dirname, '..', '..')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'briefcast-cli-script-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function cli(args: string[], stdin?: string | Uint8Array): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'script', ...args], {
      cwd: root,
      env: { ...process.env, BRIEFCAST_VOICES_DIR: path.join(root, 'voices') },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin ?? '')
  })
}

describe('briefcast script', () => {
  it('prints a readable script for a file (text format by default)', async () => {
    const r = await cli([path.join(root, 'tests/fixtures/readability/bbc-1/source.html')])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe("# Obama admits US gun laws are his 'biggest frustration'")
    expect(r.stdout).toMatch(/^\[title 900ms\] Obama admits/m)
    expect(r.stdout).toMatch(/^\[paragraph \d+ms\] /m)
  })

  it('--explain shows the changes for speech and what was dropped, as text and JSON', async () => {
    const page = '<!doctype html><html><head><title>Bridge plan approved by the council | Riverside Courier</title></head><body><article><h1>Bridge plan approved by the council</h1>' +
      '<p>The council approved a $4.2m plan for a footbridge over the river on Tuesday evening after a long debate.</p><div class="ad-slot"><p>Advertisement</p></div>' +
      '<p>Work starts in 2025 and should take about eighteen months, officials said after the vote on Tuesday.</p></article></body></html>'
    const text = await cli(['-', '--explain', '--from', 'html'], page)
    expect(text.stderr).toBe('')
    expect(text.code).toBe(0)
    expect(text.stdout).toContain('"Advertisement"  (ad slot (class="ad-slot"))')
    expect(text.stdout).toMatch(/^ {4}\$4\.2m {2}-> {2}four point two million dollar$/m)
    expect(text.stdout).toMatch(/^ {4}2025 {2}-> {2}twenty twenty-five$/m)
    const json = await cli(['-', '--explain', '--format', 'json', '--from', 'html'], page)
    const e = JSON.parse(json.stdout) as { dropped: { text: string; reason: string }[]; segments: { changes: unknown[] }[] }
    expect(e.dropped).toContainEqual({ text: 'Advertisement', reason: 'ad slot (class="ad-slot")' })
    expect(e.segments.flatMap((s) => s.changes)).toContainEqual({ written: '$4.2m', spoken: 'four point two million dollar' })
  })

  it('reads stdin with "-" and prints JSON', async () => {
    const r = await cli(['-', '--format', 'json'], '# Storm warning\n\nWinds of 120 km/h are expected, up 15% on last year.\n')
    expect(r.code).toBe(0)
    const script = JSON.parse(r.stdout) as Script
    expect(script.title).toBe('Storm warning')
    expect(script.segments.map((s) => s.kind)).toEqual(['title', 'paragraph'])
    expect(script.segments[1]!.text).toContain('fifteen percent')
  })

  it('applies the lexicon for the article language from the voices directory', async () => {
    mkdirSync(path.join(tmp, 'lexicon'), { recursive: true })
    writeFileSync(path.join(tmp, 'lexicon', 'en.json'), JSON.stringify({ entries: [{ match: 'tram', say: 'streetcar' }] }))
    const input = 'Tram news\n\nThe tram line will reach the harbour next year, the council said.'
    const withLex = await cli(['-', '--format', 'json', '--voices', tmp], input)
    expect((JSON.parse(withLex.stdout) as Script).segments[1]!.text).toBe('The streetcar line will reach the harbour next year, the council said.')
    const without = await cli(['-', '--format', 'json', '--voices', tmp, '--lexicon', 'none'], input)
    expect((JSON.parse(without.stdout) as Script).segments[1]!.text).toContain('The tram line')
  })

  it('passes --language, --title and --max-bytes through', async () => {
    const r = await cli(['-', '--format', 'json', '--language', 'en-GB', '--title', 'Given', '--max-bytes', '40'], 'One sentence that is clearly longer than forty bytes of text, split it.')
    const script = JSON.parse(r.stdout) as Script
    expect(script.title).toBe('Given')
    expect(script.language).toBe('en-GB')
    for (const s of script.segments) expect(Buffer.byteLength(s.text)).toBeLessThanOrEqual(40)
  })

  it('reports user errors with their code and a hint, exit code 1', async () => {
    const missing = await cli([path.join(tmp, 'nope.html')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/NOT_FOUND: Cannot read .*nope\.html/)
    const binary = await cli(['-'], Uint8Array.from([0x48, 0, 1, 2, 3]))
    expect(binary.code).toBe(1)
    expect(binary.stderr).toContain('BINARY_INPUT')
    expect(binary.stderr).toContain('hint:')
    const empty = await cli(['-'], '')
    expect(empty.stderr).toContain('EMPTY_INPUT')
  })

  it('usage errors exit 2; --help exits 0', async () => {
    expect((await cli([])).code).toBe(2)
    expect((await cli(['a.html', '--format', 'yaml'])).code).toBe(2)
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('usage: briefcast script <input> [options]')
  })
})
