import * as http from 'http';
import { test, expect } from './fixtures';
import { BASE_URL } from '../playwright.config';
import { openChat, send, signUp, uniqueEmail, watchReply } from './helpers';

test.describe.configure({ timeout: 90_000 });

/** Records Content-Security-Policy violations from the first script on. */
async function watchViolations(page: any) {
  await page.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e: any) => {
      (window as any).__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

test('pages send a strict policy and still hydrate, stream and connect', async ({ page }) => {
  await watchViolations(page);
  const login = await page.goto('/login');
  const csp = login!.headers()['content-security-policy'];
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(csp).not.toContain('unsafe-inline');
  expect(login!.headers()['x-content-type-options']).toBe('nosniff');
  expect(login!.headers()['referrer-policy']).toBe('strict-origin-when-cross-origin');
  await signUp(page);
  await openChat(page);
  await expect(page.locator('#connection')).toHaveAttribute('data-transport', 'websocket');
  await send(page, 'Does the policy let the reply stream?');
  const seen = await watchReply(page);
  expect(seen.length).toBeGreaterThan(2);
  await page.goto('/bots');
  await expect(page.locator('body')).toContainText('Assistant', { timeout: 15_000 });
  await page.goto('/ws/test');
  await expect(page.locator('#check-ws')).toHaveAttribute('data-state', 'ok', { timeout: 15_000 });
  expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
});

const STRICT = 4102;

/** A host page under the strict policy the README documents for embedding the widget. */
function strictHostPage(key: string): { body: string; csp: string } {
  const host = new URL(BASE_URL);
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${host.origin} 'wasm-unsafe-eval'`,
    `connect-src 'self' ${host.origin} ws://${host.host}`,
    `style-src 'self' ${host.origin}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
  ].join('; ');
  const body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Strict shop</title>
<link rel="icon" href="data:,"></head>
<body><h1>A shop with a strict policy</h1>
<script src="${BASE_URL}/widget.js" data-bot-key="${key}" async></script>
</body></html>`;
  return { body, csp };
}

test('the widget works on a host page that sends the documented strict policy', async ({ page, playwright }) => {
  const api = await playwright.request.newContext({ baseURL: BASE_URL });
  const reg = await api.post('/api/v1/auth/register', { data: { email: uniqueEmail('csp'), password: 'owner-pass' } });
  const owner = (await reg.json()).token;
  const bot = await api.post('/api/v1/bots', {
    headers: { Authorization: `Bearer ${owner}` },
    data: { name: 'Strict helper', greeting: 'Hello from a strict page.', widget: { enabled: true, allowed_origins: [`http://localhost:${STRICT}`] } },
  });
  const key = (await bot.json()).widget.public_key;
  const server = http.createServer((_req, res) => {
    const { body, csp } = strictHostPage(key);
    res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': csp });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(STRICT, '127.0.0.1', r));
  try {
    await watchViolations(page);
    await page.goto(`http://localhost:${STRICT}/`);
    const host = page.locator('brook-widget');
    const launcher = host.locator('.launcher');
    await expect(launcher).toBeVisible({ timeout: 20_000 });
    await launcher.click();
    await expect(host.locator('.panel')).toContainText('Hello from a strict page.');
    await expect(host.locator('.status')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
    await host.locator('textarea').fill('Does the widget work under a strict policy?');
    await host.locator('textarea').press('Enter');
    const last = host.locator('.m.assistant[data-message-id]').last();
    await expect(last).toBeVisible({ timeout: 15_000 });
    await expect(last).not.toHaveAttribute('data-streaming', /.*/, { timeout: 30_000 });
    await expect.poll(async () => ((await last.textContent()) ?? '').length).toBeGreaterThan(50);
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
  } finally {
    server.close();
  }
});
