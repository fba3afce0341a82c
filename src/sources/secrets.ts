/**
 * Webhook secrets at rest. HMAC verification needs the secret itself, so it
 * cannot be stored as a hash: it is sealed with AES-256-GCM under a key kept
 * outside the database (data/source-secret-key, mode 0600, made on first use).
 * A copied database or backup alone does not reveal any secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import path from 'node:path'
import { AppError } from '../errors.ts'

export interface SecretBox {
  seal(secret: string): string
  open(sealed: string): string
}

export function secretBox(dataDir: string): SecretBox {
  const file = path.join(dataDir, 'source-secret-key')
  let key: Buffer
  try {
    key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AppError('CONFIG_INVALID', `Cannot read ${file}: ${(err as Error).message}`)
    key = randomBytes(32)
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
    chmodSync(file, 0o600)
  }
  if (key.length !== 32) throw new AppError('CONFIG_INVALID', `${file} must hold a base64 key of 32 bytes; delete it to make a new one (webhook secrets must then be set again).`)
  return {
    seal(secret) {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([c.update(secret, 'utf8'), c.final()])
      return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), body.toString('base64url')].join('.')
    },
    open(sealed) {
      const [v, iv, tag, body] = sealed.split('.')
      if (v !== 'v1' || !iv || !tag || body === undefined) throw new AppError('CONFIG_INVALID', 'A stored webhook secret is unreadable; set the source secret again.')
      try {
        const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
        d.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8')
      } catch (err) {
        throw new AppError('CONFIG_INVALID', `A stored webhook secret cannot be opened with ${file} (was the key replaced?); set the source secret again.`, { cause: err })
      }
    },
  }
}
