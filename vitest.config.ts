import { defineConfig } from 'vitest/config'

/**
 * Three tiers, one `npm test` (vitest runs every project):
 * - browser: the player in headless Chromium (*.browser.test.ts);
 * - service: tests that start the HTTP service, the render child or the CLI as
 *   a process, and those that run the real engines end to end (ffmpeg
 *   processes, espeak-ng workers, whole renders); listed here, and
 *   tests/tiers.test.ts fails when a unit-tier file starts one of them;
 * - unit: everything else, in-process and quick (`npx vitest run --project unit`, < 30 s).
 */
export const BROWSER_TESTS = ['tests/**/*.browser.test.ts']
export const SERVICE_TESTS = [
  'tests/audio/mp3-encoder.test.ts',
  'tests/cli/commands.test.ts',
  'tests/store/move.test.ts',
  'tests/hardening/children.test.ts',
  'tests/hardening/cover.test.ts',
  'tests/hardening/edits.test.ts',
  'tests/hardening/external-id.test.ts',
  'tests/hardening/input.test.ts',
  'tests/hardening/listen-limit.test.ts',
  'tests/hardening/public.test.ts',
  'tests/hardening/slow-clients.test.ts',
  'tests/hardening/startup.test.ts',
  'tests/hardening/trust-proxy.test.ts',
  'tests/script/spoken-forms.test.ts',
  'tests/tts/cloud-cli.test.ts',
  'tests/tts/cloud-service.test.ts',
  'tests/tts/sherpa-install.test.ts',
  'tests/tts/sherpa-service.test.ts',
  'tests/tts/usage.test.ts',
  'tests/audio/ffmpeg.test.ts',
  'tests/audio/mp3-join.test.ts',
  'tests/audio/render-cli.test.ts',
  'tests/briefing/cli.test.ts',
  'tests/briefing/render-child.test.ts',
  'tests/briefing/schedule.test.ts',
  'tests/build/build.test.ts',
  'tests/episodes/render-assembly.test.ts',
  'tests/episodes/render.test.ts',
  'tests/episodes/render-stages.test.ts',
  'tests/feed/service.test.ts',
  'tests/fleet/fleet.test.ts',
  'tests/fleet/full-fleet.test.ts',
  'tests/fleet/db-outage.test.ts',
  'tests/fleet/poison.test.ts',
  'tests/fleet/briefing-lock.test.ts',
  'tests/fleet/redis-outage.test.ts',
  'tests/fleet/follow-connections.test.ts',
  'tests/http/compression.test.ts',
  'tests/http/openapi.test.ts',
  'tests/http/service.test.ts',
  'tests/storage/s3-service.test.ts',
  'tests/jobs/restart.test.ts',
  'tests/player/routes.test.ts',
  'tests/script/cli.test.ts',
  'tests/tts/cli.test.ts',
  'tests/tts/espeak-wasm.test.ts',
  'tests/tts/espeak.test.ts',
  'tests/tts/service.test.ts',
  'tests/integrations/wordpress.test.ts',
  'tests/sources/acceptance.test.ts',
  'tests/sources/sources.test.ts',
  'tests/sources/webhooks.test.ts',
  'tests/store/postgres-service.test.ts',
  'tests/admin/auth.test.ts',
  'tests/admin/downloads.test.ts',
  'tests/admin/pronunciation.test.ts',
  'tests/admin/public.test.ts',
  'tests/admin/settings.test.ts',
  'tests/cli/users.test.ts',
  'tests/hardening/chaos.test.ts',
  'tests/hardening/fuzz.test.ts',
  'tests/fleet/bull-queue.test.ts',
  'tests/storage/blob-store.test.ts',
  'tests/storage/serve-blob.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machines: keep heavy audio suites from starving each other
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/**/*.test.ts'], exclude: [...BROWSER_TESTS, ...SERVICE_TESTS] } },
      { extends: true, test: { name: 'service', include: SERVICE_TESTS } },
      { extends: true, test: { name: 'browser', include: BROWSER_TESTS } },
    ],
  },
})
