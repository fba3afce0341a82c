/**
 * The HTTP API as an OpenAPI 3.1 document, served at GET /openapi.json.
 * docs/api.md is the prose for people; this is the same API for tools
 * (client generators, API explorers). tests/http/openapi.test.ts walks the
 * routes the Express app registers and fails on any route this document
 * lacks (or documents without serving): add a route here when you add one.
 */
import express from 'express'
import type { AppDeps } from './deps.ts'

const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } })
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const error = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } })
const idParam = (description = 'Article id, or the site\'s externalId') => ({ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description })
const fileParam = (description: string) => ({ name: 'file', in: 'path', required: true, schema: { type: 'string' }, description })
const bearer = [{ apiKey: [] }]
const preflight = (methods: string) => ({
  options: { summary: `CORS preflight (allows ${methods})`, tags: ['public'], responses: { 204: { description: 'Preflight answer with Access-Control-Allow-* headers' } } },
})
const versionedFile = {
  description: 'The file (HEAD, single byte ranges, ETag / If-None-Match, Last-Modified / If-Modified-Since, If-Range); immutable for a year',
  content: {
    'audio/mpeg': { schema: { type: 'string', format: 'binary' } },
    'audio/mp4': { schema: { type: 'string', format: 'binary' } },
    'text/vtt': { schema: { type: 'string' } },
    'application/json': { schema: { type: 'object' } },
  },
}
const fileResponses = {
  200: versionedFile,
  206: { description: 'Partial content (one byte range)' },
  304: { description: 'Not modified' },
  404: error('No such file (NOT_FOUND), e.g. replaced by a newer render'),
  416: error('RANGE_NOT_SATISFIABLE; Content-Range: bytes */<size>'),
}

