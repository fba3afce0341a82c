/**
 * s3rver (an in-process S3 server) on 127.0.0.1, port 0, with a fresh data
 * directory and bucket per run. It speaks the S3 API (ranges, multipart,
 * HeadBucket) but does not check signatures: any credentials do.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import S3rver from 's3rver'

export interface TestS3 {
  endpoint: string
  bucket: string
  dir: string
  /** s3://bucket/prefix?endpoint=...&forcePathStyle=true */
  url(prefix?: string): string
  close(): Promise<void>
}

export async function startS3(): Promise<TestS3> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-s3-'))
  const bucket = `test-${randomBytes(4).toString('hex')}`
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] })
  const addr = (await server.run()) as { port: number }
  const endpoint = `http://127.0.0.1:${addr.port}`
  // The SDK's default credential chain reads these (here and in child processes); s3rver accepts any.
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER'
  return {
    endpoint,
    bucket,
    dir,
    url: (prefix = '') => `s3://${bucket}${prefix ? `/${prefix}` : ''}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true`,
    async close() {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
