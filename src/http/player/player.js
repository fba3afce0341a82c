/*!
 * briefcast player: <briefcast-player article="ID"></briefcast-player>, or
 * <briefcast-player></briefcast-player> to find the story by the page's canonical URL
 * Plain browser JavaScript, no framework, no third-party requests. The server
 * minifies it at start-up (esbuild) and serves it gzipped; budget 15 KB gzip.
 *
 * Everything that runs on the host page is wrapped (guard): a failing player
 * shows a short message and never throws into the site's own scripts.
 */
;(() => {
  'use strict'
  const TAG = 'briefcast-player'
  // Loaded twice (two snippets on one page), or a browser without custom elements: do nothing.
  if (typeof window === 'undefined' || !window.customElements || customElements.get(TAG)) return

  // The service's origin is the origin this script was loaded from: info.json, audio and
  // listen counts all live there. currentScript is only set while the script first runs.
  let ORIGIN = location.origin
  try {
    // currentScript is null for module or bundled copies: then look for our tag.
    const s = document.currentScript || document.querySelector('script[src$="/player.js"],script[src*="/player/"]')
    if (s && s.src) ORIGIN = new URL(s.src, location.href).origin
  } catch {}

  const RATES = [0.75, 1, 1.25, 1.5, 1.75, 2]
  const RATE_KEY = 'briefcast:rate'
  // Host-page elements that can be a "block" for blockIndex (see docs/player.md).
  const BLOCKS = 'p,h1,h2,h3,h4,h5,h6,li,blockquote,dt,dd'
  const SKIP = 15
  const READING = 'data-briefcast-reading'
  const QUARTILES = [25, 50, 75, 100]

  const warn = (err) => {
    try {
      console.warn('[briefcast]', err)
    } catch {}
  }
  const guard =
    (fn) =>
    (...args) => {
      try {
        return fn(...args)
      } catch (err) {
        warn(err)
      }
    }

  const fmt = (s) => {
    if (!isFinite(s) || s < 0) s = 0
    s = Math.floor(s)
    const h = Math.floor(s / 3600)
    const m = Math.floor((s % 3600) / 60)
    const sec = String(s % 60).padStart(2, '0')
    return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
  }
  const spoken = (s) => {
    s = Math.max(0, Math.floor(s || 0))
    const m = Math.floor(s / 60)
    const r = s % 60
    return (m ? `${m} minute${m === 1 ? '' : 's'} ` : '') + `${r} second${r === 1 ? '' : 's'}`
  }
  // Lengths read as m:ss everywhere in briefcast ("1:29", not "1 min"); h:mm:ss from an hour.
  const minutes = (ms) => {
    const t = Math.max(1, Math.round((ms || 0) / 1000))
    const h = Math.floor(t / 3600)
    const m = Math.floor((t % 3600) / 60)
    const s = String(t % 60).padStart(2, '0')
    return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
  }

  const loadRate = () => {
    try {
      const r = Number(localStorage.getItem(RATE_KEY))
      if (RATES.includes(r)) return r
    } catch {}
    return 1
  }
  const saveRate = (r) => {
    try {
      localStorage.setItem(RATE_KEY, String(r))
    } catch {}
  }
  const reducedMotion = () => {
    try {
      return matchMedia('(prefers-reduced-motion: reduce)').matches
    } catch {
      return false
    }
  }

  // The page's canonical URL (<link rel="canonical">), else its address without the fragment.
  const pageUrl = () => {
    const link = document.querySelector('link[rel~="canonical"][href]')
    return (link && link.href) || location.href.split('#')[0]
  }

  // Fetch JSON without cookies; a status error carries .status so 404 reads "unknown article".
  const getJson = async (url) => {
    const ctl = new AbortController()
    const timer = setTimeout(() => ctl.abort(), 15000)
    try {
      const res = await fetch(url, { credentials: 'omit', cache: 'no-cache', signal: ctl.signal })
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status })
      return await res.json()
    } finally {
      clearTimeout(timer)
    }
  }
  const errorText = (err) => {
    if (err && (err.status === 404 || err.status === 410)) return 'Audio isn’t available for this article.'
    if (typeof navigator !== 'undefined' && navigator.onLine === false) return 'You’re offline, so audio can’t load.'
    return 'Audio is unavailable right now.'
  }

  // Timings may come as SegmentTiming[] or as { segmentId: {startMs, endMs, blockIndex} }.
  const normTimings = (raw) => {
    let list = Array.isArray(raw) ? raw : raw && (raw.timings || raw.segments)
    if (!Array.isArray(list) && raw && typeof raw === 'object') list = Object.keys(raw).map((id) => ({ id, ...raw[id] }))
    if (!Array.isArray(list)) return []
    return list
      .filter((t) => t && isFinite(t.startMs) && isFinite(t.endMs))
      .map((t) => ({ s: t.startMs / 1000, e: t.endMs / 1000, b: Number.isInteger(t.blockIndex) ? t.blockIndex : null, w: t.text }))
      .sort((a, b) => a.s - b.s)
  }

  // Lower-case words without accents, to match spoken segments with the page's blocks.
  const words = (s) =>
    String(s || '')
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .match(/[\p{L}\p{N}]+/gu) || []

  const svg = (d, extra = '') => `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="${d}"/>${extra}</svg>`
  const I_PLAY = 'M8 5v14l11-7z'
  const I_PAUSE = 'M6 5h4v14H6zm8 0h4v14h-4z'
  // A 3/4 ring with an arrow head, and the number of seconds inside it (mirrored for forward).
  const I_BACK = 'M12 5V1L7 6l5 5V7a6 6 0 1 1-6 6H4a8 8 0 1 0 8-8z'
  const skipIcon = svg(I_BACK, `<text x="12" y="15.6" font-size="7" font-weight="700" text-anchor="middle">${SKIP}</text>`)
  const I_PREV = 'M6 6h2v12H6zm3.5 6 8.5 6V6z'
  const I_NEXT = 'M6 18l8.5-6L6 6zM16 6v12h2V6z'

  const STYLE = `
:host{display:block;max-width:40rem;margin:1em 0;--a:#1a5fb4;--oa:#fff;--bg:#fff;--fg:#1d1d1d;--mu:#595959;--tr:#c8c8c8;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);color-scheme:light}
:host([hidden]){display:none}
@media (prefers-color-scheme:dark){:host(:not([theme=light])){--a:#8cb8f0;--oa:#0b0b0b;--bg:#1f1f1f;--fg:#ececec;--mu:#b9b9b9;--tr:#4a4a4a;color-scheme:dark}}
:host([theme=dark]){--a:#8cb8f0;--oa:#0b0b0b;--bg:#1f1f1f;--fg:#ececec;--mu:#b9b9b9;--tr:#4a4a4a;color-scheme:dark}
*{box-sizing:border-box}
button{font:inherit;color:inherit;background:none;border:0;margin:0;cursor:pointer;display:inline-flex;align-items:center;justify-content:center;gap:6px;border-radius:999px;-webkit-tap-highlight-color:transparent}
button:disabled{opacity:.45;cursor:default}
button:focus-visible,input:focus-visible{outline:3px solid var(--a);outline-offset:2px}
svg{width:22px;height:22px;fill:currentColor;flex:none}
.listen{background:var(--a);color:var(--oa);font-weight:600;padding:9px 18px 9px 12px;min-height:44px}
.listen .d{font-weight:400;opacity:.9}
.box{background:var(--bg);border:1px solid var(--tr);border-radius:14px;padding:8px 12px 10px}
.row{display:flex;align-items:center;gap:4px;flex-wrap:wrap}
.ib{width:44px;height:44px}
.ib:not(.pp):hover:not(:disabled),.sp:hover{background:color-mix(in srgb,var(--fg) 9%,transparent)}
.pp{background:var(--a);color:var(--oa);width:48px;height:48px}
.pp:hover{filter:brightness(1.1)}
.pp svg{width:28px;height:28px}
.bk svg,.fw svg{width:26px;height:26px}
.fw path{transform:scaleX(-1);transform-origin:center}
.sp{min-width:52px;height:36px;padding:0 8px;border:1px solid var(--tr);font-weight:600;font-variant-numeric:tabular-nums;margin-left:auto}
.tl{display:flex;align-items:center;gap:10px;font-size:13px;color:var(--mu);font-variant-numeric:tabular-nums}
.tl input{flex:1;min-width:0;height:24px;margin:0;accent-color:var(--a);cursor:pointer}
.tl input:disabled{cursor:default}
.ti{font-size:13px;font-weight:600;margin:2px 4px 4px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.note{margin:4px 0 0;font-size:13px;color:var(--mu);min-height:0}
.note:empty{display:none}
.note.busy::before{content:"";display:inline-block;width:8px;height:8px;margin-right:6px;border-radius:50%;background:var(--a);animation:p 1.2s ease-in-out infinite}
.msg{display:flex;align-items:center;gap:10px;font-size:14px;color:var(--mu);flex-wrap:wrap}
.msg button{border:1px solid var(--tr);padding:4px 12px;min-height:32px}
@keyframes p{50%{opacity:.25}}
.w{container-type:inline-size}
.row{flex-wrap:nowrap}
@container (max-width:330px){.row{gap:0}.ib{width:36px}.pp{width:44px;height:44px}.sp{min-width:44px;padding:0 4px}}
@media (prefers-reduced-motion:reduce){*,::before{animation:none!important;transition:none!important}}
`

  // Constructed stylesheets are not "inline styles" for a page's Content-Security-Policy, so a
  // site with a strict style-src still gets a styled player; <style> is the fallback.
  const sheetOf = (css) => {
    try {
      const sh = new CSSStyleSheet()
      sh.replaceSync(css)
      return sh
    } catch {
      return null
    }
  }
  let shadowSheet

  let docStyled = false
  // The reading highlight lives in the host page (the paragraphs are the site's own), so it
  // needs one small stylesheet there; sites override it with --briefcast-highlight.
  const styleDocument = () => {
    if (docStyled || document.getElementById('briefcast-style')) return
    docStyled = true
    const css = `[${READING}]{background:var(--briefcast-highlight,rgba(255,204,0,.28));box-shadow:0 0 0 .2em var(--briefcast-highlight,rgba(255,204,0,.28));border-radius:2px}`
    const sh = sheetOf(css)
    if (sh && document.adoptedStyleSheets) {
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sh]
      return
    }
    const st = document.createElement('style')
    st.id = 'briefcast-style'
    st.textContent = css
    ;(document.head || document.documentElement).appendChild(st)
  }

  // Relative luminance (WCAG) of a CSS colour, to pick readable text on the site's colour.
  const luminance = (el, value) => {
    el.style.color = ''
    el.style.color = value
    const m = getComputedStyle(el).color.match(/[\d.]+/g)
    el.style.color = ''
    if (!m) return null
    const [r, g, b] = m.slice(0, 3).map((v) => {
      v = Number(v) / 255
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }

  class BriefcastPlayer extends HTMLElement {
    static get observedAttributes() {
      // highlight is read when the timings arrive: changing it must not stop a listen in progress.
      return ['article', 'color']
    }

    constructor() {
      super()
      this._sr = this.attachShadow({ mode: 'open' })
      this._gen = 0
      this._offs = []
    }

    connectedCallback() {
      guard(() => this._init())()
    }

    disconnectedCallback() {
      guard(() => this._teardown())()
    }

    attributeChangedCallback(name, old, value) {
      if (old === value || !this.isConnected || !this._gen) return
      guard(() => {
        if (name === 'color') this._color()
        else {
          this._teardown()
          this._init()
        }
      })()
    }

    // Listener bookkeeping: everything added here is removed on teardown, so a player
    // removed from the page mid-episode leaves nothing behind.
    _on(target, type, fn, opts) {
      const g = guard(fn)
      target.addEventListener(type, g, opts)
      this._offs.push(() => target.removeEventListener(type, g, opts))
    }

    _q(sel) {
      return this._sr.querySelector(sel)
    }

    _teardown() {
      this._gen++
      for (const off of this._offs.splice(0)) guard(off)()
      clearInterval(this._poll)
      const a = this._audio
      if (a) {
        a.pause()
        // Dropping the source stops the download too.
        a.removeAttribute('src')
        a.load()
        this._audio = null
      }
      this._mark(null)
      this._active = false
      if (this._ms) {
        guard(() => {
          navigator.mediaSession.metadata = null
          navigator.mediaSession.playbackState = 'none'
        })()
        this._ms = false
      }
    }

    _init() {
      const gen = ++this._gen
      this._info = null
      this._timings = []
      this._blocks = null
      this._sent = new Set()
      this._played = 0
      this._lastT = 0
      if (shadowSheet === undefined) shadowSheet = sheetOf(STYLE)
      if (shadowSheet && this._sr.adoptedStyleSheets) this._sr.adoptedStyleSheets = [shadowSheet]
      this._sr.innerHTML = `${shadowSheet && this._sr.adoptedStyleSheets ? '' : `<style>${STYLE}</style>`}<div class="w"></div><audio preload="none"></audio>`
      this._w = this._q('.w')
      this._color()
      // Without an article attribute the story is looked up by the page's canonical URL (else its own).
      const byUrl = !this.hasAttribute('article')
      const id = (this.getAttribute('article') || '').trim()
      if (!byUrl && !/^[\w.~-]{1,200}$/.test(id)) return this._fail({ status: 404 }, false)
      this._id = id
      this._w.innerHTML = `<button class="listen" type="button">${svg(I_PLAY)}<span>Listen to article</span><span class="d"></span></button>`
      const btn = this._q('.listen')
      this._on(btn, 'click', () => this._activate())
      // Only the small info.json is fetched on load; audio waits for the reader's press (preload none).
      getJson(byUrl ? `${ORIGIN}/lookup.json?url=${encodeURIComponent(pageUrl())}` : `${ORIGIN}/listen/${encodeURIComponent(id)}/info.json`).then(
        guard((info) => {
          if (gen !== this._gen) return
          if (!info || typeof info !== 'object' || !info.streamUrl) throw new Error('bad info.json')
          if (byUrl) this._id = String(info.id)
          this._info = info
          if (info.status === 'failed') return this._fail(null, true, 'This article’s audio could not be prepared.')
          if (info.durationMs > 0) {
            this._q('.d').textContent = `· ${minutes(info.durationMs)}`
            btn.setAttribute('aria-label', `Listen to article, ${spoken(info.durationMs / 1000)}`)
          }
          if (this._want) this._activate()
        }),
        guard((err) => gen === this._gen && this._fail(err, true)),
      )
    }

    _color() {
      const c = (this.getAttribute('color') || '').trim()
      const host = this._sr.host
      host.style.removeProperty('--a')
      host.style.removeProperty('--oa')
      if (!c || !window.CSS || !CSS.supports('color', c)) return
      const L = luminance(this._w || host, c)
      if (L == null) return
      host.style.setProperty('--a', c)
      // Black or white text, whichever contrasts more with the site's colour.
      host.style.setProperty('--oa', L > 0.179 ? '#000' : '#fff')
    }

    _fail(err, retry, text) {
      this._teardownAudioOnly()
      this._active = false
      this._w.innerHTML = `<div class="msg" role="status"><span></span>${retry ? '<button type="button">Retry</button>' : ''}</div>`
      this._q('.msg span').textContent = text || errorText(err)
      const b = this._q('.msg button')
      if (b)
        this._on(b, 'click', () => {
          this._teardown()
          this._init()
        })
    }

    _teardownAudioOnly() {
      clearInterval(this._poll)
      const a = this._audio
      if (a) {
        a.pause()
        a.removeAttribute('src')
        a.load()
      }
      this._audio = null
      this._mark(null)
    }

    _activate() {
      if (this._active) return this._play()
      const info = this._info
      if (!info) {
        // Pressed before info.json arrived: start as soon as it does.
        this._want = true
        return
      }
      this._want = false
      this._active = true
      const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
      this._w.innerHTML = `<div class="box" role="group" aria-label="Audio player: ${esc(info.title || 'article')}">
<div class="ti"></div>
<div class="row">
<button type="button" class="ib pv" aria-label="Previous paragraph">${svg(I_PREV)}</button>
<button type="button" class="ib bk" aria-label="Back ${SKIP} seconds">${skipIcon}</button>
<button type="button" class="ib pp" aria-label="Play">${svg(I_PLAY)}</button>
<button type="button" class="ib fw" aria-label="Forward ${SKIP} seconds">${skipIcon}</button>
<button type="button" class="ib nx" aria-label="Next paragraph">${svg(I_NEXT)}</button>
<button type="button" class="sp"></button>
</div>
<div class="tl"><span class="el">0:00</span><input type="range" min="0" max="1000" step="1" value="0" aria-label="Seek"><span class="to">--:--</span></div>
<p class="note" role="status" aria-live="polite"></p>
</div>`
      this._q('.ti').textContent = info.title || ''
      const a = (this._audio = this._q('audio'))
      a.preload = 'none'
      const rate = loadRate()
      a.defaultPlaybackRate = rate
      a.playbackRate = rate
      this._speedLabel()
      const q = (s) => this._q(s)
      this._on(q('.pp'), 'click', () => (a.paused || a.ended ? this._play() : a.pause()))
      this._on(q('.bk'), 'click', () => this._seek(a.currentTime - SKIP))
      this._on(q('.fw'), 'click', () => this._seek(a.currentTime + SKIP))
      this._on(q('.pv'), 'click', () => this._para(-1))
      this._on(q('.nx'), 'click', () => this._para(1))
      this._on(q('.sp'), 'click', () => {
        const r = RATES[(RATES.indexOf(a.playbackRate) + 1) % RATES.length] || 1
        a.defaultPlaybackRate = r
        a.playbackRate = r
        saveRate(r)
        this._speedLabel()
      })
      const range = q('input')
      this._on(range, 'pointerdown', () => (this._drag = true))
      this._on(range, 'change', () => (this._drag = false))
      this._on(range, 'input', () => {
        const d = this._dur()
        if (d) this._seek((range.value / 1000) * d)
      })
      this._on(this._w, 'keydown', (e) => this._key(e))
      for (const t of ['play', 'pause', 'ended', 'timeupdate', 'durationchange', 'loadedmetadata', 'ratechange']) this._on(a, t, () => this._sync(t))
      this._on(a, 'waiting', () => this._busy(true))
      this._on(a, 'playing', () => this._busy(false))
      this._on(a, 'error', () => this._audioError())
      // Only one briefcast player plays at a time on a page.
      this._on(document, 'briefcast:play', (e) => e.detail !== this && a.pause())
      this._setSource(info)
      this._play()
      q('.pp').focus()
    }

    _setSource(info) {
      const a = this._audio
      // An edited article re-renders while its previous episode stays served (audioUrl set): play that.
      const ready = !!info.audioUrl
      this._streaming = !ready
      a.src = ready ? info.audioUrl : info.streamUrl
      if (ready) {
        this._note('')
        this._loadTimings(info)
      } else {
        this._note('Still preparing audio… playing as it is made.', true)
        this._watch()
      }
      this._sync('src')
    }

    // While the episode renders, poll info.json; when ready, move to the versioned file at the
    // same position (one short re-buffer), which brings seeking, total time and the timings.
    _watch() {
      const gen = this._gen
      clearInterval(this._poll)
      this._poll = setInterval(
        guard(() => {
          getJson(`${ORIGIN}/listen/${encodeURIComponent(this._id)}/info.json`).then(
            guard((info) => {
              if (gen !== this._gen || !this._audio || !this._streaming) return
              if (info.status === 'failed') {
                clearInterval(this._poll)
                this._note('This article’s audio could not be prepared.')
              } else if (info.audioUrl) {
                clearInterval(this._poll)
                this._info = info
                const a = this._audio
                if (a.ended) {
                  this._streaming = false
                  this._note('')
                  return
                }
                const t = a.currentTime
                const wasPlaying = !a.paused
                this._resume = { t, play: wasPlaying }
                this._setSource(info)
                if (wasPlaying) this._play()
              }
            }),
            () => {},
          )
        }),
        3000,
      )
    }

    _loadTimings(info) {
      if (!info.timingsUrl || this._timings.length) return
      const gen = this._gen
      getJson(info.timingsUrl).then(
        guard((raw) => {
          if (gen !== this._gen) return
          this._timings = normTimings(raw)
          // Paragraph starts: the first segment of each run of one block (or each segment without one).
          const starts = []
          let last
          for (const t of this._timings) {
            const key = t.b == null ? `s${t.s}` : t.b
            if (key !== last) starts.push(t.s)
            last = key
          }
          this._starts = starts
          this._bindBlocks()
          this._sync('timings')
        }),
        () => {},
      )
    }

    // Map blockIndex -> the host page's block elements under the opted-in selector:
    // p, h2-h6, li, blockquote in document order, outermost only, empty ones skipped.
    _bindBlocks() {
      const sel = this.getAttribute('highlight')
      if (!sel) return
      let root
      try {
        root = document.querySelector(sel)
      } catch {
        return warn(`invalid highlight selector ${sel}`)
      }
      if (!root) return
      // Candidates: block elements with text of their own outside nested blocks, the way the
      // article extractor cuts blocks (<blockquote><p>…</p></blockquote> is the <p>).
      const cands = []
      for (const el of root.querySelectorAll(BLOCKS)) {
        let own = ''
        for (const n of el.childNodes)
          if (n.nodeType === 3 || (n.nodeType === 1 && !n.matches(BLOCKS) && !n.querySelector(BLOCKS))) own += n.textContent
        if (own.trim()) cands.push(el)
      }
      // blockIndex counts the blocks the service extracted; the page may hold more (captions,
      // asides, "read more" lists). Align in order: each block goes to the next candidate within
      // a few whose words contain at least half of the block's first spoken words.
      const first = new Map()
      for (const t of this._timings) {
        if (t.b == null || t.b < 0) continue
        const w = first.get(t.b) || []
        if (w.length < 12) first.set(t.b, w.concat(words(t.w)).slice(0, 12))
      }
      const sets = cands.map((el) => new Set(words(el.textContent)))
      const blocks = new Map()
      const byEl = new Map()
      let p = 0
      for (const [b, w] of [...first].sort((x, y) => x[0] - y[0])) {
        let best = -1
        let score = 0
        for (let j = p; j < Math.min(cands.length, p + 8); j++) {
          let hit = 0
          for (const x of w) if (sets[j].has(x)) hit++
          const sc = w.length ? hit / w.length : 0
          if (sc > score + 0.1) {
            best = j
            score = sc
          }
        }
        // Timings without text: fall back to plain order.
        if (!w.length && cands[b]) best = b
        else if (score < 0.5) continue
        blocks.set(b, cands[best])
        byEl.set(cands[best], b)
        p = best + 1
      }
      this._blocks = blocks
      styleDocument()
      // Click on a paragraph plays from there (links, form controls and text selections keep their meaning).
      this._on(root, 'click', (e) => {
        if (!this._audio || e.defaultPrevented || e.button) return
        const t = e.target
        if (!t || !t.closest || t.closest('a,button,input,select,textarea,label,summary,[contenteditable]')) return
        const sel = getSelection && getSelection()
        if (sel && !sel.isCollapsed) return
        let el = t.closest(BLOCKS)
        while (el && !byEl.has(el)) el = el.parentElement && el.parentElement.closest(BLOCKS)
        if (!el) return
        const i = byEl.get(el)
        const seg = this._timings.find((x) => x.b === i)
        if (!seg) return
        this._seek(seg.s)
        this._play()
      })
    }

    _mark(el) {
      if (this._marked === el) return
      if (this._marked) this._marked.removeAttribute(READING)
      const prev = this._marked
      this._marked = el || null
      if (!el) return
      el.setAttribute(READING, '')
      // Follow the reading only if the reader was following (the previous block was on screen).
      if (prev) {
        const r = prev.getBoundingClientRect()
        const n = el.getBoundingClientRect()
        const vh = innerHeight || document.documentElement.clientHeight
        if (r.bottom > 0 && r.top < vh && (n.bottom > vh || n.top < 0))
          el.scrollIntoView({ block: 'nearest', behavior: reducedMotion() ? 'auto' : 'smooth' })
      }
    }

    _segAt(t) {
      const ts = this._timings
      let lo = 0
      let hi = ts.length - 1
      let found = -1
      while (lo <= hi) {
        const mid = (lo + hi) >> 1
        if (ts[mid].s <= t + 0.05) {
          found = mid
          lo = mid + 1
        } else hi = mid - 1
      }
      return found
    }

    _dur() {
      const a = this._audio
      if (a && isFinite(a.duration) && a.duration > 0 && !this._streaming) return a.duration
      const ms = this._info && !this._streaming && this._info.durationMs
      return ms > 0 ? ms / 1000 : 0
    }

    _seek(t) {
      const a = this._audio
      const d = this._dur()
      if (!a || !d) return
      a.currentTime = Math.max(0, Math.min(t, d - 0.05))
      this._sync('seek')
    }

    _para(dir) {
      const starts = this._starts || []
      const a = this._audio
      if (!a || !starts.length) return
      const t = a.currentTime
      let i = 0
      while (i + 1 < starts.length && starts[i + 1] <= t + 0.05) i++
      // "Previous" within the first 2 s of a paragraph goes to the one before, like a CD player.
      const target = dir > 0 ? starts[i + 1] : t - starts[i] > 2 ? starts[i] : starts[Math.max(0, i - 1)]
      if (target == null) return
      this._seek(target)
    }

    _play() {
      const a = this._audio
      if (!a) return
      if (this._broken) {
        // After a network drop, reload the source and continue where we were.
        this._broken = false
        this._resume = { t: a.currentTime, play: true }
        this._setSource(this._info)
      }
      document.dispatchEvent(new CustomEvent('briefcast:play', { detail: this }))
      const p = a.play()
      if (p && p.catch)
        p.catch(
          guard((err) => {
            if (err && err.name !== 'AbortError' && err.name !== 'NotAllowedError') this._audioError()
          }),
        )
      if (!this._sent.has('start')) this._send({ event: 'start' })
    }

    _audioError() {
      const a = this._audio
      if (!a || !a.error) return
      this._broken = true
      this._busy(false)
      this._note(navigator.onLine === false ? 'You’re offline. Press play to try again.' : 'The audio stopped loading. Press play to try again.')
    }

    _send(body) {
      const key = body.event === 'start' ? 'start' : String(body.percent)
      if (this._sent.has(key)) return
      this._sent.add(key)
      // No cookies, no identifiers: just the event. text/plain keeps it a "simple" CORS request.
      const url = `${ORIGIN}/listen/${encodeURIComponent(this._id)}/events`
      const data = JSON.stringify(body)
      try {
        fetch(url, { method: 'POST', body: data, keepalive: true, credentials: 'omit', headers: { 'content-type': 'text/plain' } }).catch(() => {})
      } catch {
        try {
          navigator.sendBeacon(url, data)
        } catch {}
      }
    }

    _busy(on) {
      const b = this._q('.box')
      if (b) b.setAttribute('aria-busy', String(!!on))
    }

    _note(text, busy) {
      const n = this._q('.note')
      if (!n) return
      if (n.textContent !== text) n.textContent = text
      n.classList.toggle('busy', !!busy)
    }

    _speedLabel() {
      const b = this._q('.sp')
      const r = this._audio ? this._audio.playbackRate : 1
      b.textContent = `${r}×`
      b.setAttribute('aria-label', `Playback speed ${r}×`)
    }

    _key(e) {
      if (e.altKey || e.ctrlKey || e.metaKey) return
      const a = this._audio
      const tag = e.target && e.target.tagName
      const onRange = tag === 'INPUT'
      if (e.key === ' ' || e.key === 'k') {
        // Buttons already act on Space; elsewhere in the player Space toggles play.
        if (tag === 'BUTTON') return
        e.preventDefault()
        if (a.paused) this._play()
        else a.pause()
      } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || (onRange && (e.key === 'ArrowUp' || e.key === 'ArrowDown'))) {
        e.preventDefault()
        const fwd = e.key === 'ArrowRight' || e.key === 'ArrowUp'
        this._seek(a.currentTime + (fwd ? 5 : -5) * (e.shiftKey ? 3 : 1))
      } else if (onRange && (e.key === 'Home' || e.key === 'End')) {
        e.preventDefault()
        this._seek(e.key === 'Home' ? 0 : this._dur())
      }
    }

    _sync(why) {
      const a = this._audio
      if (!a) return
      if (why === 'loadedmetadata' && this._resume) {
        const r = this._resume
        this._resume = null
        if (r.t > 0) a.currentTime = r.t
        if (r.play) this._play()
      }
      const q = (s) => this._q(s)
      const d = this._dur()
      const t = a.currentTime
      const playing = !a.paused && !a.ended
      const pp = q('.pp')
      if (pp.getAttribute('aria-label') !== (playing ? 'Pause' : 'Play')) {
        pp.innerHTML = svg(playing ? I_PAUSE : I_PLAY)
        pp.setAttribute('aria-label', playing ? 'Pause' : 'Play')
      }
      const range = q('input')
      range.disabled = !d
      if (!this._drag || why !== 'timeupdate') range.value = d ? String(Math.round((t / d) * 1000)) : '0'
      range.setAttribute('aria-valuetext', d ? `${spoken(t)} of ${spoken(d)}` : spoken(t))
      q('.el').textContent = fmt(t)
      q('.to').textContent = d ? fmt(d) : this._streaming ? 'live' : '--:--'
      const noParas = !(this._starts && this._starts.length > 1)
      q('.pv').disabled = noParas
      q('.nx').disabled = noParas
      q('.bk').disabled = q('.fw').disabled = !d
      if (why === 'ratechange') this._speedLabel()
      if (this._timings.length && this._blocks) {
        const i = this._segAt(t)
        const b = i >= 0 ? this._timings[i].b : null
        this._mark(b != null && (playing || t > 0) ? this._blocks.get(b) || null : null)
      }
      // Listened time, not position: a seek to the end is not a full listen. Only natural
      // progress between two updates counts (timeupdate fires about 4 times a second).
      const delta = t - this._lastT
      if (delta > 0 && delta < 1 + 2 * a.playbackRate && why !== 'seek') this._played += delta
      this._lastT = t
      if (d)
        for (const p of QUARTILES)
          if (!this._sent.has(String(p)) && this._played / d >= (p === 100 ? 0.97 : p / 100)) this._send({ event: 'progress', percent: p })
      this._media(why, playing, d, t)
    }

    // Lock-screen and headset controls (Media Session API), when the browser has it.
    _media(why, playing, d, t) {
      const ms = navigator.mediaSession
      if (!ms || (!playing && !this._ms)) return
      const a = this._audio
      if (!this._ms && playing) {
        this._ms = true
        if (window.MediaMetadata) ms.metadata = new MediaMetadata({ title: (this._info && this._info.title) || 'Article', artist: location.hostname, album: 'Listen to article' })
        const h = {
          play: () => this._play(),
          pause: () => a.pause(),
          seekbackward: (e) => this._seek(a.currentTime - ((e && e.seekOffset) || SKIP)),
          seekforward: (e) => this._seek(a.currentTime + ((e && e.seekOffset) || SKIP)),
          seekto: (e) => e && this._seek(e.seekTime),
          previoustrack: () => this._para(-1),
          nexttrack: () => this._para(1),
        }
        for (const k in h)
          try {
            ms.setActionHandler(k, guard(h[k]))
          } catch {}
      }
      if (why === 'play' || why === 'pause' || why === 'ended') ms.playbackState = playing ? 'playing' : 'paused'
      if (d && why !== 'timeupdate' && ms.setPositionState)
        try {
          ms.setPositionState({ duration: d, playbackRate: a.playbackRate, position: Math.min(t, d) })
        } catch {}
    }
  }

  try {
    customElements.define(TAG, BriefcastPlayer)
  } catch (err) {
    warn(err)
  }
})()
