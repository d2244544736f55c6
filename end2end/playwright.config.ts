import { defineConfig } from '@playwright/test';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';

// One throw-away database per run, so every run starts clean.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-e2e-'));
export const PORT = Number(process.env.BROOK_E2E_PORT ?? 3311);
export const BASE_URL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
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
  webServer: {
    // The release build, exactly as `make run` serves it, from the repository root.
    command: '../target/release/brook',
    cwd: __dirname,
    url: `${BASE_URL}/health`,
    reuseExistingServer: true,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LEPTOS_SITE_ROOT: path.join(__dirname, '..', 'target', 'site'),
      LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
      DATABASE_URL: `sqlite://${path.join(dataDir, 'e2e.db')}`,
      BROOK_PROVIDER: 'demo',
      BROOK_DEMO_TOKEN_MS: '40',
      BROOK_AUTH_RATE_LIMIT_PER_MIN: '0',
      BROOK_RATE_LIMIT_PER_MIN: '0',
      BROOK_DAILY_TOKENS_GUEST: '0',
      BROOK_DAILY_TOKENS_VISITOR: '0',
      // A visitor goes offline 2 s after its last connection closed (30 s by default, §9.2).
      BROOK_PRESENCE_GRACE_SECS: '2',
      RUST_LOG: 'warn,brook_server=info',
    },
  },
});
