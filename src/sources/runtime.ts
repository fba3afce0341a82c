/**
 * The sources of an app (one per deps): the repository, the story ingest, the
 * poller and the secret box; start() takes the config file's sources in and
 * starts polling, stop() ends polling (src/main.ts calls both).
 */
import { randomBytes } from 'node:crypto'
import type { SourceConfig } from '../config.ts'
import type { AppDeps } from '../http/deps.ts'
import { StoryIngest } from './ingest.ts'
import { SourcePoller } from './poller.ts'
import { secretBox, type SecretBox } from './secrets.ts'
import type { NewSource, SourceKind, SourceRepository } from '../store/sources.ts'
import type { Repositories } from '../store/types.ts'

export interface SourcesRuntime {
  repo: SourceRepository
  ingest: StoryIngest
  poller: SourcePoller
  secrets: SecretBox
  start(): Promise<void>
  stop(): Promise<void>
}

const runtimes = new WeakMap<AppDeps, SourcesRuntime>()

export function sourcesRuntime(deps: AppDeps): SourcesRuntime {
  let rt = runtimes.get(deps)
  if (rt) return rt
  const repo = deps.store.sources
  const ingest = new StoryIngest(deps, repo)
  const poller = new SourcePoller(deps, repo, ingest)
  const secrets = secretBox(deps.config.dataDir)
  rt = {
    repo,
    ingest,
    poller,
    secrets,
    async start() {
      await syncConfigSources(deps, secrets)
      poller.start()
    },
    stop: () => poller.stop(),
  }
  runtimes.set(deps, rt)
  return rt
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** A feed or sitemap by its URL (kind "sitemap" when the URL says so; the parser tells them apart either way). */
export function kindFor(s: Pick<SourceConfig, 'kind' | 'url'>): SourceKind {
  if (s.kind) return s.kind
  if (!s.url) return 'webhook'
  return /sitemap[^/]*\.xml/i.test(new URL(s.url).pathname) ? 'sitemap' : 'feed'
}

export function sourceFromConfig(s: SourceConfig, origin: 'api' | 'config', defaults: { intervalSeconds: number }, secretSealed: string | null): NewSource {
  return {
    id: s.id,
    kind: kindFor(s),
    url: s.url ?? null,
    origin,
    options: {
      ...(s.voice ? { voice: s.voice } : {}),
      ...(s.language ? { language: s.language } : {}),
      ...(s.storyMode ? { storyMode: s.storyMode } : {}),
      ...(s.include ? { include: s.include } : {}),
      ...(s.exclude ? { exclude: s.exclude } : {}),
    },
    intervalSeconds: s.intervalSeconds ?? defaults.intervalSeconds,
    enabled: s.enabled ?? true,
    secretSealed,
  }
}

/** "https://news.example.com/feed/" -> "news-example-com-feed". */
export function idForUrl(url: string): string {
  const u = new URL(url)
  const slug = `${u.hostname}${u.pathname}`
    .toLowerCase()
    .replace(/\.(xml|rss|atom|json)$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return (slug || 'source').slice(0, 63).replace(/-+$/, '')
}

/** The config file's sources (and BRIEFCAST_SOURCE_URLS) into the table; config sources no longer configured are disabled. */
async function syncConfigSources(deps: AppDeps, secrets: SecretBox): Promise<void> {
  const { config } = deps
  const wanted: SourceConfig[] = [...config.sources.list, ...config.sources.urls.filter((u) => !config.sources.list.some((s) => s.url === u)).map((url) => ({ id: idForUrl(url), url }))]
  const ids = new Set<string>()
  await deps.store.transaction(async (tx: Repositories) => {
    const repo = tx.sources
    for (const s of wanted) {
      if (ids.has(s.id)) continue
      ids.add(s.id)
      const existing = await repo.get(s.id)
      const sealed = s.secret ? secrets.seal(s.secret) : (existing?.secretSealed ?? null)
      const next = sourceFromConfig(s, 'config', config.sources, sealed)
      if (existing) await repo.update(s.id, next)
      else await repo.insert(next)
    }
    for (const s of await repo.list()) if (s.origin === 'config' && !ids.has(s.id) && s.enabled) await repo.update(s.id, { ...s, enabled: false })
  })
  if (wanted.length > 0) deps.logger.info({ sources: [...ids] }, 'sources from the configuration')
}
