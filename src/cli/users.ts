/**
 * `briefcast users add|list|remove|reset-password`: dashboard accounts, for
 * the first admin on a server without a browser, or a locked-out newsroom.
 * Works on the service's database (BRIEFCAST_DATABASE_URL, else BRIEFCAST_DATA_DIR/briefcast.db), also while it runs.
 * A new password is generated and printed once, unless --password-stdin is given: a password is never
 * a command-line argument, where other users of the machine could read it.
 */
import { parseRole, type Accounts } from '../admin/accounts.ts'
import { generatePassword } from '../admin/secrets.ts'
import { loadConfig } from '../config.ts'
import { openStore, storeOptions } from '../store/index.ts'
import { str, type ParsedArgs } from './spec.ts'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function withAccounts<T>(args: ParsedArgs, fn: (repo: Accounts) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: str(args, 'config') })
  const store = await openStore(storeOptions(config))
  try {
    return await fn(store.accounts)
  } finally {
    await store.close()
  }
}

const newPassword = async (args: ParsedArgs) => (args.values['password-stdin'] ? await readStdin() : generatePassword())

export async function add(args: ParsedArgs): Promise<number> {
  const role = parseRole(str(args, 'role') ?? 'editor', '--role')
  return withAccounts(args, async (repo) => {
    const pw = await newPassword(args)
    const user = await repo.addUser(args.positionals[0]!, pw, role)
    process.stdout.write(`Added ${user.username} (${user.role}).\n${args.values['password-stdin'] ? '' : `password (shown once): ${pw}\n`}`)
    return 0
  })
}

export async function list(args: ParsedArgs): Promise<number> {
  return withAccounts(args, async (repo) => {
    const users = await repo.listUsers()
    if (args.values.json) process.stdout.write(JSON.stringify(users, null, 2) + '\n')
    else for (const u of users) process.stdout.write(`${u.username.padEnd(24)} ${u.role.padEnd(7)} last sign-in: ${u.lastLoginAt ?? 'never'}\n`)
    return 0
  })
}

export async function remove(args: ParsedArgs): Promise<number> {
  return withAccounts(args, async (repo) => {
    await repo.removeUser(args.positionals[0]!)
    process.stdout.write(`Removed ${args.positionals[0]}.\n`)
    return 0
  })
}

export async function resetPassword(args: ParsedArgs): Promise<number> {
  return withAccounts(args, async (repo) => {
    const name = args.positionals[0]!
    const pw = await newPassword(args)
    await repo.setPassword(name, pw)
    process.stdout.write(`New password for ${name}${args.values['password-stdin'] ? ' set' : ` (shown once): ${pw}`}. Their sessions have ended.\n`)
    return 0
  })
}