const body = { required: true, content: { 'application/json': { schema: { type: 'object' } } } }
const html = { description: 'HTML', content: { 'text/html': {} } }
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'User name' }
const langParam = { name: 'language', in: 'path', required: true, schema: { type: 'string' }, description: 'Lexicon name: a language tag such as en or de' }
const daysParam = { name: 'days', in: 'query', required: false, schema: { type: 'integer' }, description: 'How many days back (default 30)' }

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'briefcast',
    version: '0.1.0',
    summary: 'Self-hostable text-to-speech audio for news sites',
    description: 'Listen endpoints, the embeddable player, podcast feeds and the admin API. Prose: docs/api.md. Errors are {"error": {code, message, help, details?}}; the codes are listed in docs/errors.md.',
    license: { name: 'GPL-3.0-or-later', identifier: 'GPL-3.0-or-later' },
  },
  tags: [
    { name: 'public', description: 'Listen endpoints, files, feeds and the player: no key, CORS *' },
    { name: 'admin', description: 'Bearer API key' },
    { name: 'operations', description: 'Health checks and this document' },
  ],
  paths: {
    '/healthz': { get: { summary: 'Alive', tags: ['operations'], responses: { 200: json({ type: 'object', properties: { status: { const: 'ok' } } }) } } },
    '/readyz': {
      get: {
        summary: 'Ready: database open, ffmpeg found, voice profiles loaded, render process; with job counts and the event-loop delay since the previous call',
        tags: ['operations'],
        responses: { 200: json(ref('Readiness')), 503: json(ref('Readiness'), 'Not ready; the failing check is named') },
      },
    },
    '/voices/{profile}/sample.wav': {
      get: {
        summary: "A short sample of a voice profile: a fixed sentence in the profile's language, rendered once and cached (at most 6 new samples a minute)",
        tags: ['public'],
        parameters: [{ name: 'profile', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'WAV', content: { 'audio/wav': {} } }, 404: { description: 'UNKNOWN_PROFILE' }, 429: { description: 'RATE_LIMITED' } },
      },
    },
    '/api/voices': {
      get: { summary: 'Voice profiles with their engine, language and sample URL', tags: ['admin'], security: bearer, responses: { 200: json({ type: 'object' }) } },
    },
    '/api/usage': {
      get: {
        summary: 'Characters sent to cloud speech engines, per engine and calendar month (?month=YYYY-MM or all)',
        tags: ['admin'],
        security: bearer,
        parameters: [{ name: 'month', in: 'query', required: false, schema: { type: 'string' } }],
        responses: { 200: json({ type: 'object' }) },
      },
    },
    '/api/sources': {
      get: { summary: 'The sources: feeds and sitemaps polled, webhooks pushed, with their health', tags: ['sources'], security: bearer, responses: { 200: json({ type: 'object' }) } },
      post: {
        summary: 'Add a feed, sitemap or webhook source (a webhook secret is shown once; admin)',
        tags: ['sources'],
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 201: json({ type: 'object' }, 'Created'), 400: error('VALIDATION_FAILED'), 409: error('CONFLICT: the id is taken') },
      },
    },
    '/api/sources/{id}': {
      get: { summary: 'One source and its health', tags: ['sources'], security: bearer, parameters: [idParam('Source id')], responses: { 200: json({ type: 'object' }), 404: error('SOURCE_NOT_FOUND') } },
      patch: {
        summary: 'Change a source (interval, rules, voice, enabled ...; admin)',
        tags: ['sources'],
        security: bearer,
        parameters: [idParam('Source id')],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 200: json({ type: 'object' }), 400: error('VALIDATION_FAILED'), 404: error('SOURCE_NOT_FOUND') },
      },
      delete: { summary: 'Remove a source (its articles stay; admin)', tags: ['sources'], security: bearer, parameters: [idParam('Source id')], responses: { 204: { description: 'Deleted' }, 404: error('SOURCE_NOT_FOUND') } },
    },
    '/api/sources/{id}/items': {
      get: { summary: 'The stories a source has carried, with their state', tags: ['sources'], security: bearer, parameters: [idParam('Source id')], responses: { 200: json({ type: 'object' }), 404: error('SOURCE_NOT_FOUND') } },
    },
    '/api/sources/{id}/poll': {
      post: { summary: 'Poll a feed or sitemap source now (admin)', tags: ['sources'], security: bearer, parameters: [idParam('Source id')], responses: { 200: json({ type: 'object' }), 400: error('VALIDATION_FAILED: a webhook source'), 404: error('SOURCE_NOT_FOUND') } },
    },
    '/api/hooks/{source}': {
      post: {
        summary: 'A signed webhook from the site: {"event": "upsert" | "delete", "externalId", ...} (see docs/publishing.md)',
        tags: ['sources'],
        parameters: [
          { name: 'source', in: 'path', required: true, schema: { type: 'string' }, description: 'Webhook source id' },
          { name: 'Briefcast-Signature', in: 'header', required: true, schema: { type: 'string' }, description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">' },
          { name: 'Briefcast-Delivery', in: 'header', required: true, schema: { type: 'string' }, description: 'Unique per delivery, the same on every retry (idempotency key)' },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 200: json({ type: 'object' }), 202: json({ type: 'object' }, 'Accepted'), 400: error('VALIDATION_FAILED or INVALID_JSON'), 401: error('INVALID_SIGNATURE'), 404: error('SOURCE_NOT_FOUND') },
      },
    },
    '/lookup.json': {
      ...preflight('GET'),
      get: {
        summary: "Find an article by its page URL (the player's url= attribute)",
        tags: ['public'],
        parameters: [{ name: 'url', in: 'query', required: true, schema: { type: 'string' }, description: 'Absolute http(s) URL of the article page' }],
        responses: { 200: json({ type: 'object' }), 400: error('VALIDATION_FAILED'), 404: error('ARTICLE_NOT_FOUND') },
      },
    },
    '/api/me': { get: { summary: 'Who is asking: the user or API key, and its role', tags: ['accounts'], security: bearer, responses: { 200: json({ type: 'object' }), 401: error('UNAUTHORIZED') } } },
    '/api/settings': {
      get: { summary: 'Run-time settings: each with its configured default, the value in effect and whether it was changed here (admin)', tags: ['accounts'], security: bearer, responses: { 200: json({ type: 'object' }), 403: error('FORBIDDEN') } },
      put: {
        summary: 'Change run-time settings {set: {"show.title": "…"}, reset: ["show.author"]}; applied at once, no restart (admin)',
        tags: ['accounts'],
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { set: { type: 'object' }, reset: { type: 'array', items: { type: 'string' } } } } } } },
        responses: { 200: json({ type: 'object' }), 400: error('VALIDATION_FAILED: the field is named in details.problems'), 403: error('FORBIDDEN') },
      },
    },
    '/api/users': {
      get: { summary: 'Dashboard users with their roles and last sign-in (admin)', tags: ['accounts'], security: bearer, responses: { 200: json({ type: 'object' }), 403: error('FORBIDDEN') } },
      post: { summary: 'Add a user {username, role, password?}; a generated password is returned once (admin)', tags: ['accounts'], security: bearer, requestBody: body, responses: { 201: json({ type: 'object' }, 'Created'), 400: error('VALIDATION_FAILED'), 403: error('FORBIDDEN'), 409: error('CONFLICT') } },
    },
    '/api/users/{name}': {
      patch: { summary: "Change a user's role (admin)", tags: ['accounts'], security: bearer, parameters: [nameParam], requestBody: body, responses: { 200: json({ type: 'object' }), 403: error('FORBIDDEN'), 404: error('NOT_FOUND') } },
      delete: { summary: 'Remove a user and end their sessions (admin)', tags: ['accounts'], security: bearer, parameters: [nameParam], responses: { 204: { description: 'Removed' }, 403: error('FORBIDDEN'), 404: error('NOT_FOUND') } },
    },
    '/api/users/{name}/password': {
      post: { summary: 'Set a new password (yours, or anyone\'s as admin); their sessions end', tags: ['accounts'], security: bearer, parameters: [nameParam], requestBody: body, responses: { 200: json({ type: 'object' }), 403: error('FORBIDDEN'), 404: error('NOT_FOUND') } },
    },
    '/api/keys': {
      get: { summary: 'Named API keys: prefix, role, last use, revoked (admin; never the key)', tags: ['accounts'], security: bearer, responses: { 200: json({ type: 'object' }), 403: error('FORBIDDEN') } },
      post: { summary: 'Create a named API key {name, role}; the key is shown once, stored hashed (admin)', tags: ['accounts'], security: bearer, requestBody: body, responses: { 201: json({ type: 'object' }, 'Created'), 400: error('VALIDATION_FAILED'), 403: error('FORBIDDEN') } },
    },
    '/api/keys/{id}': {
      delete: { summary: 'Revoke an API key (admin)', tags: ['accounts'], security: bearer, parameters: [idParam('API key id')], responses: { 204: { description: 'Revoked' }, 403: error('FORBIDDEN'), 404: error('NOT_FOUND') } },
    },
    '/api/lexicon': { get: { summary: 'The pronunciation lexicons, with their entry counts', tags: ['pronunciation'], security: bearer, responses: { 200: json({ type: 'object' }) } } },
    '/api/lexicon/{language}': {
      get: { summary: "One language's lexicon: entries {match, say, caseSensitive}", tags: ['pronunciation'], security: bearer, parameters: [langParam], responses: { 200: json({ type: 'object' }), 404: error('NOT_FOUND') } },
      put: { summary: "Replace a language's lexicon (editor); answers with the articles that contain the changed words", tags: ['pronunciation'], security: bearer, parameters: [langParam], requestBody: body, responses: { 200: json({ type: 'object' }), 400: error('VALIDATION_FAILED'), 403: error('FORBIDDEN') } },
    },
    '/api/lexicon/{language}/rerender': {
      post: { summary: 'Re-render the articles that contain the given words (only the segments with them are synthesized again)', tags: ['pronunciation'], security: bearer, parameters: [langParam], requestBody: body, responses: { 202: json({ type: 'object' }, 'Queued'), 403: error('FORBIDDEN') } },
    },
    '/api/lexicon/{language}/hear': {
      post: { summary: 'Speak an entry {match, say, voice?} with a voice profile (WAV)', tags: ['pronunciation'], security: bearer, parameters: [langParam], requestBody: body, responses: { 200: { description: 'WAV', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } }, 400: error('VALIDATION_FAILED') } },
    },
    '/api/figures': {
      get: { summary: 'Listening figures per article and day: starts, 25/50/75/100 % completion, podcast downloads (IAB-style)', tags: ['figures'], security: bearer, parameters: [daysParam], responses: { 200: json({ type: 'object' }) } },
    },
    '/api/figures.csv': {
      get: { summary: 'The same figures as CSV', tags: ['figures'], security: bearer, parameters: [daysParam], responses: { 200: { description: 'CSV', content: { 'text/csv': {} } } } },
    },
    '/api/voices/{profile}/sample': {
      get: { summary: "A spoken sample of a voice profile, for the dashboard (WAV)", tags: ['admin'], security: bearer, parameters: [{ name: 'profile', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'WAV', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } }, 400: error('UNKNOWN_PROFILE'), 429: error('RATE_LIMITED') } },
    },
    '/admin/assets/admin.css': { get: { summary: "The dashboard's style sheet", tags: ['dashboard'], responses: { 200: { description: 'CSS', content: { 'text/css': {} } } } } },
    '/admin/assets/admin.js': { get: { summary: "The dashboard's script", tags: ['dashboard'], responses: { 200: { description: 'JavaScript', content: { 'text/javascript': {} } } } } },
    '/admin/login': {
      get: { summary: 'The sign-in page', tags: ['dashboard'], responses: { 200: html } },
      post: { summary: 'Sign in (form: username, password); sets the session cookie. Wrong passwords are rate-limited', tags: ['dashboard'], responses: { 303: { description: 'Signed in: to the dashboard' }, 401: html, 403: error('CSRF_FAILED: a cross-site form'), 429: error('RATE_LIMITED') } },
    },
    '/admin/logout': { post: { summary: 'Sign out (ends the session)', tags: ['dashboard'], responses: { 303: { description: 'To the sign-in page' } } } },
    '/admin': { get: { summary: 'Dashboard: articles with live status, search and filter, add an article', tags: ['dashboard'], responses: { 200: html, 303: { description: 'Not signed in: to the sign-in page' } } } },
    '/admin/articles/{id}': { get: { summary: 'Dashboard: one article, its script, player, voice, re-render and delete', tags: ['dashboard'], parameters: [idParam()], responses: { 200: html, 404: html } } },
    '/admin/briefings': { get: { summary: 'Dashboard: briefings, compose from today\'s stories, the schedule', tags: ['dashboard'], responses: { 200: html } } },
    '/admin/pronunciation': { get: { summary: 'Dashboard: the lexicon of each language, hear and save entries', tags: ['dashboard'], responses: { 200: html } } },
    '/admin/voices': { get: { summary: 'Dashboard: voice profiles with samples', tags: ['dashboard'], responses: { 200: html } } },
    '/admin/figures': { get: { summary: 'Dashboard: listening figures with charts and a CSV export', tags: ['dashboard'], responses: { 200: html } } },
    '/admin/keys': { get: { summary: 'Dashboard: API keys (admin)', tags: ['dashboard'], responses: { 200: html, 403: html } } },
    '/admin/users': { get: { summary: 'Dashboard: users and roles (admin)', tags: ['dashboard'], responses: { 200: html, 403: html } } },
    '/admin/sources': { get: { summary: 'Dashboard: sources with their health and recent items; poll, enable/disable, add and delete (changes: admin)', tags: ['dashboard'], responses: { 200: html } } },
    '/admin/settings': { get: { summary: 'Dashboard: run-time settings with their defaults and a reset per field (admin)', tags: ['dashboard'], responses: { 200: html, 403: html } } },
    '/openapi.json': { get: { summary: 'This document', tags: ['operations'], responses: { 200: json({ type: 'object' }) } } },
    '/': { get: { summary: 'Public home page: the show, its feeds, the latest published episodes and the embed snippet (nothing private)', tags: ['public'], responses: { 200: { description: 'HTML', content: { 'text/html': {} } } } } },

    '/listen/{id}': {
      ...preflight('GET, HEAD'),
      get: {
        summary: 'Listen: a redirect to the episode file when ready, else the audio streamed as it renders',
        tags: ['public'],
        parameters: [idParam()],
        responses: {
          200: { description: 'Not ready yet: audio/mpeg, chunked, X-Briefcast-Progressive: 1', content: { 'audio/mpeg': { schema: { type: 'string', format: 'binary' } } } },
          302: { description: 'Ready (or re-rendering): Location is the versioned audio file' },
          404: error('ARTICLE_NOT_FOUND'),
          503: error('EPISODE_NOT_READY: the render failed, or cannot be streamed right now'),
        },
      },
    },
    '/listen/{id}/info.json': {
      get: { summary: 'Status, progress and URLs of an article\'s episode (what the player polls)', tags: ['public'], parameters: [idParam()], responses: { 200: json(ref('ArticleInfo')), 404: error('ARTICLE_NOT_FOUND') } },
    },
    '/listen/{id}/{file}': {
      ...preflight('GET, HEAD'),
      get: {
        summary: 'Redirect to the current versioned transcript.vtt, chapters.json or timings.json',
        tags: ['public'],
        parameters: [idParam(), { name: 'file', in: 'path', required: true, schema: { enum: ['transcript.vtt', 'chapters.json', 'timings.json'] } }],
        responses: { 302: { description: 'Location: the versioned file' }, 404: error('ARTICLE_NOT_FOUND, NOT_FOUND or EPISODE_NOT_READY') },
      },
    },
    '/listen/{id}/events': {
      ...preflight('POST, OPTIONS'),
      post: {
        summary: 'Count a listen: {"event":"start"} or {"event":"progress","percent":25|50|75|100}; only per-day counters are stored',
        tags: ['public'],
        parameters: [idParam()],
        requestBody: {
          required: true,
          description: 'JSON, usually sent as text/plain (a simple CORS request: no preflight); at most 1 KB',
          content: { 'text/plain': { schema: ref('ListenEvent') }, 'application/json': { schema: ref('ListenEvent') } },
        },
        responses: {
          204: { description: 'Counted' },
          400: error('INVALID_JSON or VALIDATION_FAILED'),
          404: error('ARTICLE_NOT_FOUND'),
          413: error('INPUT_TOO_LARGE'),
          429: error('RATE_LIMITED (Retry-After)'),
        },
      },
    },
    '/audio/{id}/{file}': {
      ...preflight('GET, HEAD'),
      get: { summary: 'Versioned episode files: <hash>.mp3|.m4a|.vtt|.chapters.json|.timings.json', tags: ['public'], parameters: [idParam('Article id'), fileParam('<hash>.<ext>')], responses: fileResponses },
    },
    '/assets/{file}': {
      ...preflight('GET, HEAD'),
      get: { summary: 'An uploaded asset (cover art, jingle) by its generated name; immutable', tags: ['public'], parameters: [fileParam('Generated file name')], responses: fileResponses },
    },
    '/player.js': {
      get: { summary: 'The player script (<briefcast-player>); cached for a day, revalidated in the background', tags: ['public'], responses: { 200: { description: 'JavaScript', content: { 'text/javascript': {} } }, 304: { description: 'Not modified' } } },
    },
    '/player/{file}': {
      get: {
        summary: 'The player script by content hash (<hash>.js), immutable; an old hash redirects to the current one',
        tags: ['public'],
        parameters: [fileParam('<16 hex>.js')],
        responses: { 200: { description: 'JavaScript', content: { 'text/javascript': {} } }, 302: { description: 'Old hash: Location is the current script' }, 404: error('NOT_FOUND') },
      },
    },
    '/embed/{id}': {
      get: {
        summary: 'The iframe player page',
        tags: ['public'],
        parameters: [
          idParam(),
          { name: 'theme', in: 'query', schema: { enum: ['light', 'dark'] } },
          { name: 'color', in: 'query', schema: { type: 'string' }, description: 'Button colour, e.g. %23c0392b' },
        ],
        responses: { 200: { description: 'HTML', content: { 'text/html': {} } }, 404: { description: 'The same page; the widget says the audio is not available', content: { 'text/html': {} } } },
      },
    },
    '/feed.xml': { get: { summary: 'The show\'s main podcast feed: briefings, newest first', tags: ['public'], responses: { 200: { description: 'RSS 2.0', content: { 'application/rss+xml': {} } }, 304: { description: 'Not modified' } } } },
    '/feeds/articles.xml': { get: { summary: 'One episode per article, newest published first', tags: ['public'], responses: { 200: { description: 'RSS 2.0', content: { 'application/rss+xml': {} } }, 304: { description: 'Not modified' } } } },
    '/briefings/{id}/{file}': {
      ...preflight('GET, HEAD'),
      get: { summary: 'Versioned briefing files: <hash>.mp3|.m4a|.vtt|.chapters.json|.timings.json', tags: ['public'], parameters: [idParam('Briefing id'), fileParam('<hash>.<ext>')], responses: fileResponses },
    },

    '/api/articles': {
      post: {
        summary: 'Add an article (JSON with html | markdown | text | url, or a multipart upload with a file field); it renders in the job queue',
        tags: ['admin'],
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: ref('ArticleInput') }, 'multipart/form-data': { schema: ref('ArticleUpload') } } },
        responses: {
          201: json(ref('Article'), 'Created (status queued); Location: /api/articles/{id}'),
          400: error('INVALID_JSON, VALIDATION_FAILED, EMPTY_INPUT, INVALID_ENCODING'),
          401: error('UNAUTHORIZED'),
          409: error('CONFLICT: the externalId exists'),
          413: error('FILE_TOO_LARGE or INPUT_TOO_LARGE'),
          415: error('UNSUPPORTED_MEDIA_TYPE or BINARY_INPUT'),
          422: error('NO_ARTICLE_TEXT, URL_NOT_ALLOWED, UNSUPPORTED_LANGUAGE'),
          502: error('FETCH_FAILED'),
        },
      },
      get: {
        summary: 'List articles, newest first',
        tags: ['admin'],
        security: bearer,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'status', in: 'query', schema: { enum: ['queued', 'rendering', 'ready', 'failed'] } },
        ],
        responses: {
          200: json({ type: 'object', properties: { items: { type: 'array', items: ref('Article') }, total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' }, nextOffset: { type: ['integer', 'null'] } } }),
          400: error('VALIDATION_FAILED'),
          401: error('UNAUTHORIZED'),
        },
      },
    },
    '/api/articles/{id}': {
      get: {
        summary: 'One article: status, progress, URLs, segment timings and the render job',
        tags: ['admin'],
        security: bearer,
        parameters: [idParam()],
        responses: { 200: json(ref('ArticleDetail')), 401: error('UNAUTHORIZED'), 404: error('ARTICLE_NOT_FOUND') },
      },
      put: {
        summary: 'Edit: send only what changed (absent fields keep their values; no body keeps the text). Only changed segments are synthesized again; the old episode stays served until the new one is complete',
        tags: ['admin'],
        security: bearer,
        parameters: [idParam()],
        requestBody: { content: { 'application/json': { schema: ref('ArticleInput') }, 'multipart/form-data': { schema: ref('ArticleUpload') } } },
        responses: { 200: json(ref('Article')), 400: error('VALIDATION_FAILED'), 401: error('UNAUTHORIZED'), 404: error('ARTICLE_NOT_FOUND'), 409: error('CONFLICT: the externalId belongs to another article') },
      },
      delete: {
        summary: 'Delete the article, its render job and its episode files (unless another episode shares them)',
        tags: ['admin'],
        security: bearer,
        parameters: [idParam()],
        responses: { 204: { description: 'Deleted' }, 401: error('UNAUTHORIZED'), 404: error('ARTICLE_NOT_FOUND') },
      },
    },
    '/api/articles/{id}/stats': {
      get: {
        summary: 'Listen counts per UTC day',
        tags: ['admin'],
        security: bearer,
        parameters: [idParam(), { name: 'days', in: 'query', schema: { type: 'integer', default: 90 } }],
        responses: { 200: json(ref('ListenStats')), 400: error('VALIDATION_FAILED'), 401: error('UNAUTHORIZED'), 404: error('ARTICLE_NOT_FOUND') },
      },
    },
    '/api/assets': {
      post: {
        summary: 'Upload cover art (JPEG/PNG) or a jingle (any audio ffprobe reads)',
        tags: ['admin'],
        security: bearer,
        requestBody: {
          required: true,
          content: { 'multipart/form-data': { schema: { type: 'object', required: ['kind', 'file'], properties: { kind: { enum: ['cover', 'jingle'] }, file: { type: 'string', format: 'binary' } } } } },
        },
        responses: {
          201: json(ref('Asset'), 'Created; Location: /api/assets/{id}'),
          400: error('VALIDATION_FAILED'),
          401: error('UNAUTHORIZED'),
          413: error('FILE_TOO_LARGE'),
          415: error('UNSUPPORTED_MEDIA_TYPE, INVALID_IMAGE or INVALID_AUDIO'),
        },
      },
      get: {
        summary: 'List assets',
        tags: ['admin'],
        security: bearer,
        parameters: [{ name: 'kind', in: 'query', schema: { enum: ['cover', 'jingle'] } }],
        responses: { 200: json({ type: 'object', properties: { items: { type: 'array', items: ref('Asset') } } }), 400: error('VALIDATION_FAILED'), 401: error('UNAUTHORIZED') },
      },
    },
    '/api/assets/{id}': {
      get: { summary: 'One asset', tags: ['admin'], security: bearer, parameters: [idParam('Asset id')], responses: { 200: json(ref('Asset')), 401: error('UNAUTHORIZED'), 404: error('NOT_FOUND') } },
      delete: { summary: 'Delete an asset and its file', tags: ['admin'], security: bearer, parameters: [idParam('Asset id')], responses: { 204: { description: 'Deleted' }, 401: error('UNAUTHORIZED'), 404: error('NOT_FOUND') } },
    },
    '/api/briefings': {
      post: {
        summary: 'Make a briefing: several articles joined into one episode; it renders in the job queue',
        tags: ['admin'],
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: ref('BriefingInput') } } },
        responses: {
          202: json(ref('Briefing'), 'Accepted; Location: /api/briefings/{id}'),
          400: error('VALIDATION_FAILED'),
          401: error('UNAUTHORIZED'),
          404: error('ARTICLE_NOT_FOUND (details.unknownIds)'),
          422: error('BRIEFING_EMPTY (details.skipped)'),
        },
      },
      get: {
        summary: 'List briefings, newest first',
        tags: ['admin'],
        security: bearer,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0 } },
        ],
        responses: {
          200: json({ type: 'object', properties: { items: { type: 'array', items: ref('Briefing') }, total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' } } }),
          400: error('VALIDATION_FAILED'),
          401: error('UNAUTHORIZED'),
        },
      },
    },
    '/api/briefings/{id}': {
      get: { summary: 'One briefing', tags: ['admin'], security: bearer, parameters: [idParam('Briefing id')], responses: { 200: json(ref('Briefing')), 401: error('UNAUTHORIZED'), 404: error('NOT_FOUND') } },
      delete: { summary: 'Delete a briefing (its files go unless shared)', tags: ['admin'], security: bearer, parameters: [idParam('Briefing id')], responses: { 204: { description: 'Deleted' }, 401: error('UNAUTHORIZED'), 404: error('NOT_FOUND') } },
    },
    '/api/briefings/{id}/render': {
      post: { summary: 'Render the briefing again', tags: ['admin'], security: bearer, parameters: [idParam('Briefing id')], responses: { 202: json(ref('Briefing'), 'Accepted'), 401: error('UNAUTHORIZED'), 404: error('NOT_FOUND') } },
    },
  },
  components: {
    securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'The API key: BRIEFCAST_API_KEY, or the one generated into data/api-key on first start' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string', description: 'UPPER_SNAKE code, see docs/errors.md' }, message: { type: 'string' }, help: { type: 'string' }, details: {} },
          },
        },
      },
      Readiness: {
        type: 'object',
        properties: {
          status: { enum: ['ready', 'not-ready'] },
          checks: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } },
          jobs: { type: 'object' },
          eventLoop: { type: 'object', properties: { p50Ms: { type: 'number' }, p99Ms: { type: 'number' }, maxMs: { type: 'number' } } },
        },
      },
      ArticleInput: {
        type: 'object',
        description: 'One of html, markdown, text or url; the other fields are optional',
        properties: {
          externalId: { type: ['string', 'null'], maxLength: 200, description: 'The site\'s own id; every /api/articles/{id} and /listen/{id} route accepts it' },
          url: { type: ['string', 'null'], format: 'uri', description: 'Fetched when no body is given (size and time limits; private addresses need BRIEFCAST_FETCH_ALLOWLIST)' },
          title: { type: ['string', 'null'], maxLength: 1000 },
          html: { type: 'string' },
          markdown: { type: 'string' },
          text: { type: 'string' },
          author: { type: ['string', 'null'], maxLength: 500 },
          publishedAt: { type: ['string', 'null'], description: 'ISO 8601 date' },
          language: { type: ['string', 'null'], description: 'BCP 47 tag, e.g. en or pt-BR; detected when absent' },
          voice: { type: ['string', 'null'], description: 'Voice profile id' },
        },
      },
      ArticleUpload: {
        type: 'object',
        description: 'A file (.html .md .txt .json) plus any ArticleInput field as a form field',
        properties: { file: { type: 'string', format: 'binary' }, externalId: { type: 'string' }, title: { type: 'string' }, author: { type: 'string' }, publishedAt: { type: 'string' }, language: { type: 'string' }, voice: { type: 'string' } },
      },
      ArticleInfo: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          externalId: { type: ['string', 'null'] },
          title: { type: 'string' },
          language: { type: 'string' },
          status: { enum: ['queued', 'rendering', 'ready', 'failed'] },
          progress: { type: 'number', minimum: 0, maximum: 1 },
          durationMs: { type: ['integer', 'null'] },
          audioUrl: { type: ['string', 'null'] },
          streamUrl: { type: 'string' },
          transcriptUrl: { type: ['string', 'null'] },
          chaptersUrl: { type: ['string', 'null'] },
          timingsUrl: { type: ['string', 'null'] },
          embedUrl: { type: 'string' },
          error: {},
        },
      },
      Article: {
        allOf: [
          ref('ArticleInfo'),
          {
            type: 'object',
            properties: {
              url: { type: ['string', 'null'] },
              author: { type: ['string', 'null'] },
              publishedAt: { type: ['string', 'null'] },
              voice: { type: ['string', 'null'] },
              profile: { type: 'string' },
              excerpt: { type: ['string', 'null'] },
              revision: { type: 'integer' },
              listenUrl: { type: 'string' },
              embed: { type: 'object', properties: { script: { type: 'string' }, iframe: { type: 'string' } } },
              episode: { type: ['object', 'null'] },
              createdAt: { type: 'string' },
              updatedAt: { type: 'string' },
            },
          },
        ],
      },
      ArticleDetail: {
        allOf: [ref('Article'), { type: 'object', properties: { segments: { type: ['array', 'null'], items: { type: 'object' } }, job: { type: ['object', 'null'] } } }],
      },
      ListenEvent: {
        oneOf: [
          { type: 'object', required: ['event'], properties: { event: { const: 'start' } } },
          { type: 'object', required: ['event', 'percent'], properties: { event: { const: 'progress' }, percent: { enum: [25, 50, 75, 100] } } },
        ],
      },
      ListenStats: {
        type: 'object',
        properties: { articleId: { type: 'string' }, totals: { type: 'object' }, days: { type: 'array', items: { type: 'object' } } },
      },
      Asset: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          kind: { enum: ['cover', 'jingle'] },
          file: { type: 'string' },
          originalName: { type: ['string', 'null'] },
          mimeType: { type: 'string' },
          bytes: { type: 'integer' },
          durationMs: { type: ['integer', 'null'] },
          width: { type: ['integer', 'null'] },
          height: { type: ['integer', 'null'] },
          createdAt: { type: 'string' },
          url: { type: 'string' },
          warnings: { type: 'array', items: { type: 'string' } },
        },
      },
      BriefingInput: {
        type: 'object',
        description: 'Exactly one of articleIds, stories or sinceHours',
        properties: {
          articleIds: { type: 'array', items: { type: 'string' }, maxItems: 100 },
          stories: {
            type: 'array',
            maxItems: 100,
            items: { type: 'object', required: ['articleId'], properties: { articleId: { type: 'string' }, mode: { enum: ['full', 'lede'] }, ledeSeconds: { type: 'integer' }, title: { type: 'string' } } },
          },
          sinceHours: { type: 'number', exclusiveMinimum: 0 },
          maxStories: { type: 'integer', minimum: 1, maximum: 100 },
          title: { type: 'string' },
          mode: { enum: ['full', 'lede'] },
          ledeSeconds: { type: 'integer', minimum: 5, maximum: 3600 },
          voice: { type: 'string' },
          language: { type: 'string' },
          date: { type: 'string', description: 'ISO date-time the opening names' },
          introJingle: { type: 'string' },
          outroJingle: { type: 'string' },
          allowPartial: { type: 'boolean' },
        },
      },
      Briefing: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          title: { type: 'string' },
          origin: { enum: ['api', 'schedule'] },
          day: { type: 'string' },
          language: { type: 'string' },
          voice: { type: 'string' },
          status: { enum: ['queued', 'rendering', 'ready', 'failed'] },
          progress: { type: 'number' },
          error: {},
          publishedAt: { type: 'string' },
          stories: { type: 'array', items: { type: 'object' } },
          skipped: { type: 'array', items: { type: 'object' } },
          durationMs: { type: ['integer', 'null'] },
          bytes: { type: ['integer', 'null'] },
          audioUrl: { type: ['string', 'null'] },
          transcriptUrl: { type: ['string', 'null'] },
          chaptersUrl: { type: ['string', 'null'] },
          timingsUrl: { type: ['string', 'null'] },
          chapters: {},
          loudness: {},
          feedGuid: { type: 'string' },
        },
      },
    },
  },
} as const

/** GET /openapi.json, with the service's own URL as the server. */
export function openapiRouter(deps: Pick<AppDeps, 'urls'>): express.Router {
  const router = express.Router()
  const body = JSON.stringify({ ...OPENAPI, servers: [{ url: deps.urls.base }] })
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Cache-Control', 'no-cache')
    res.type('application/json').send(body)
  })
  return router
}
