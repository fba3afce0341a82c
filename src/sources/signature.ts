/**
 * Webhook signatures (docs/publishing.md):
 *   Briefcast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 * Several v1= entries may be sent (while a secret is being rotated); one must match.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export function signPayload(secret: string, timestamp: number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')
}

export function signatureHeader(secret: string, body: Buffer | string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${signPayload(secret, timestamp, body)}`
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string }

export function verifySignature(header: string | undefined, secret: string, body: Buffer, toleranceSeconds: number, nowMs = Date.now()): SignatureCheck {
  if (!header) return { ok: false, reason: 'The Briefcast-Signature header is missing.' }
  let t: number | undefined
  const sigs: string[] = []
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2)
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v)
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/i.test(v)) sigs.push(v.toLowerCase())
  }
  if (t === undefined || sigs.length === 0) return { ok: false, reason: 'The Briefcast-Signature header must read "t=<unix seconds>,v1=<64 hex digits>".' }
  const age = Math.abs(nowMs / 1000 - t)
  if (age > toleranceSeconds) return { ok: false, reason: `The signature's timestamp is ${Math.round(age)} s away from the server's clock; the limit is ${toleranceSeconds} s (sign each delivery, retries too, with the current time).` }
  const expected = Buffer.from(signPayload(secret, t, body), 'hex')
  const match = sigs.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected))
  return match ? { ok: true, timestamp: t } : { ok: false, reason: 'The signature does not match the body and the source secret.' }
}
