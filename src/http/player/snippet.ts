/** The HTML a site pastes to embed the player, as shown on the home page and returned by the admin API. */
import type { PublicUrls } from '../urls.ts'

export interface EmbedSnippets {
  /** Script tag + custom element (highlighting needs the page's article body selector; see docs/player.md). */
  script: string
  /** For sites that cannot run third-party script. */
  iframe: string
}

export function embedSnippets(urls: Pick<PublicUrls, 'playerScript' | 'embed'>, articleId: string): EmbedSnippets {
  const id = articleId.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  return {
    script: `<script src="${urls.playerScript()}" defer></script>\n<briefcast-player article="${id}"></briefcast-player>`,
    iframe: `<iframe src="${urls.embed(articleId)}" title="Listen to this article" width="100%" height="150" style="border:0;max-width:40rem" loading="lazy" allow="autoplay"></iframe>`,
  }
}
