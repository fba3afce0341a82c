/**
 * `briefcast users add|list|remove|reset-password`: dashboard accounts, for
 * the first admin on a server without a browser, or a locked-out newsroom.
 * Works on the service's database (BRIEFCAST_DATA_DIR/briefcast.db), also while it runs (SQLite WAL).
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { accounts, parseRole } from '../admin/accounts.ts'
import { generatePassword } from '../admin/secrets.ts'
import { loadConfig } from '../config.ts'
import { AppError } from '../errors.ts'
import { openStore } from '../store/sqlite.ts'

const HELP = `usage: briefcast users <action> [options]

  add NAME [--role admin|editor|viewer]   create a user (role defaults to editor)
  list [--json]                           users with their roles and last sign-in
  remove NAME                             delete a user and end their sessions
  reset-password NAME                     set a new password and end their sessions

A new password is generated and printed once, unless --password-stdin is given
(the password is then read from standard input; it is never a command-line
argument, where other users of the machine could read it).

options: --config FILE, --password-stdin, --role ROLE, --json`

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string', short: 'r' },
      'password-stdin': { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [action, name, ...extra] = positionals
  if (values.help || !action) {
    process.stdout.write(`${HELP}\n`)
    return values.help ? 0 : 2
  }
  if (extra.length > 0) throw new AppError('VALIDATION_FAILED', `Unexpected arguments: ${extra.join(' ')}.`)
  const config = loadConfig({ file: values.config })
  const store = openStore({ file: path.join(config.dataDir, 'briefcast.db') })
  const repo = accounts(store.db)
  const password = async () => (values['password-stdin'] ? await readStdin() : generatePassword())
  const needName = () => {
    if (!name) throw new AppError('VALIDATION_FAILED', `Name the user: briefcast users ${action} NAME.`)
    return name
  }
  try {
    switch (action) {
      case 'add': {
        const role = parseRole(values.role ?? 'editor', '--role')
        const pw = await password()
        const user = await repo.addUser(needName(), pw, role)
        process.stdout.write(`Added ${user.username} (${user.role}).\n${values['password-stdin'] ? '' : `password (shown once): ${pw}\n`}`)
        return 0
      }
      case 'list': {
        const users = repo.listUsers()
        if (values.json) process.stdout.write(JSON.stringify(users, null, 2) + '\n')
        else for (const u of users) process.stdout.write(`${u.username.padEnd(24)} ${u.role.padEnd(7)} last sign-in: ${u.lastLoginAt ?? 'never'}\n`)
        return 0
      }
      case 'remove': {
        repo.removeUser(needName())
        process.stdout.write(`Removed ${name}.\n`)
        return 0
      }
      case 'reset-password': {
        const pw = await password()
        await repo.setPassword(needName(), pw)
        process.stdout.write(`New password for ${name}${values['password-stdin'] ? ' set' : ` (shown once): ${pw}`}. Their sessions have ended.\n`)
        return 0
      }
      default:
        throw new AppError('VALIDATION_FAILED', `Unknown action "${action}": use add, list, remove or reset-password.`)
    }
  } finally {
    store.close()
  }
}
