/**
 * Issue 12's rendering benchmark: the main thread's busy time per token while
 * a long markdown reply streams in, in the app's chat page and in the widget.
 *
 * Real parts only: the release `brook` (BROOK_PROVIDER=openai) in front of
 * testkit's `fake-upstream`, which streams a generated markdown reply of 20 KB,
 * 100 KB and 1 MiB in pieces of 4 characters, one SSE chunk each (so one
 * `token` frame each), as fast as Brook takes them. Headless Chromium shows it.
 *
 * Busy time is Chrome's own account of the renderer's main thread, from the
 * DevTools protocol (`Performance.getMetrics`): `TaskDuration` (all tasks:
 * script, style, layout, parsing HTML) and `ScriptDuration` (script alone),
 * read just before the message is sent and again once the reply is complete;
 * the difference divided by the reply's token count is the cost per token.
 * A reply that is not complete after BENCH_RENDER_LIMIT_S seconds (300 by
 * default) is given up: its row says so and holds what was measured by then.
 *
 * Prints a table, writes `bench-results/render-<label>.json`; asserts nothing
 * about time. Run: `make bench-render` (BENCH_RENDER_LABEL=before|after,
 * BENCH_RENDER_SIZES=20000,100000 to choose sizes, BENCH_RENDER_SURFACES=app,widget;
 * `module` there runs render-module.bench.ts, the widget's renderer alone).
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { test, expect, Page } from '@playwright/test';
import { markdownReply } from './markdown-reply';

const ROOT = path.join(__dirname, '..', '..');
const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target');
const PORT = Number(process.env.BROOK_E2E_PORT ?? 3311);
const BROOK_PORT = PORT + 9;
const HOST_PORT = PORT + 10;
const BROOK_URL = `http://127.0.0.1:${BROOK_PORT}`;
const HOST_ORIGIN = `http://localhost:${HOST_PORT}`;
const LIMIT_S = Number(process.env.BENCH_RENDER_LIMIT_S ?? 300);
const LABEL = process.env.BENCH_RENDER_LABEL ?? 'run';
const PIECE = 4;
// 1 MiB less one piece: Brook cuts a reply off once it reaches 1 MiB (max_reply_bytes).
const SIZES = (process.env.BENCH_RENDER_SIZES ?? `20000,100000,${1024 * 1024 - PIECE}`).split(',').map(Number);
const SURFACES = (process.env.BENCH_RENDER_SURFACES ?? 'app,widget').split(',');

test.describe.configure({ mode: 'serial' });

interface Row {
  surface: string;
  bytes: number;
  tokens: number;
  finished: boolean;
  wall_s: number;
  task_ms: number;
  script_ms: number;
  task_ms_per_token: number;
  script_ms_per_token: number;
}

const rows: Row[] = [];
let upstream: ChildProcess | undefined;
let brook: ChildProcess | undefined;
let host: http.Server | undefined;
let control = '';
let botKey = '';

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

function fakeUpstreamBin(): string {
  const bin = path.join(TARGET, 'debug', 'fake-upstream');
  if (!fs.existsSync(bin)) {
    execFileSync('cargo', ['build', '-p', 'brook-testkit', '--bin', 'fake-upstream'], { cwd: ROOT, stdio: 'inherit' });
  }
  return bin;
}

async function startBrook(baseUrl: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-bench-render-'));
  brook = spawn(path.join(ROOT, 'target', 'release', 'brook'), [], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      LEPTOS_SITE_ROOT: path.join(ROOT, 'target', 'site'),
      LEPTOS_SITE_ADDR: `127.0.0.1:${BROOK_PORT}`,
      DATABASE_URL: `sqlite://${path.join(dataDir, 'bench.db')}`,
      BROOK_PROVIDER: 'openai',
      OPENAI_BASE_URL: baseUrl,
      OPENAI_API_KEY: 'sk-test-not-a-real-key',
      BROOK_AUTH_RATE_LIMIT_PER_MIN: '0',
      BROOK_RATE_LIMIT_PER_MIN: '0',
      BROOK_DAILY_TOKENS_USER: '0',
      BROOK_DAILY_TOKENS_GUEST: '0',
      BROOK_DAILY_TOKENS_VISITOR: '0',
      RUST_LOG: 'warn',
    },
  });
  await waitHealthy(BROOK_URL);
}

/** A bot with the widget on, allowed on the host page's origin; its public key. */
async function widgetBot(): Promise<string> {
  const reg = await fetch(`${BROOK_URL}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-owner-${Date.now()}@example.com`, password: 'bench-pass' }),
  });
  const token = (await reg.json()).token;
  const bot = await fetch(`${BROOK_URL}/api/v1/bots`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: 'Bench', greeting: 'Hi!', widget: { enabled: true, allowed_origins: [HOST_ORIGIN] } }),
  });
  return (await bot.json()).widget.public_key;
}

