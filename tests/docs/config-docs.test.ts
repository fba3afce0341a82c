/** docs/configuration.md is generated from src/config.ts (bin/config-docs.ts): it must be current and complete. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONFIG_DOCS_PATH, configRows, renderConfigDocs } from '../../bin/config-docs.ts'
import { ENV_MAP } from '../../src/config.ts'

describe('docs/configuration.md', () => {
  it('is what `npm run docs:config` writes from the schema today', () => {
    expect(readFileSync(CONFIG_DOCS_PATH, 'utf8') === renderConfigDocs(), 'docs/configuration.md is stale: run `npm run docs:config`').toBe(true)
  })

  it('describes every setting and names every environment variable', () => {
    const rows = configRows()
    expect(rows.filter((r) => !r.description).map((r) => r.path), 'settings without a description (add one in bin/config-docs.ts or .describe() it)').toEqual([])
    const paths = new Set(rows.map((r) => r.path))
    expect(Object.entries(ENV_MAP).filter(([, p]) => !paths.has(p)), 'ENV_MAP entries naming no setting').toEqual([])
  })
})
