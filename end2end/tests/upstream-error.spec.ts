/**
 * Issue 17, "upstream error, then Retry": Brook in front of testkit's fake
 * OpenAI-compatible upstream (the one stand-in the project allows), which
 * fails with HTTP 500. The page shows a human sentence (never the provider's
 * raw text), a Retry button, and Retry streams a reply once the upstream is back.
 *
 * This spec runs its own Brook (the release binary, `BROOK_PROVIDER=openai`,
 * a throw-away SQLite database) and the fake upstream (`fake-upstream`, a
 * testkit binary, built here if missing).
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { test, expect } from './fixtures';
import { PORT } from '../playwright.config';
import { signUp, openChat, send, watchReply, sessionIdFromUrl, storedMessages } from './helpers';

test.describe.configure({ timeout: 180_000 });

const ROOT = path.join(__dirname, '..', '..');
const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target');
const BROOK_PORT = PORT + 7;
const BROOK_URL = `http://127.0.0.1:${BROOK_PORT}`;
const shot = (name: string) => path.join(ROOT, 'docs', 'screenshots', `journey-${name}.png`);

let upstream: ChildProcess | undefined;
let brook: ChildProcess | undefined;
let control = '';

async function firstLine(p: ChildProcess): Promise<string> {
  const rl = readline.createInterface({ input: p.stdout! });
  return await new Promise((resolve, reject) => {
    rl.once('line', resolve);
    p.once('exit', (code) => reject(new Error(`exited with ${code} before printing its address`)));
  });
}

async function waitHealthy(url: string) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became healthy`);
}

async function upstreamDefault(body: object) {
  const res = await fetch(`${control}/default`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.ok).toBe(true);
}

test.beforeAll(async () => {
  const bin = path.join(TARGET, 'debug', 'fake-upstream');
  // `cargo test --all-targets` (make test) builds it for testkit's own test of
  // the binary; build it here only when running this spec alone.
  if (!fs.existsSync(bin)) {
    execFileSync('cargo', ['build', '-p', 'brook-testkit', '--bin', 'fake-upstream'], { cwd: ROOT, stdio: 'inherit' });
  }
  upstream = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const addr = JSON.parse(await firstLine(upstream));
  control = addr.control;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-e2e-upstream-'));
  brook = spawn(path.join(ROOT, 'target', 'release', 'brook'), [], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      LEPTOS_SITE_ROOT: path.join(ROOT, 'target', 'site'),
      LEPTOS_SITE_ADDR: `127.0.0.1:${BROOK_PORT}`,
      DATABASE_URL: `sqlite://${path.join(dataDir, 'e2e.db')}`,
      BROOK_PROVIDER: 'openai',
      OPENAI_BASE_URL: addr.base_url,
      OPENAI_API_KEY: 'sk-test-not-a-real-key',
      BROOK_AUTH_RATE_LIMIT_PER_MIN: '0',
      BROOK_RATE_LIMIT_PER_MIN: '0',
      RUST_LOG: 'warn',
    },
  });
  await waitHealthy(BROOK_URL);
});

test.afterAll(() => {
  brook?.kill();
  upstream?.kill();
});

test.use({ baseURL: BROOK_URL });

test('the model fails: a human sentence and Retry; Retry streams the reply', async ({ page }) => {
  await signUp(page);
  await upstreamDefault({ status: 500 });
  await openChat(page, '/?new');
  await send(page, 'Will the model answer?');
  const session = await sessionIdFromUrl(page);
  const reply = page.locator('[data-role="assistant"]').last();
  // Brook retries a 500 before the first token, then gives up.
  await expect(reply).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
  const foot = reply.locator('.msg-foot');
  await expect(foot).toContainText('The model provider is unavailable right now.');
  // Nothing of the provider's own answer reaches the reader.
  const shown = (await reply.textContent()) ?? '';
  for (const raw of ['fake upstream error', '500', 'server_error', 'upstream answered', 'EventStream']) {
    expect(shown).not.toContain(raw);
  }
  const retry = page.locator('#regenerate');
  await expect(retry).toHaveText('↻ Retry');
  await page.screenshot({ path: shot('upstream-error') });

  // The provider is back: Retry streams a reply, token by token.
  await upstreamDefault({ tokens: 30, token_delay_ms: 40 });
  await retry.click();
  const texts = await watchReply(page, 60_000);
  await expect(page.locator('[data-role="assistant"]').last()).toHaveAttribute('data-status', 'complete');
  const final = texts[texts.length - 1];
  expect(final).toContain('w1 w2 w3');
  expect(final).toContain('w30');
  // It streamed: the reader saw it grow, not appear whole.
  expect(texts.filter((t) => t.length > 0 && t.length < final.length).length).toBeGreaterThan(2);
  await expect(page.locator('[data-role="assistant"]')).toHaveCount(1);
  await expect(page.locator('[data-role="assistant"] .status-note.error')).toHaveCount(0);
  const msgs = await storedMessages(page.request, session);
  expect(msgs.map((m: any) => [m.role, m.status])).toEqual([
    ['user', 'complete'],
    ['assistant', 'complete'],
  ]);
  await page.screenshot({ path: shot('upstream-error-retried') });
});
