import * as http from 'http';
import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures';
import { BASE_URL } from '../playwright.config';
import { openChat, send, signUp, uniqueEmail, watchReply } from './helpers';

// Issue 17, "Accessibility": axe-core on each page, in light and dark mode; serious
// and critical violations fail the test. Each violation is listed with its nodes so
// a failure says what to fix.
test.describe.configure({ timeout: 120_000 });

type Scheme = 'light' | 'dark';
const SCHEMES: Scheme[] = ['light', 'dark'];

async function seriousViolations(page: any, include?: string): Promise<string[]> {
  let builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']);
  if (include) builder = builder.include(include);
  const result = await builder.analyze();
  return result.violations
    .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: any) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n: any) => n.target.join(' ')).slice(0, 5).join(' | ')}`);
}

for (const scheme of SCHEMES) {
  test.describe(`${scheme} mode`, () => {
    test.use({ colorScheme: scheme });

    test('the login page has no serious violations', async ({ page }) => {
      await page.goto('/login');
      await expect(page.locator('h1')).toHaveCount(1);
      expect(await seriousViolations(page)).toEqual([]);
    });

    test('the chat page, with a finished reply and a sidebar row, has no serious violations', async ({ page }) => {
      await signUp(page);
      await openChat(page);
      await send(page, 'Show me some **bold** text and a `code` span.');
      await watchReply(page);
      await expect(page.locator('main')).toHaveCount(1);
      expect(await seriousViolations(page)).toEqual([]);
    });

    test('the bots page and the connection test page have a main landmark and no serious violations', async ({ page }) => {
      await signUp(page);
      await page.goto('/bots');
      await expect(page.locator('body')).toContainText('Assistant', { timeout: 15_000 });
      await expect(page.locator('main')).toHaveCount(1);
      expect(await seriousViolations(page)).toEqual([]);
      await page.goto('/ws/test');
      await expect(page.locator('#check-ws')).toHaveAttribute('data-state', 'ok', { timeout: 15_000 });
      await expect(page.locator('main')).toHaveCount(1);
      expect(await seriousViolations(page)).toEqual([]);
    });

    test('the widget, open with a code block in a reply, has no serious violations', async ({ page, playwright }) => {
      const port = scheme === 'light' ? 4111 : 4112;
      const api = await playwright.request.newContext({ baseURL: BASE_URL });
      const reg = await api.post('/api/v1/auth/register', { data: { email: uniqueEmail('a11y'), password: 'owner-pass' } });
      const owner = (await reg.json()).token;
      const bot = await api.post('/api/v1/bots', {
        headers: { Authorization: `Bearer ${owner}` },
        data: { name: 'Helper', greeting: 'Hello!', widget: { enabled: true, allowed_origins: [`http://localhost:${port}`] } },
      });
      const key = (await bot.json()).widget.public_key;
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="icon" href="data:,"></head><body><main><h1>A shop</h1></main>
<script src="${BASE_URL}/widget.js" data-bot-key="${key}" async></script></body></html>`);
      });
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      try {
        await page.goto(`http://localhost:${port}/`);
        const host = page.locator('brook-widget');
        await expect(host.locator('.launcher')).toBeVisible({ timeout: 20_000 });
        await host.locator('.launcher').click();
        await expect(host.locator('.status')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
        // The demo model answers a question about code with a fenced block.
        const replies = host.locator('.m.assistant[data-message-id]');
        const before = await replies.count();
        await host.locator('textarea').fill('Show me a code example in Rust');
        await host.locator('textarea').press('Enter');
        await expect.poll(() => replies.count(), { timeout: 15_000 }).toBeGreaterThan(before);
        const last = replies.last();
        await expect(last).not.toHaveAttribute('data-streaming', /.*/, { timeout: 30_000 });
        const pre = host.locator('.m.assistant pre').first();
        if (await pre.count()) {
          // A block that scrolls sideways must be reachable by keyboard.
          await expect(pre).toHaveAttribute('tabindex', '0');
        }
        expect(await seriousViolations(page, 'brook-widget')).toEqual([]);
      } finally {
        server.close();
      }
    });
  });
}

test('the theme toggle cycles system, light and dark, and a reload keeps the choice', async ({ page }, testInfo) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await signUp(page);
  await openChat(page);
  const html = page.locator('html');
  const toggle = page.locator('#theme-toggle');
  await expect(html).toHaveAttribute('data-theme', 'system');
  await expect(toggle).toHaveAttribute('data-theme-choice', 'system');
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(toggle).toHaveAttribute('data-theme-choice', 'dark');
  expect(await background()).not.toBe(light);
  // The server renders the choice before the first paint: no flash, and hydration agrees.
  await page.reload();
  await expect(page.locator('#connection')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(toggle).toHaveAttribute('data-theme-choice', 'dark');
  expect(await background()).not.toBe(light);
  await page.screenshot({ path: testInfo.outputPath('theme-dark.png') });
  expect(await seriousViolations(page)).toEqual([]);
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'system');
  expect(await background()).toBe(light);
});
