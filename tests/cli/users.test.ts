/** `briefcast users ...` as a real child process on a real database. */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { openStore } from '../../src/store/index.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-users-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The users table as stored (read-only): only hashes of passwords. */
function peekUsers(file: string): unknown[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare('SELECT * FROM users').all()
  } finally {
    db.close()
  }
}

function cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'users', ...args], { cwd: ROOT, env: { ...process.env, BRIEFCAST_DATA_DIR: dir, BRIEFCAST_CLI: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
    child.stdin!.end(stdin ?? '')
  })
}

describe('briefcast users', () => {
  it('adds, lists, resets and removes users; passwords are printed once or read from stdin, stored hashed', async () => {
    const add = await cli(['add', 'anna', '--role', 'admin'])
    expect(add.code).toBe(0)
    const pw = /password \(shown once\): (\S+)/.exec(add.stdout)?.[1]
    expect(pw).toMatch(/^[A-Za-z0-9]{20}$/)
    const piped = await cli(['add', 'ben', '--password-stdin'], 'a long enough secret\n')
    expect(piped.code).toBe(0)
    expect(piped.stdout).not.toContain('a long enough secret')
    const list = await cli(['list', '--json'])
    expect((JSON.parse(list.stdout) as { username: string; role: string }[]).map((u) => [u.username, u.role])).toEqual([
      ['anna', 'admin'],
      ['ben', 'editor'],
    ])
    const store = await openStore({ file: path.join(dir, 'briefcast.db') })
    try {
      const repo = store.accounts
      expect(await repo.verifyLogin('anna', pw!)).toBeDefined()
      expect(await repo.verifyLogin('ben', 'a long enough secret')).toBeDefined()
      expect(JSON.stringify(peekUsers(path.join(dir, 'briefcast.db')))).not.toContain(pw)
      const reset = await cli(['reset-password', 'anna'])
      const pw2 = /\(shown once\): (\S+)\./.exec(reset.stdout)?.[1]
      expect(pw2).toMatch(/^[A-Za-z0-9]{20}$/)
      expect(await repo.verifyLogin('anna', pw!)).toBeUndefined()
      expect(await repo.verifyLogin('anna', pw2!)).toBeDefined()
    } finally {
      await store.close()
    }
    const last = await cli(['remove', 'anna'])
    expect(last.code).toBe(1)
    expect(last.stderr).toMatch(/CONFLICT: "anna" is the last admin/)
    expect((await cli(['remove', 'ben'])).code).toBe(0)
    const bad = await cli(['add', 'x!', '--role', 'editor'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/VALIDATION_FAILED: username must be/)
    expect((await cli(['add', 'carl', '--role', 'boss'])).stderr).toMatch(/--role must be one of admin, editor, viewer/)
  }, 60_000)
})
