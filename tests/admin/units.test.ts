/** The small pure parts of the admin: sign-in limits over time, m:ss, which entries changed, which scripts use them, probes. */
import { describe, expect, it } from 'vitest'
import { isProbe } from '../../src/admin/downloads.ts'
import { changedEntries, scriptUses } from '../../src/admin/lexicons.ts'
import { hashPassword, verifyPassword } from '../../src/admin/secrets.ts'
import { formatDuration } from '../../src/http/admin/layout.ts'
import { LoginLimiter } from '../../src/http/auth.ts'
import type { Script } from '../../src/script/types.ts'

describe('LoginLimiter', () => {
  it('refuses after max failures in the window and allows again once the oldest failure has aged out', () => {
    const l = new LoginLimiter(3, 60_000)
    const keys = ['ip:1.2.3.4', 'user:anna']
    const t0 = 1_000_000
    for (let i = 0; i < 3; i++) {
      expect(() => l.check(keys, t0 + i * 1000)).not.toThrow()
      l.fail(keys, t0 + i * 1000)
    }
    expect(() => l.check(keys, t0 + 3000)).toThrow(/try again in 57 seconds/)
    expect(() => l.check(['user:ben'], t0 + 3000)).not.toThrow() // another user
    expect(() => l.check(keys, t0 + 60_001)).not.toThrow() // the first failure left the window
    // The address limit is five times the user limit (a newsroom shares one address).
    for (let i = 0; i < 14; i++) l.fail([`ip:5.6.7.8`, `user:u${i}`], t0)
    expect(() => l.check(['ip:5.6.7.8'], t0)).not.toThrow()
    l.fail(['ip:5.6.7.8'], t0)
    expect(() => l.check(['ip:5.6.7.8'], t0)).toThrow(/Too many/)
  })
})

describe('formatDuration', () => {
  it('is m:ss, and h:mm:ss from an hour', () => {
    expect(formatDuration(89_400)).toBe('1:29')
    expect(formatDuration(5_000)).toBe('0:05')
    expect(formatDuration(3_725_000)).toBe('1:02:05')
    expect(formatDuration(null)).toBe('')
  })
})

describe('lexicon changes', () => {
  const script: Script = {
    title: 't',
    language: 'en',
    sourceHash: 'x',
    segments: [
      { id: '1', kind: 'paragraph', text: 'The nvidia results came in.', pauseAfterMs: 0, sectionIndex: 0 },
      { id: '2', kind: 'paragraph', text: 'SQL is a language; sql is not shouted.', pauseAfterMs: 0, sectionIndex: 0 },
    ],
  }
  it('finds added, removed and changed entries only', () => {
    const before = [{ match: 'Nvidia', say: 'en-vidia' }, { match: 'GUI', say: 'gooey' }]
    const after = [{ match: 'Nvidia', say: 'en-vidia' }, { match: 'GUI', say: 'goo-ee' }, { match: 'Huawei', say: 'wah-way' }]
    expect(changedEntries(before, after).map((e) => e.match).sort()).toEqual(['GUI', 'GUI', 'Huawei'])
    expect(changedEntries(after, after)).toEqual([])
  })
  it('knows which scripts use a word, whole words and the case rule included', () => {
    expect(scriptUses(script, [{ match: 'Nvidia', say: 'x' }])).toBe(true) // case-insensitive by default
    expect(scriptUses(script, [{ match: 'NVIDIA', say: 'x', caseSensitive: true }])).toBe(false)
    expect(scriptUses(script, [{ match: 'SQL', say: 'sequel', caseSensitive: true }])).toBe(true)
    expect(scriptUses(script, [{ match: 'result', say: 'x' }])).toBe(false) // "results" is another word
    expect(scriptUses(script, [])).toBe(false)
  })
})

describe('downloads and passwords', () => {
  it('HEAD and two-byte range probes are not downloads; other ranges are', () => {
    expect(isProbe('HEAD', undefined)).toBe(true)
    expect(isProbe('GET', 'bytes=0-1')).toBe(true)
    expect(isProbe('GET', 'bytes=0-0')).toBe(true)
    expect(isProbe('GET', 'bytes=0-')).toBe(false)
    expect(isProbe('GET', 'bytes=100-200')).toBe(false)
    expect(isProbe('GET', undefined)).toBe(false)
  })
  it('scrypt hashes are salted and verify only the right password', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse battery'), hashPassword('correct horse battery')])
    expect(a).not.toBe(b)
    expect(await verifyPassword('correct horse battery', a)).toBe(true)
    expect(await verifyPassword('correct horse battery!', a)).toBe(false)
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false)
  })
})
