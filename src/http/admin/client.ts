/**
 * The dashboard's page script (served as /admin/assets/admin.js, so the
 * strict CSP holds): forms and buttons that call /api with the session's CSRF
 * token and show the result in place, live article status, audio previews.
 * Plain ES2017, no framework.
 */
export const ADMIN_CLIENT_JS = `'use strict'
;(function () {
  var meta = document.querySelector('meta[name="csrf-token"]')
  var csrf = meta ? meta.getAttribute('content') : ''

  function api(method, url, body) {
    var headers = { 'X-CSRF-Token': csrf, Accept: 'application/json' }
    var init = { method: method, headers: headers, credentials: 'same-origin' }
    if (body instanceof FormData) init.body = body
    else if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body) }
    return fetch(url, init).then(function (r) {
      if (r.status === 204) return { ok: true, status: 204, body: null }
      var type = r.headers.get('content-type') || ''
      if (type.indexOf('json') < 0) return r.blob().then(function (b) { return { ok: r.ok, status: r.status, body: b } })
      return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j } })
    })
  }
  function message(r) {
    var e = r.body && r.body.error
    return e ? e.message + (e.help ? ' ' + e.help : '') : 'Request failed (' + r.status + ').'
  }
  function resultOf(el) {
    var scope = el.closest('form') || el.parentElement
    var out = scope && scope.querySelector('.result')
    if (!out && el.closest('section, td, div')) out = el.closest('section, td, div').querySelector('.result')
    return out
  }
  function say(out, text, bad) {
    if (!out) return
    out.textContent = text
    out.classList.toggle('status-failed', !!bad)
  }
  function fmt(ms) {
    if (ms === null || ms === undefined) return ''
    var t = Math.round(ms / 1000), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = String(t % 60).padStart(2, '0')
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + s : m + ':' + s
  }
  function showSecret(out, body) {
    var secret = body.key || body.password || body.secret
    if (!secret) { say(out, 'Done.'); return }
    out.textContent = ''
    var p = document.createElement('span')
    p.textContent = body.key ? 'The new key (shown once, copy it now): '
      : body.password ? 'The password for ' + body.username + ' (shown once): '
      : 'Source “' + body.id + '” added. Its webhook secret (shown once, copy it now): '
    var code = document.createElement('code')
    code.className = 'secret'
    code.textContent = secret
    out.appendChild(p)
    out.appendChild(code)
  }
  function then(kind, el, r) {
    var out = resultOf(el)
    if (kind === 'reload') return location.reload()
    if (kind && kind.indexOf('go:') === 0) { location.href = kind.slice(3); return }
    if (kind === 'secret') return showSecret(out, r.body || {})
    if (kind === 'add-row') return addRow(out, r.body)
    if (window.briefcastAfter && window.briefcastAfter[kind]) return window.briefcastAfter[kind](el, r, out)
    say(out, 'Saved.')
  }

  // Forms: JSON (or multipart) to the API, the answer shown in the form.
  document.querySelectorAll('form[data-api]').forEach(function (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault()
      var out = resultOf(form)
      var body
      if (form.getAttribute('data-multipart')) {
        body = new FormData()
        Array.prototype.forEach.call(form.elements, function (f) {
          if (!f.name) return
          if (f.type === 'file') { if (f.files[0]) body.append('file', f.files[0]); return }
          if (!f.value.trim()) return
          if (f.name === 'body') body.append(/^\\s*</.test(f.value) ? 'html' : 'markdown', f.value)
          else body.append(f.name, f.value.trim())
        })
      } else {
        body = {}
        Array.prototype.forEach.call(form.elements, function (f) {
          if (!f.name || f.name === '_csrf') return
          if (f.type === 'checkbox') body[f.name] = f.checked
          else if (f.value !== '' || f.name === 'voice') body[f.name] = f.value === '' ? null : f.value
        })
      }
      var button = form.querySelector('button[type=submit]')
      if (button) button.disabled = true
      say(out, 'Working…')
      api(form.getAttribute('data-method') || 'POST', form.getAttribute('data-api'), body)
        .then(function (r) {
          if (!r.ok) return say(out, message(r), true)
          then(form.getAttribute('data-then'), form, r)
        })
        .catch(function (e) { say(out, e.message, true) })
        .then(function () { if (button) button.disabled = false })
    })
  })

  // Buttons: one request each (confirm first when asked).
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button[data-api]')
    if (!b || b.form && b.form.hasAttribute('data-api') && b.type === 'submit') return
    var q = b.getAttribute('data-confirm')
    if (q && !confirm(q)) return
    var out = resultOf(b)
    var raw = b.getAttribute('data-body')
    b.disabled = true
    say(out, 'Working…')
    api(b.getAttribute('data-method') || 'POST', b.getAttribute('data-api'), raw ? JSON.parse(raw) : undefined)
      .then(function (r) {
        if (!r.ok) return say(out, message(r), true)
        then(b.getAttribute('data-then'), b, r)
      })
      .catch(function (e) { say(out, e.message, true) })
      .then(function () { b.disabled = false })
  })

  // Live status of articles still queued or rendering.
  function watch(el) {
    var id = el.getAttribute('data-live-article')
    setTimeout(function tick() {
      api('GET', '/api/articles/' + encodeURIComponent(id)).then(function (r) {
        if (!r.ok) return
        var a = r.body
        el.className = 'status status-' + a.status
        el.textContent = a.status + (a.status === 'rendering' ? ' ' + Math.round(a.progress * 100) + '%' : '')
        var bar = el.nextElementSibling && el.nextElementSibling.tagName === 'PROGRESS' ? el.nextElementSibling : null
        if (bar) bar.value = a.status === 'ready' ? 1 : a.progress
        document.querySelectorAll('[data-length="' + id + '"]').forEach(function (c) { c.textContent = fmt(a.durationMs) })
        if (a.status === 'queued' || a.status === 'rendering') setTimeout(tick, 1000)
        else { if (bar) bar.remove(); el.removeAttribute('data-live') }
      }).catch(function () { setTimeout(tick, 3000) })
    }, 500)
  }
  document.querySelectorAll('[data-live="1"]').forEach(watch)

  // A new article appears at the top of the list, its status live.
  function addRow(out, a) {
    say(out, 'Added “' + a.title + '”: ' + a.status + '.')
    var tbody = document.querySelector('#articles tbody')
    if (!tbody) return
    var tr = document.createElement('tr')
    function cell(label, cls) { var td = document.createElement('td'); td.setAttribute('data-label', label); if (cls) td.className = cls; tr.appendChild(td); return td }
    var t = cell('Title')
    var link = document.createElement('a')
    link.href = '/admin/articles/' + encodeURIComponent(a.id)
    link.textContent = a.title
    t.appendChild(link)
    var st = cell('Status')
    var span = document.createElement('span')
    span.className = 'status status-' + a.status
    span.setAttribute('data-live-article', a.id)
    span.textContent = a.status
    st.appendChild(span)
    var bar = document.createElement('progress')
    bar.max = 1; bar.value = 0; bar.setAttribute('aria-label', 'Render progress')
    st.appendChild(document.createTextNode(' '))
    st.appendChild(bar)
    var len = cell('Length', 'num'); len.setAttribute('data-length', a.id)
    cell('Starts', 'num').textContent = '0'
    cell('Finished', 'num').textContent = '0'
    tbody.insertBefore(tr, tbody.firstChild)
    document.getElementById('add-article').reset()
    watch(span)
  }

  // Audio previews (pronunciation "hear it", voice samples): POST/GET, then play the answer.
  var player = document.getElementById('preview-audio')
  window.briefcastPlay = function (blob) {
    if (!player) return
    if (player.src) URL.revokeObjectURL(player.src)
    player.src = URL.createObjectURL(blob)
    player.hidden = false
    var p = player.play()
    if (p && p.catch) p.catch(function () {})
  }
  // Pronunciation: edit the table, hear an entry, save, then offer to re-render what the change touches.
  var lex = document.getElementById('lexicon')
  if (lex && document.getElementById('lexicon-row')) {
    var lang = lex.getAttribute('data-language')
    var tbody = lex.querySelector('tbody')
    var out = document.getElementById('lexicon-result')
    var n = 0
    document.getElementById('add-entry').addEventListener('click', function () {
      var tpl = document.getElementById('lexicon-row').content.cloneNode(true)
      n++
      tpl.querySelectorAll('[id]').forEach(function (el) { el.id = el.id.replace('9999', 'new' + n) })
      tpl.querySelectorAll('label[for]').forEach(function (el) { el.htmlFor = el.htmlFor.replace('9999', 'new' + n) })
      tbody.appendChild(tpl)
      tbody.lastElementChild.querySelector('input').focus()
    })
    lex.addEventListener('click', function (ev) {
      var rm = ev.target.closest('[data-remove-row]')
      if (rm) { var tr = rm.closest('tr'); var next = tr.nextElementSibling || tr.previousElementSibling; tr.remove(); if (next) next.querySelector('input').focus(); return }
      var hear = ev.target.closest('[data-hear]')
      if (!hear) return
      var row = hear.closest('tr')
      var text = row.querySelector('input[name=say]').value.trim() || row.querySelector('input[name=match]').value.trim()
      if (!text) { say(out, 'Type the word and how to say it first.', true); return }
      hear.disabled = true
      say(out, 'Speaking “' + text + '”…')
      api('POST', '/api/lexicon/' + encodeURIComponent(lang) + '/hear', { text: text, voice: document.getElementById('hear-voice').value })
        .then(function (r) {
          if (!r.ok) return say(out, message(r), true)
          say(out, 'Playing “' + text + '”.')
          window.briefcastPlay(r.body)
        })
        .catch(function (e) { say(out, e.message, true) })
        .then(function () { hear.disabled = false })
    })
    lex.addEventListener('submit', function (ev) {
      ev.preventDefault()
      var entries = []
      tbody.querySelectorAll('tr').forEach(function (tr) {
        var m = tr.querySelector('input[name=match]').value.trim()
        var s = tr.querySelector('input[name=say]').value.trim()
        if (!m && !s) return
        var e = { match: m, say: s }
        if (tr.querySelector('input[name=caseSensitive]').checked) e.caseSensitive = true
        entries.push(e)
      })
      say(out, 'Saving…')
      api('PUT', '/api/lexicon/' + encodeURIComponent(lang), { entries: entries }).then(function (r) {
        if (!r.ok) return say(out, message(r), true)
        var a = r.body.affected
        out.textContent = 'Saved ' + r.body.entries.length + ' entries. '
        if (!a.length) { out.appendChild(document.createTextNode(r.body.changed.length ? 'No article contains the changed words.' : 'Nothing changed.')); return }
        out.appendChild(document.createTextNode(a.length + ' article' + (a.length === 1 ? '' : 's') + ' contain' + (a.length === 1 ? 's' : '') + ' the changed words (' + r.body.changed.join(', ') + '): '))
        var ul = document.createElement('ul')
        a.forEach(function (x) { var li = document.createElement('li'); var l = document.createElement('a'); l.href = '/admin/articles/' + encodeURIComponent(x.id); l.textContent = x.title; li.appendChild(l); ul.appendChild(li) })
        out.appendChild(ul)
        var b = document.createElement('button')
        b.type = 'button'
        b.id = 'rerender-affected'
        b.textContent = 'Re-render ' + (a.length === 1 ? 'it' : 'them') + ' (only the sentences with these words)'
        b.addEventListener('click', function () {
          b.disabled = true
          api('POST', '/api/lexicon/' + encodeURIComponent(lang) + '/rerender', { articleIds: a.map(function (x) { return x.id }) }).then(function (r2) {
            var p = document.createElement('p')
            p.textContent = r2.ok ? 'Re-rendering ' + r2.body.queued.length + ' article' + (r2.body.queued.length === 1 ? '' : 's') + '.' : message(r2)
            out.appendChild(p)
          })
        })
        out.appendChild(b)
        b.focus()
      }).catch(function (e) { say(out, e.message, true) })
    })
  }

  // Voice samples and the briefing's opening: fetch the WAV, play it in place.
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('[data-sample], [data-hear-text]')
    if (!b) return
    var out = resultOf(b)
    var req = b.hasAttribute('data-sample')
      ? api('GET', '/api/voices/' + encodeURIComponent(b.getAttribute('data-sample')) + '/sample')
      : api('POST', '/api/lexicon/' + encodeURIComponent(b.getAttribute('data-language')) + '/hear', { text: b.getAttribute('data-hear-text') })
    b.disabled = true
    say(out, 'Loading…')
    req.then(function (r) {
      if (!r.ok) return say(out, message(r), true)
      say(out, 'Playing.')
      window.briefcastPlay(r.body)
    }).catch(function (e) { say(out, e.message, true) }).then(function () { b.disabled = false })
  })

  // Briefing composer: the ticked stories in list order become articleIds.
  var compose = document.getElementById('compose')
  if (compose) {
    compose.addEventListener('submit', function (ev) {
      ev.preventDefault()
      ev.stopImmediatePropagation()
      var out = resultOf(compose)
      var ids = Array.prototype.map.call(compose.querySelectorAll('input[name=story]:checked'), function (c) { return c.value })
      if (!ids.length) return say(out, 'Tick at least one story.', true)
      var body = { articleIds: ids, mode: compose.querySelector('[name=mode]').value, allowPartial: true }
      var t = compose.querySelector('[name=title]').value.trim()
      if (t) body.title = t
      say(out, 'Composing…')
      api('POST', '/api/briefings', body).then(function (r) {
        if (!r.ok) return say(out, message(r), true)
        say(out, 'Queued “' + r.body.title + '” (' + r.body.stories.length + ' stories).')
        setTimeout(function () { location.reload() }, 1200)
      }).catch(function (e) { say(out, e.message, true) })
    }, true)
  }

  // Settings: send only the fields that changed; the page shows what is in effect after.
  var settings = document.getElementById('settings-form')
  if (settings) {
    settings.addEventListener('submit', function (ev) {
      ev.preventDefault()
      var out = document.getElementById('settings-result')
      var set = {}
      var n = 0
      settings.querySelectorAll('[data-setting]').forEach(function (f) {
        f.removeAttribute('aria-invalid')
        var initial = JSON.parse(f.getAttribute('data-initial'))
        var v
        if (f.type === 'checkbox') v = f.checked
        else if (f.type === 'number') v = f.value.trim() === '' ? null : Number(f.value)
        else v = f.value.trim() === '' ? null : f.value
        if (JSON.stringify(v) === JSON.stringify(initial)) return
        set[f.getAttribute('data-setting')] = v
        n++
      })
      if (!n) return say(out, 'Nothing changed.')
      say(out, 'Saving…')
      api('PUT', '/api/settings', { set: set }).then(function (r) {
        if (!r.ok) {
          say(out, message(r), true)
          var problems = r.body && r.body.error && r.body.error.details && r.body.error.details.problems
          var bad = problems && problems[0] && settings.querySelector('[data-setting="' + problems[0].field + '"]')
          if (bad) { bad.setAttribute('aria-invalid', 'true'); bad.focus() }
          return
        }
        location.href = '/admin/settings?saved=' + r.body.changed.length
      }).catch(function (e) { say(out, e.message, true) })
    })
  }

  window.briefcastApi = api
  window.briefcastSay = say
  window.briefcastAfter = window.briefcastAfter || {}
  window.briefcastAfter.play = function (el, r, out) { say(out, 'Playing.'); window.briefcastPlay(r.body) }
})()
`
