/**
 * The unit tier (`npx vitest run --project unit`) must stay fast and
 * in-process: a unit-tier file that starts the HTTP service, the render
 * child or the CLI as a process, runs ffmpeg, espeak-ng or a whole render,
 * or talks to a server (Redis, an S3 server), belongs in SERVICE_TESTS
 * (vitest.config.ts).
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { BROWSER_TESTS, SERVICE_TESTS } from '../vitest.config.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const testFiles = (): string[] =>
  (readdirSync(path.join(ROOT, 'tests'), { recursive: true }) as string[]).map((f) => path.join('tests', f).split(path.sep).join('/')).filter((f) => f.endsWith('.test.ts'))

const STARTS_A_PROCESS = [
  /\bstartTestService\(/,
  /\bstartService\(/,
  /'src\/cli\.ts'/,
  /bin\/briefcast\.js/,
  /\bnew RenderProcess\(/,
  /'src\/main\.ts'/,
  /\bspawnService\(/,
  // servers outside the process: Redis (tests/fleet/redis-env.ts) and an S3 server (tests/storage/s3rver.ts)
  /from '\.\/redis-env\.ts'|from '\.\.\/fleet\/redis-env\.ts'/,
  /from '\.\/s3rver\.ts'|from '\.\.\/storage\/s3rver\.ts'/,
  // the real engines end to end: ffmpeg processes, espeak-ng workers, whole renders
  /\bcreateFfmpeg\(/,
  /\bcreateSpeechService\(/,
  /\bcreateEspeakEngine\(/,
  /\brenderEpisode\(/,
  /espeak-wasm\.mjs/,
]

describe('test tiers', () => {
  it('no unit-tier test starts the service, the render child or the CLI', () => {
    expect(BROWSER_TESTS).toEqual(['tests/**/*.browser.test.ts'])
    const unit = testFiles().filter((f) => !SERVICE_TESTS.includes(f) && !f.endsWith('.browser.test.ts'))
    expect(unit.length).toBeGreaterThan(10)
    const misplaced = unit.filter((f) => STARTS_A_PROCESS.some((re) => re.test(readFileSync(path.join(ROOT, f), 'utf8'))))
    expect(misplaced, 'these start a service or process: list them in SERVICE_TESTS in vitest.config.ts').toEqual([])
  })

  it('every listed service test exists', () => {
    const all = testFiles()
    expect(SERVICE_TESTS.filter((f) => !all.includes(f))).toEqual([])
  })
})
