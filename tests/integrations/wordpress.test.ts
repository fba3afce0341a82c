/**
 * The WordPress plugin (integrations/wordpress) end to end, against a real
 * WordPress: Debian's wordpress package, PHP's built-in web server on a free
 * port, a database of its own on the MariaDB server at 127.0.0.1:3306 (root,
 * no password), and the real briefcast service. Posts are published, updated,
 * scheduled, unpublished and deleted through WordPress's own PHP API
 * (wp_insert_post & co. in `php` scripts that load WordPress); the plugin's
 * signed webhooks make the audio appear, and the rendered post page carries
 * the player snippet.
 *
 * Without WordPress, PHP or MariaDB the test is skipped with the reason
 * printed, except under CI=true, where it fails (.ci/run installs them).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { paragraphs, postJson, startTestService, type TestService } from '../http/helpers.ts'

const run = promisify(execFile)
const WP = '/usr/share/wordpress'
const PLUGIN = path.resolve(import.meta.dirname, '../../integrations/wordpress')

async function missing(): Promise<string | undefined> {
  if (!existsSync(path.join(WP, 'wp-settings.php'))) return `${WP} not found (apt-get install wordpress php-cli php-mysql)`
  try {
    const { stdout } = await run('php', ['-m'])
    if (!/mysqli/i.test(stdout)) return 'PHP has no mysqli (apt-get install php-mysql)'
  } catch {
    return 'php not found (apt-get install php-cli)'
  }
  const reachable = await new Promise<boolean>((resolve) => {
    const s = net.connect(3306, '127.0.0.1', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })
  if (!reachable) return 'MariaDB is not running on 127.0.0.1:3306 (service mariadb start)'
  return undefined
}

const reason = await missing()
if (reason && process.env.CI) throw new Error(`WordPress test cannot run under CI: ${reason}`)
if (reason) console.warn(`WordPress plugin test SKIPPED: ${reason}`)

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

describe.skipIf(reason !== undefined)('WordPress plugin against a real WordPress', () => {
  let svc: TestService
  let dir: string
  let php: ChildProcess | undefined
  let site: string
  const db = `briefcast_wp_${randomBytes(4).toString('hex')}`
  const mysql = (sql: string) => run('mysql', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-e', sql])
  /** Runs tests/.../wp.php <command> <json> inside WordPress; returns its JSON output. */
  const wp = async (command: string, args: Record<string, unknown> = {}) => {
    const { stdout } = await run('php', [path.join(dir, 'wp.php'), command, JSON.stringify(args)], { cwd: dir, timeout: 120_000 })
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>
  }

  beforeAll(async () => {
    svc = await startTestService({ 'fetch.allowlist': ['127.0.0.1'] })
    const src = await postJson(svc, '/api/sources', { id: 'wordpress', kind: 'webhook' })
    expect(src.status).toBe(201)
    const { secret } = (await src.json()) as { secret: string }

    dir = mkdtempSync(path.join(os.tmpdir(), 'briefcast-wp-'))
    const port = await freePort()
    site = `http://127.0.0.1:${port}`
    mkdirSync(path.join(dir, 'wp-content/plugins'), { recursive: true })
    cpSync(PLUGIN, path.join(dir, 'wp-content/plugins/briefcast'), { recursive: true })
    symlinkSync(path.join(WP, 'wp-content/themes'), path.join(dir, 'wp-content/themes'))
    // Our own configuration instead of Debian's wp-config.php (which reads /etc/wordpress): the same constants.
    writeFileSync(
      path.join(dir, 'wp-env.php'),
      `<?php
define( 'ABSPATH', '${WP}/' );
define( 'DB_NAME', '${db}' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', '127.0.0.1:3306' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_CONTENT_DIR', '${dir}/wp-content' );
define( 'WP_CONTENT_URL', '${site}/wp-content' );
define( 'WP_HOME', '${site}' );
define( 'WP_SITEURL', '${site}' );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_DEBUG', false );
$table_prefix = 'wp_';
`,
    )
    // php -S router: static files from WordPress's directory, everything else through WordPress's front controller.
    writeFileSync(
      path.join(dir, 'router.php'),
      `<?php
$p = parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( '/' !== $p && is_file( '${WP}' . $p ) && ! str_ends_with( $p, '.php' ) ) { return false; }
require __DIR__ . '/wp-env.php';
define( 'WP_USE_THEMES', true );
require ABSPATH . 'wp-settings.php';
wp();
require ABSPATH . WPINC . '/template-loader.php';
`,
    )
    writeFileSync(
      path.join(dir, 'wp.php'),
      `<?php
$command = $argv[1];
$args = json_decode( $argv[2], true );
if ( 'install' === $command ) { define( 'WP_INSTALLING', true ); }
require __DIR__ . '/wp-env.php';
$_SERVER['HTTP_HOST'] = parse_url( WP_HOME, PHP_URL_HOST ) . ':' . parse_url( WP_HOME, PHP_URL_PORT );
require ABSPATH . 'wp-settings.php';
switch ( $command ) {
	case 'install':
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
		wp_install( 'Example News', 'admin', 'admin@example.com', true, '', 'correct-horse-battery' );
		$r = activate_plugin( 'briefcast/briefcast.php' );
		if ( is_wp_error( $r ) ) { fwrite( STDERR, $r->get_error_message() ); exit( 1 ); }
		update_option( 'briefcast_settings', array( 'service_url' => $args['service'], 'source' => 'wordpress', 'secret' => $args['secret'], 'auto_insert' => true ) );
		echo json_encode( array( 'active' => is_plugin_active( 'briefcast/briefcast.php' ) ) ), "\\n";
		break;
	case 'insert':
		wp_set_current_user( 1 );
		$id = wp_insert_post( $args + array( 'post_author' => 1 ), true );
		if ( is_wp_error( $id ) ) { fwrite( STDERR, $id->get_error_message() ); exit( 1 ); }
		echo json_encode( array( 'id' => $id, 'delivery' => get_post_meta( $id, '_briefcast_last_delivery', true ) ) ), "\\n";
		break;
	case 'update':
		wp_set_current_user( 1 );
		$id = wp_update_post( $args, true );
		if ( is_wp_error( $id ) ) { fwrite( STDERR, $id->get_error_message() ); exit( 1 ); }
		echo json_encode( array( 'id' => $id, 'delivery' => get_post_meta( $id, '_briefcast_last_delivery', true ) ) ), "\\n";
		break;
	case 'delete':
		wp_set_current_user( 1 );
		$post = wp_delete_post( $args['ID'], true );
		echo json_encode( array( 'deleted' => (bool) $post ) ), "\\n";
		break;
}
`,
    )
    await mysql(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`)
    php = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', WP, path.join(dir, 'router.php')], { stdio: 'ignore' })
    const installed = await wp('install', { service: svc.url, secret })
    expect(installed.active).toBe(true)
    // The built-in server is up when it answers.
    for (let i = 0; ; i++) {
      try {
        await fetch(site + '/')
        break
      } catch (err) {
        if (i > 100) throw err
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }, 180_000)

  afterAll(async () => {
    php?.kill()
    await mysql(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {})
    await svc?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const info = (externalId: string) => fetch(`${svc.url}/listen/${externalId}/info.json`)
  async function waitReady(externalId: string, revision = 1): Promise<{ audioUrl: string; title: string }> {
    const deadline = Date.now() + 180_000
    for (;;) {
      const r = await svc.api(`/api/articles/${externalId}`)
      const a = (await r.json()) as { status: string; revision: number; error: unknown }
      if (a.status === 'failed') throw new Error(`render failed: ${JSON.stringify(a.error)}`)
      if (r.status === 200 && a.status === 'ready' && a.revision === revision) return (await (await info(externalId)).json()) as { audioUrl: string; title: string }
      if (Date.now() > deadline) throw new Error(`article ${externalId} not ready: ${JSON.stringify(a)}`)
      await new Promise((res) => setTimeout(res, 300))
    }
  }

  let postId: number
  it('publishing a post makes its audio appear, and the post page carries the player', async () => {
    const t0 = Date.now()
    const body = paragraphs(3, 'The harbour reopened on Monday').split('\n\n').map((p) => `<!-- wp:paragraph --><p>${p}</p><!-- /wp:paragraph -->`).join('\n')
    const out = await wp('insert', { post_title: 'Harbour reopens after storm', post_content: body, post_status: 'publish' })
    postId = out.id as number
    expect(out.delivery).toMatchObject({ event: 'upsert', status: 201 })
    const ready = await waitReady(`wp-${postId}`)
    console.log(`WordPress: wp_insert_post -> audio playable in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    expect(ready.title).toBe('Harbour reopens after storm')
    const audio = await fetch(ready.audioUrl)
    expect(audio.status).toBe(200)
    expect(audio.headers.get('content-type')).toBe('audio/mpeg')
    const article = (await (await svc.api(`/api/articles/wp-${postId}`)).json()) as { url: string; author: string }
    // The post's permalink (WordPress's default pretty links), served by the built-in server.
    expect(article.url).toMatch(new RegExp(`^${site.replace(/[.]/g, '\\.')}/\\d{4}/\\d{2}/\\d{2}/harbour-reopens-after-storm/$`))
    const res = await fetch(article.url)
    expect(res.status).toBe(200)
    const page = await res.text()
    expect(page).toContain(`<briefcast-player article="wp-${postId}"></briefcast-player>`)
    expect(page).toMatch(new RegExp(`<script[^>]* defer src=["']${svc.url.replace(/[.]/g, '\\.')}/player\\.js`))
    // At the top of the post: before its first paragraph.
    expect(page.indexOf('<briefcast-player')).toBeLessThan(page.indexOf('The harbour reopened on Monday, part 1'))
  }, 240_000)

  it('an edit re-renders, unpublishing removes the audio, a scheduled post stays private, deleting removes it', async () => {
    const edited = await wp('update', { ID: postId, post_content: '<p>' + paragraphs(2, 'Corrected: the harbour reopened on Tuesday').replace(/\n\n/g, '</p><p>') + '</p>' })
    expect(edited.delivery).toMatchObject({ event: 'upsert', status: 200 })
    await waitReady(`wp-${postId}`, 2)
    const unpublished = await wp('update', { ID: postId, post_status: 'draft' })
    expect(unpublished.delivery).toMatchObject({ event: 'delete', status: 200 })
    expect((await info(`wp-${postId}`)).status).toBe(404)

    const future = new Date(Date.now() + 3600_000)
    const gmt = future.toISOString().slice(0, 19).replace('T', ' ')
    const scheduled = await wp('insert', { post_title: 'Budget at noon', post_content: '<p>' + paragraphs(1, 'The budget') + '</p>', post_status: 'future', post_date_gmt: gmt, post_date: gmt })
    expect(scheduled.delivery).toMatchObject({ event: 'upsert', status: 201 })
    const admin = (await (await svc.api(`/api/articles/wp-${scheduled.id as number}`)).json()) as { publishedAt: string }
    expect(Date.parse(admin.publishedAt)).toBeGreaterThan(Date.now() + 3000_000)
    expect((await info(`wp-${scheduled.id as number}`)).status).toBe(404) // embargoed until its time

    const del = await wp('delete', { ID: scheduled.id })
    expect(del.deleted).toBe(true)
    expect((await svc.api(`/api/articles/wp-${scheduled.id as number}`)).status).toBe(404)
  }, 240_000)
})
