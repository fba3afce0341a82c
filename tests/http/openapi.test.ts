/**
 * GET /openapi.json against the routes the Express app really registers:
 * every route (path and method) is documented, and every documented
 * operation is served. A route added without its OpenAPI entry fails here,
 * named; src/http/openapi.ts is where it goes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import { OPENAPI } from '../../src/http/openapi.ts'
import { startTestService, type TestService } from './helpers.ts'

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> }
  handle?: { stack?: Layer[] }
  rawPath?: string | string[]
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch']

/** "METHOD /path/{param}" for every route in an Express 5 router stack, mounted routers included. */
function registeredRoutes(stack: Layer[], prefix = ''): string[] {
  const out: string[] = []
  for (const layer of stack) {
    if (layer.route) {
      for (const p of [layer.route.path].flat()) {
        for (const m of Object.keys(layer.route.methods).filter((k) => layer.route!.methods[k])) out.push(`${m.toUpperCase()} ${openapiPath(prefix + p)}`)
      }
    } else if (layer.handle?.stack) {
      const mount = [layer.rawPath ?? '/'].flat()[0]!
      out.push(...registeredRoutes(layer.handle.stack, prefix + (mount === '/' ? '' : mount)))
    }
  }
  return out
}

const openapiPath = (p: string) => (p.replace(/:(\w+)/g, '{$1}').replace(/(.)\/+$/, '$1') || '/')

function documentedRoutes(): string[] {
  return Object.entries(OPENAPI.paths).flatMap(([p, ops]) => Object.keys(ops).filter((k) => METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${p}`))
}

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
})
afterAll(async () => {
  await svc?.stop()
})

describe('OpenAPI document', () => {
  it('documents every registered route, and only those', () => {
    const app = createApp(svc.deps) as unknown as { router: { stack: Layer[] } }
    const registered = new Set(registeredRoutes(app.router.stack))
    const documented = new Set(documentedRoutes())
    expect(registered.size).toBeGreaterThan(30)
    expect([...registered].filter((r) => !documented.has(r)), 'routes missing from src/http/openapi.ts').toEqual([])
    expect([...documented].filter((r) => !registered.has(r)), 'documented in src/http/openapi.ts but not served').toEqual([])
  })

  it('declares every path parameter and resolves every $ref', () => {
    const doc = JSON.stringify(OPENAPI)
    for (const [, name] of doc.matchAll(/"#\/components\/schemas\/(\w+)"/g)) expect(OPENAPI.components.schemas, `$ref ${name}`).toHaveProperty(name!)
    for (const [p, ops] of Object.entries(OPENAPI.paths)) {
      const names = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
      for (const [method, op] of Object.entries(ops)) {
        if (method === 'options') continue
        const declared = ((op as { parameters?: { name: string; in: string }[] }).parameters ?? []).filter((x) => x.in === 'path').map((x) => x.name)
        expect(declared.sort(), `${method.toUpperCase()} ${p} path parameters`).toEqual(names.sort())
      }
    }
  })

  it('is served at /openapi.json with this service as its server', async () => {
    const r = await fetch(svc.url + '/openapi.json')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await r.json()) as { openapi: string; servers: { url: string }[]; paths: Record<string, unknown> }
    expect(body.openapi).toBe('3.1.0')
    expect(body.servers).toEqual([{ url: svc.url }])
    expect(Object.keys(body.paths)).toEqual(Object.keys(OPENAPI.paths))
  })
})
