/** BRIEFCAST_STORAGE_URL / BRIEFCAST_STORAGE_PUBLIC_URL: parsed once; a bad value is one CONFIG_INVALID naming the setting. */
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { parseStorageUrl } from '../../src/storage/url.ts'

const load = (env: Record<string, string>) => loadConfig({ env, file: undefined, cwd: '/tmp' })

describe('storage settings', () => {
  it('unset: files stay in the cache directory', () => {
    const c = load({})
    expect(c.storage.url).toBeUndefined()
    expect(c.storage.publicUrl).toBeUndefined()
  })

  it('parses bucket, prefix, endpoint, region and path style', () => {
    expect(parseStorageUrl('s3://audio-bucket/site/one?endpoint=http://minio.internal:9000/&region=eu-central-1&forcePathStyle=true')).toEqual({
      bucket: 'audio-bucket',
      prefix: 'site/one',
      endpoint: 'http://minio.internal:9000',
      region: 'eu-central-1',
      forcePathStyle: true,
    })
    expect(parseStorageUrl('s3://audio.bucket')).toEqual({ bucket: 'audio.bucket', prefix: '', forcePathStyle: false })
    const c = load({ BRIEFCAST_STORAGE_URL: 's3://b-1/p', BRIEFCAST_STORAGE_PUBLIC_URL: 'https://cdn.example.com/audio/' })
    expect(c.storage.url).toBe('s3://b-1/p')
    expect(c.storage.publicUrl).toBe('https://cdn.example.com/audio')
  })

  it.each([
    ['not a url', /BRIEFCAST_STORAGE_URL\): is not a URL/],
    ['https://bucket/prefix', /BRIEFCAST_STORAGE_URL\): must start with s3:\/\//],
    ['s3://Bad_Bucket/x', /BRIEFCAST_STORAGE_URL\): "bad_bucket" is not a valid bucket name|BRIEFCAST_STORAGE_URL\): "Bad_Bucket" is not a valid bucket name/],
    ['s3://AKIA:secret@bucket/x', /BRIEFCAST_STORAGE_URL\): must not contain credentials; set AWS_ACCESS_KEY_ID/],
    ['s3://bucket/x?endpoint=ftp://host', /BRIEFCAST_STORAGE_URL\): endpoint "ftp:\/\/host" must be an http/],
    ['s3://bucket/x?endpont=http://host', /BRIEFCAST_STORAGE_URL\): has an unknown parameter "endpont"/],
    ['s3://bucket/x?forcePathStyle=maybe', /forcePathStyle must be true or false/],
    ['s3://bucket/a//b', /must not contain empty, "." or ".." parts/],
  ])('rejects BRIEFCAST_STORAGE_URL=%s', (url, message) => {
    expect(() => load({ BRIEFCAST_STORAGE_URL: url })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }))
  })

  it('rejects a bad public URL, and a public URL without object storage', () => {
    expect(() => load({ BRIEFCAST_STORAGE_URL: 's3://bucket', BRIEFCAST_STORAGE_PUBLIC_URL: 'cdn.example.com' })).toThrow(/BRIEFCAST_STORAGE_PUBLIC_URL\): is not a URL/)
    expect(() => load({ BRIEFCAST_STORAGE_URL: 's3://bucket', BRIEFCAST_STORAGE_PUBLIC_URL: 'https://cdn.example.com/?v=1' })).toThrow(/must not have a \?query/)
    expect(() => load({ BRIEFCAST_STORAGE_PUBLIC_URL: 'https://cdn.example.com' })).toThrow(/BRIEFCAST_STORAGE_PUBLIC_URL\): only works with object storage; set BRIEFCAST_STORAGE_URL/)
  })
})