/** The host site: one plain page with the widget's one-tag snippet. */
function hostServer(): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Host</title><link rel="icon" href="data:,"></head>
<body><h1>Host page</h1><script src="${BROOK_URL}/widget.js" data-bot-key="${botKey}" async></script></body></html>`);
  });
  return new Promise((r) => server.listen(HOST_PORT, '127.0.0.1', () => r(server)));
}

async function upstreamText(text: string) {
  const res = await fetch(`${control}/default`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text, piece_chars: PIECE }),
  });
  if (!res.ok) throw new Error(`fake-upstream refused the text: ${res.status}`);
}

type Metrics = { task: number; script: number };

async function busy(cdp: any): Promise<Metrics> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (n: string) => (metrics.find((m: any) => m.name === n)?.value ?? 0) as number;
  return { task: get('TaskDuration'), script: get('ScriptDuration') };
}

/** Polls `done` until true or the limit; whether it finished. */
async function until(done: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + LIMIT_S * 1000;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Sends `send()`'s message, waits for `done()`, and records the row. */
async function measure(page: Page, surface: string, bytes: number, send: () => Promise<void>, done: () => Promise<boolean>) {
  const text = markdownReply(bytes);
  await upstreamText(text);
  const tokens = Math.ceil(Array.from(text).length / PIECE);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const before = await busy(cdp);
  const t0 = Date.now();
  await send();
  const finished = await until(done);
  const wall_s = (Date.now() - t0) / 1000;
  const after = await busy(cdp);
  const task_ms = (after.task - before.task) * 1000;
  const script_ms = (after.script - before.script) * 1000;
  const row: Row = {
    surface,
    bytes: text.length,
    tokens,
    finished,
    wall_s,
    task_ms,
    script_ms,
    task_ms_per_token: task_ms / tokens,
    script_ms_per_token: script_ms / tokens,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}

test.beforeAll(async () => {
  test.skip(!SURFACES.includes('app') && !SURFACES.includes('widget'));
  upstream = spawn(fakeUpstreamBin(), [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const addr = JSON.parse(await firstLine(upstream));
  control = addr.control;
  await startBrook(addr.base_url);
  botKey = await widgetBot();
  host = await hostServer();
});

test.afterAll(() => {
  brook?.kill();
  upstream?.kill();
  host?.close();
  printTable();
});

for (const size of SIZES) {
  test(`app: ${size} bytes in ${PIECE}-character tokens`, async ({ browser }) => {
    test.skip(!SURFACES.includes('app'));
    const context = await browser.newContext({ baseURL: BROOK_URL });
    const page = await context.newPage();
    const reg = await page.request.post('/api/v1/auth/register', {
      data: { email: `bench-${Date.now()}@example.com`, password: 'correct horse', name: 'Bench' },
    });
    expect(reg.status()).toBe(201);
    await page.goto('/?new');
    await expect(page.locator('#connection')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
    const reply = page.locator('[data-role="assistant"]').last();
    await measure(
      page,
      'app',
      size,
      async () => {
        await page.locator('#composer-input').fill('Write a long answer.');
        await page.locator('#composer-input').press('Enter');
      },
      async () => (await reply.count()) > 0 && (await reply.getAttribute('data-status')) === 'complete',
    );
    await context.close();
  });
}

for (const size of SIZES) {
  test(`widget: ${size} bytes in ${PIECE}-character tokens`, async ({ browser }) => {
    test.skip(!SURFACES.includes('widget'));
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${HOST_ORIGIN}/`);
    const w = page.locator('brook-widget');
    await expect(w.locator('.launcher')).toBeVisible({ timeout: 20_000 });
    await w.locator('.launcher').click();
    await expect(w.locator('.status')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
    // The markdown module is loaded on open: wait until the greeting is rendered by it.
    await expect.poll(() => page.evaluate(() => !!(window as any).Brook?.__md), { timeout: 20_000 }).toBe(true);
    // A reply is complete when its thumbs are added.
    const thumbs = w.locator('.fb');
    const had = await thumbs.count();
    await measure(
      page,
      'widget',
      size,
      async () => {
        await w.locator('textarea').fill('Write a long answer.');
        await w.locator('textarea').press('Enter');
      },
      async () => (await thumbs.count()) > had,
    );
    await context.close();
  });
}

function printTable() {
  if (rows.length === 0) return;
  const lines = [
    `render benchmark (${LABEL}): ${PIECE}-character tokens, main-thread busy time (CDP TaskDuration; script = ScriptDuration)`,
    '| surface | reply | tokens | finished | wall s | busy ms | busy ms/token | script ms/token |',
    '|---|---:|---:|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.surface} | ${r.bytes.toLocaleString('en')} B | ${r.tokens.toLocaleString('en')} | ${r.finished ? 'yes' : `no (gave up at ${LIMIT_S} s)`} | ${r.wall_s.toFixed(1)} | ${Math.round(r.task_ms).toLocaleString('en')} | ${r.task_ms_per_token.toFixed(3)} | ${r.script_ms_per_token.toFixed(3)} |`,
    ),
  ];
  console.log(lines.join('\n'));
  const out = path.join(ROOT, 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `render-${LABEL}.json`), JSON.stringify({ label: LABEL, piece_chars: PIECE, limit_s: LIMIT_S, rows }, null, 2));
}
