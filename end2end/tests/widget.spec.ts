import * as http from 'http';
import * as zlib from 'zlib';
import { AddressInfo } from 'net';
import { test, expect } from './fixtures';
import { BASE_URL } from '../playwright.config';
import { sampleStreaming, uniqueEmail } from './helpers';

test.describe.configure({ timeout: 90_000 });

const ALLOWED = 4100;
const OTHER = 4101;

/** The host site: two pages with hostile CSS and the one-tag snippet. */
function hostPage(key: string, title: string, link: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title>
<link rel="icon" href="data:,">
<style>
  * { font-size: 40px !important; }
  div { display: none; }
  header { position: fixed; top: 0; left: 0; right: 0; height: 100vh; z-index: 99999; background: rgb(255 0 0 / 10%); }
</style></head>
<body><header>Hostile header</header><h1>${title}</h1><a id="next" href="${link}">next page</a>
<script src="${BASE_URL}/widget.js" data-bot-key="${key}" async></script>
</body></html>`;
}

async function hostServer(port: number, key: () => string) {
  const server = http.createServer((req, res) => {
    const page = req.url?.startsWith('/two') ? hostPage(key(), 'Second page', '/one') : hostPage(key(), 'First page', '/two');
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

let key = '';
let botId = '';
let ownerToken = '';
let servers: http.Server[] = [];

test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext({ baseURL: BASE_URL });
  const reg = await api.post('/api/v1/auth/register', { data: { email: uniqueEmail('owner'), password: 'owner-pass' } });
  ownerToken = (await reg.json()).token;
  const bot = await api.post('/api/v1/bots', {
    headers: { Authorization: `Bearer ${ownerToken}` },
    data: { name: 'Shop helper', greeting: 'Hi! Ask me about your order.', widget: { enabled: true, allowed_origins: [`http://localhost:${ALLOWED}`] } },
  });
  const b = await bot.json();
  key = b.widget.public_key;
  botId = b.id;
  servers = [await hostServer(ALLOWED, () => key), await hostServer(OTHER, () => key)];
});

test.afterAll(() => servers.forEach((s) => s.close()));

function widget(page: any) {
  const host = page.locator('brook-widget');
  return {
    launcher: host.locator('.launcher'),
    panel: host.locator('.panel'),
    input: host.locator('textarea'),
    badge: host.locator('.badge'),
    replies: host.locator('.m.assistant[data-message-id]'),
    users: host.locator('.m.user'),
    status: host.locator('.status'),
  };
}

async function lastReplyDone(page: any) {
  const w = widget(page);
  const last = w.replies.last();
  await expect(last).toBeVisible({ timeout: 15_000 });
  await expect(last).not.toHaveAttribute('data-streaming', /.*/, { timeout: 30_000 });
  await expect.poll(async () => ((await last.textContent()) ?? '').length).toBeGreaterThan(50);
  return last;
}

test('on a hostile page the launcher works and a reply streams', async ({ page }, testInfo) => {
  await page.goto(`http://localhost:${ALLOWED}/one`);
  const w = widget(page);
  await expect(w.launcher).toBeVisible({ timeout: 20_000 });
  // The host's CSS does not reach inside: the launcher keeps its size.
  const box = await w.launcher.boundingBox();
  expect(box!.width).toBeLessThan(80);
  expect(await page.evaluate(() => Object.keys(window).filter((k) => k.toLowerCase().includes('brook')))).toEqual(['Brook']);
  await w.launcher.click();
  await expect(w.panel).toBeVisible();
  await expect(w.panel).toContainText('Ask me about your order');
  await expect(w.status).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await w.input.fill('Where is my parcel?');
  await w.input.press('Enter');
  await expect(w.users.last()).toContainText('Where is my parcel?');
  const streaming = page.locator('brook-widget .m.assistant[data-streaming]');
  await expect(streaming).toBeVisible({ timeout: 15_000 });
  // Sampled inside the page: a loaded machine's round trips to the browser thinned out what a
  // loop in the test saw (CI once saw fewer than 3 lengths of a reply that streamed fine).
  const watched = await sampleStreaming(page, '.m.assistant[data-streaming]', 30_000, 'brook-widget');
  const seen = `distinct lengths of the streaming reply over ${Math.round(watched.ms)} ms: ${watched.lengths.join(' ')}`;
  expect(watched.ended, `the reply still streams after 30 s; ${seen}`).toBe(true);
  expect(watched.lengths.length, seen).toBeGreaterThanOrEqual(3);
  await lastReplyDone(page);
  await page.screenshot({ path: testInfo.outputPath('widget-1280.png') });
  // Markup in replies is text: the demo quotes the message back.
  await w.input.fill('<img src=x onerror="window.__xss=1"> [x](javascript:window.__xss=2)');
  await w.input.press('Enter');
  await lastReplyDone(page);
  expect(await page.locator('brook-widget img').count()).toBe(0);
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  // Escape closes it; the API too.
  await page.keyboard.press('Escape');
  await expect(w.panel).toBeHidden();
  await page.evaluate(() => (window as any).Brook.open());
  await expect(w.panel).toBeVisible();
  await page.evaluate(() => (window as any).Brook.toggle());
  await expect(w.panel).toBeHidden();
});

