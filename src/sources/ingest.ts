/**
 * One way a story from a site becomes (or stops being) an article, shared by
 * polled sources and webhooks: create, update only when the content or its
 * metadata changed (an unchanged story costs no render), and delete. A story
 * deleted from briefcast leaves a tombstone (its source item without an
 * article) so a later poll does not bring it back.
 */
import { AppError, toAppError } from '../errors.ts'
import { deleteArticle } from '../http/routes/admin.ts'
import type { AppDeps } from '../http/deps.ts'
import { newArticleId, parseArticleFields, prepareArticle } from '../ingest/article.ts'
import { Scripter } from '../ingest/scripter.ts'
import type { ArticleRecord } from '../store/types.ts'
import { sha256 } from '../util/files.ts'
import type { SourceRecord, SourceRepository } from '../store/sources.ts'

export interface Story {
  externalId: string
  url: string | null
  title: string | null
  /** The story's text; when all are null the page at `url` is fetched and its article extracted. */
  html?: string | null
  markdown?: string | null
  text?: string | null
  publishedAt: string | null
  author: string | null
  language: string | null
}

export type UpsertAction = 'created' | 'updated' | 'unchanged' | 'tombstoned'

/**
 * The externalId of a feed item: its guid as it is when that is a short, safe
 * token; otherwise (a URL, say) a stable hash of it. The page URL stays in the
 * article's url, which the player looks stories up by.
 */
export function externalIdFor(key: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._:~@+-]{0,127}$/.test(key) ? key : `h-${sha256(key).slice(0, 24)}`
}

export class StoryIngest {
  readonly #deps: AppDeps
  readonly #repo: SourceRepository
  readonly #scripter = new Scripter()

  constructor(deps: AppDeps, repo: SourceRepository) {
    this.#deps = deps
    this.#repo = repo
  }

  /**
   * Create or update the article of a source's story. `fingerprint` identifies
   * the story's state in the source (unchanged fingerprint: nothing is read).
   * `revive`: a story this source had deleted may come back (an explicit webhook),
   * otherwise its tombstone holds.
   */
  async upsert(source: SourceRecord, itemKey: string, story: Story, fingerprint: string, options: { revive?: boolean; signal?: AbortSignal } = {}): Promise<{ action: UpsertAction; article?: ArticleRecord }> {
    const { store } = this.#deps
    const item = await this.#repo.item(source.id, itemKey)
    const existing = item?.articleId ? await store.articles.get(item.articleId) : undefined
    if (item && !existing && (item.state === 'live' || item.state === 'removed') && !options.revive) {
      await this.#repo.touchItem(source.id, itemKey)
      return { action: 'tombstoned' }
    }
    if (item && existing && item.state === 'live' && item.fingerprint === fingerprint) {
      await this.#repo.touchItem(source.id, itemKey)
      return { action: 'unchanged', article: existing }
    }
    const byExternal = existing ?? (await store.articles.getByExternalId(story.externalId))
    const fields = parseArticleFields({
      externalId: story.externalId,
      url: story.url,
      title: story.title,
      ...(story.html ? { html: story.html } : story.markdown ? { markdown: story.markdown } : story.text ? { text: story.text } : {}),
      publishedAt: story.publishedAt,
      author: story.author,
      language: story.language ?? source.options.language ?? null,
      voice: source.options.voice ?? null,
    })
    if (!story.html && !story.markdown && !story.text && !story.url) throw new AppError('EMPTY_INPUT', `Story "${story.externalId}" has neither text nor a URL to fetch.`)
    try {
      const prepared = await prepareArticle(fields, undefined, { config: this.#deps.config, speech: this.#deps.speech, scripter: this.#scripter, signal: options.signal })
      let action: UpsertAction
      let article: ArticleRecord
      if (byExternal) {
        const same =
          byExternal.contentHash === prepared.contentHash &&
          byExternal.title === prepared.title &&
          byExternal.url === prepared.url &&
          byExternal.publishedAt === prepared.publishedAt &&
          byExternal.profileId === prepared.profileId &&
          byExternal.author === prepared.author
        if (same) {
          action = 'unchanged'
          article = byExternal
        } else {
          // Only the segments whose text changed are synthesized again: clips and pieces are cached by content.
          article = await store.transaction(async (tx) => {
            const a = await tx.articles.update(byExternal.id, prepared)
            await this.#deps.renders.enqueue(a, tx)
            return a
          })
          action = 'updated'
        }
      } else {
        const id = newArticleId()
        article = await store.transaction(async (tx) => {
          const a = await tx.articles.insert({ id, ...prepared })
          await this.#deps.renders.enqueue(a, tx)
          return a
        })
        action = 'created'
      }
      await this.#repo.saveItem({ sourceId: source.id, itemKey, externalId: story.externalId, articleId: article.id, fingerprint, publishedAt: article.publishedAt, state: 'live', error: null })
      if (action !== 'unchanged') this.#deps.logger.info({ source: source.id, article: article.id, externalId: story.externalId, action }, 'story ingested')
      return { action, article }
    } catch (err) {
      const e = toAppError(err)
      // Recorded per item (GET /api/sources/:id/items); a failed item is tried again on the next poll that reads the feed.
      await this.#repo.saveItem({ sourceId: source.id, itemKey, externalId: story.externalId, articleId: byExternal?.id ?? null, fingerprint, publishedAt: story.publishedAt, state: 'failed', error: { code: e.code, message: e.message } })
      throw e
    }
  }

  /** Delete a story's article (unpublished or deleted at the source); its item stays as a tombstone. */
  async remove(source: SourceRecord, itemKey: string, externalId: string): Promise<boolean> {
    const { store } = this.#deps
    const item = await this.#repo.item(source.id, itemKey)
    const article = (item?.articleId ? await store.articles.get(item.articleId) : undefined) ?? (await store.articles.getByExternalId(externalId))
    await this.#repo.saveItem({ sourceId: source.id, itemKey, externalId, articleId: null, fingerprint: item?.fingerprint ?? '', publishedAt: item?.publishedAt ?? null, state: 'removed', error: null })
    if (!article) return false
    await deleteArticle(this.#deps, article)
    this.#deps.logger.info({ source: source.id, article: article.id, externalId }, 'story removed at its source')
    return true
  }
}
