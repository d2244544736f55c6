import { defineConfig } from '@playwright/test';

/**
 * The browser benchmarks (`make bench-render`), apart from the test suite:
 * `make test` runs `./tests` with the main config and never these. They print
 * numbers and write `bench-results/`; nothing here asserts on time.
 */
export default defineConfig({
  testDir: '.',
  testMatch: /.*\.bench\.ts/,
  // A run may give up on one reply after BENCH_RENDER_LIMIT_S (5 minutes by default) and go on.
  timeout: 0,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-results-bench',
  use: {
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
  },
});