test('history survives navigation, and a reply streaming during navigation completes on the next page', async ({ page }) => {
  await page.goto(`http://localhost:${ALLOWED}/one`);
  const w = widget(page);
  await expect(w.launcher).toBeVisible({ timeout: 20_000 });
  await w.launcher.click();
  await expect(w.status).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await w.input.fill('First question');
  await w.input.press('Enter');
  await lastReplyDone(page);
  await w.input.fill('Second question, asked just before leaving');
  await w.input.press('Enter');
  await expect(page.locator('brook-widget .m.assistant[data-streaming]')).toBeVisible({ timeout: 15_000 });
  await page.goto(`http://localhost:${ALLOWED}/two`);
  const w2 = widget(page);
  await expect(w2.launcher).toBeVisible({ timeout: 20_000 });
  await w2.launcher.click();
  await expect(w2.users).toHaveCount(2, { timeout: 15_000 });
  await expect(w2.users.first()).toContainText('First question');
  const last = await lastReplyDone(page);
  await expect(last).toContainText('Second question, asked just before leaving');
  await expect(w2.replies).toHaveCount(2);
});

test('the unread badge appears when a reply finishes while the panel is closed', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`http://localhost:${ALLOWED}/one`);
  const w = widget(page);
  await expect(w.launcher).toBeVisible({ timeout: 20_000 });
  await w.launcher.click();
  await expect(w.status).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await expect(w.badge).toBeHidden();
  await w.input.fill('Tell me when you are done');
  await w.input.press('Enter');
  await page.keyboard.press('Escape');
  await expect(w.panel).toBeHidden();
  await expect(w.badge).toBeVisible({ timeout: 30_000 });
  await expect(w.badge).toHaveText('1');
  await page.screenshot({ path: testInfo.outputPath('widget-360-badge.png') });
  await w.launcher.click();
  await expect(w.badge).toBeHidden();
  await page.screenshot({ path: testInfo.outputPath('widget-360-open.png') });
});

test.describe('a site the bot does not allow', () => {
  test('shows no launcher, and its session is refused without CORS', async ({ page, request }) => {
    const warnings: string[] = [];
    page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
    await page.goto(`http://localhost:${OTHER}/one`);
    await page.waitForTimeout(3000);
    expect(await page.locator('brook-widget .launcher').count()).toBe(0);
    expect(warnings.filter((w) => w.includes('Brook widget'))).toHaveLength(1);
    const res = await request.post(`${BASE_URL}/api/v1/widget/session`, {
      headers: { Origin: `http://localhost:${OTHER}` },
      data: { bot_key: key },
    });
    expect(res.status()).toBe(403);
    expect(res.headers()['access-control-allow-origin']).toBeUndefined();
  });
  // Chromium reports the refused, CORS-less answer on the console.
  test.use({ allowConsole: [/CORS|403|Failed to load resource|Failed to fetch/] });
});

test("the owner sees the visitor's conversation on the Bots page; another user gets 404", async ({ page, browser }) => {
  await page.goto(`http://localhost:${ALLOWED}/one`);
  const w = widget(page);
  await expect(w.launcher).toBeVisible({ timeout: 20_000 });
  await w.launcher.click();
  await expect(w.status).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await w.input.fill('Do you ship to Norway?');
  await w.input.press('Enter');
  await lastReplyDone(page);

  const owner = await browser.newContext({ baseURL: BASE_URL });
  const ownerPage = await owner.newPage();
  const login = await ownerPage.request.post('/api/v1/auth/login', { data: { email: await (await ownerPage.request.get('/api/v1/auth/me', { headers: { Authorization: `Bearer ${ownerToken}` } })).json().then((m: any) => m.email), password: 'owner-pass' } });
  expect(login.status()).toBe(200);
  await ownerPage.goto('/bots');
  await ownerPage.locator('.bot-item', { hasText: 'Shop helper' }).click();
  const visitors = ownerPage.locator('#visitor-conversations');
  await expect(visitors).toContainText('Do you ship to Norway?');
  await expect(ownerPage.locator('#widget-snippet')).toContainText(`data-bot-key="${key}"`);
  await visitors.locator('.visitor-item').first().click();
  await expect(ownerPage.locator('#transcript [data-role="user"]').first()).toContainText('Do you ship to Norway?');
  await owner.close();

  const other = await page.request.post(`${BASE_URL}/api/v1/auth/register`, { data: { email: uniqueEmail('other'), password: 'other-pass' } });
  const otherToken = (await other.json()).token;
  const res = await page.request.get(`${BASE_URL}/api/v1/bots/${botId}/conversations`, { headers: { Authorization: `Bearer ${otherToken}` } });
  expect(res.status()).toBe(404);
});

test('loader, WASM, glue and CSS stay within 60 KB gzipped, served to any origin', async ({ request }) => {
  let total = 0;
  for (const path of ['/widget.js', '/widget/brook_widget.js', '/widget/brook_widget_bg.wasm', '/widget/widget.css']) {
    const res = await request.get(`${BASE_URL}${path}`, { headers: { Origin: 'http://anywhere.example' } });
    expect(res.status(), path).toBe(200);
    expect(res.headers()['access-control-allow-origin'], path).toBe('*');
    total += zlib.gzipSync(await res.body(), { level: 9 }).length;
  }
  console.log(`widget bundle: ${total} bytes gzipped`);
  expect(total).toBeLessThanOrEqual(60_000);
});
