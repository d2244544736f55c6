import * as http from 'http';
import { test, expect } from './fixtures';
import { BASE_URL } from '../playwright.config';
import { uniqueEmail } from './helpers';

// The widget's markdown renderer is a second WASM module (widget-md/), loaded
// when a visitor opens the widget. These tests check it in a real browser: DOM
// nodes only (a host page enforcing Trusted Types breaks on any HTML string),
// streaming equal to a whole render, and loading on open.

const TT_PORT = 4102;
const HOST_PORT = 4103;

const MD = [
  '# Title',
  '',
  'Some **bold**, *italic*, `code`, ~~gone~~ and a [link](https://example.com/a?b=1&c=2).',
  'Bare https://example.org/x. too, and <b>raw html</b> stays text.',
  '',
  '1. step',
  '',
  '   ```python',
  '   def f():',
  '       return 1',
  '   ```',
  '2. [bad](javascript:window.__xss=1) ![alt](https://example.com/i.png)',
  '',
  '| a | b |',
  '|:-:|--:|',
  '| 1 | 2 |',
  '',
  '<script>window.__xss = 2</script>',
  '',
  '> quote',
].join('\n');

function ttPage(): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>TT</title><link rel="icon" href="data:,"></head>
<body><div id="out"></div><div id="stream"></div>
<script type="module">
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective));
  const md = ${JSON.stringify(MD).replace(/</g, "\\u003c")};
  const m = await import('${BASE_URL}/widget/brook_widget_md.js');
  await m.default({ module_or_path: '${BASE_URL}/widget/brook_widget_md_bg.wasm' });
  m.render(document.getElementById('out'), md);
  const s = new m.Stream(document.getElementById('stream'));
  const chars = Array.from(md);
  window.__tails = 0;
  for (let i = 0; i < chars.length; i += 4) s.push(chars.slice(i, i + 4).join(''));
  s.finish();
  window.__done = true;
</script></body></html>`;
}

function serve(port: number, page: () => string, headers: Record<string, string>) {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', ...headers });
    res.end(page());
  });
  return new Promise<http.Server>((r) => server.listen(port, '127.0.0.1', () => r(server)));
}

test('the markdown module builds DOM nodes on a page that enforces Trusted Types', async ({ page }) => {
  const server = await serve(TT_PORT, ttPage, {
    'content-security-policy': `require-trusted-types-for 'script'; trusted-types 'none'; script-src 'unsafe-inline' ${BASE_URL} 'wasm-unsafe-eval'`,
  });
  try {
    await page.goto(`http://localhost:${TT_PORT}/`);
    await expect.poll(() => page.evaluate(() => (window as any).__done === true), { timeout: 20_000 }).toBe(true);
    expect(await page.evaluate(() => (window as any).__violations)).toEqual([]);
    const out = page.locator('#out');
    await expect(out.locator('p > strong').first()).toHaveText('Title');
    await expect(out.locator('strong', { hasText: 'bold' })).toHaveCount(1);
    await expect(out.locator('em')).toHaveText('italic');
    await expect(out.locator('del')).toHaveText('gone');
    await expect(out.locator('a[href="https://example.com/a?b=1&c=2"]')).toHaveText('link');
    await expect(out.locator('a[href="https://example.org/x"]')).toHaveCount(1);
    // The code inside the numbered step keeps its own indentation only.
    await expect(out.locator('ol pre[tabindex="0"] code')).toHaveText('def f():\n    return 1\n');
    await expect(out.locator('th[align="center"]')).toHaveText('a');
    await expect(out.locator('td[align="right"]')).toHaveText('2');
    await expect(out.locator('a[href="https://example.com/i.png"]')).toHaveText('alt');
    await expect(out.locator('blockquote')).toHaveText('quote');
    expect(await out.locator('script, img, b, a[href^="javascript"]').count()).toBe(0);
    await expect(out).toContainText('<b>raw html</b>');
    await expect(out).toContainText('<script>window.__xss = 2</script>');
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    // Streamed in 4-character tokens, then finished: the same DOM as one render.
    const [a, b] = await page.evaluate(() => [document.getElementById('out')!.innerHTML, document.getElementById('stream')!.innerHTML]);
    expect(b).toBe(a);
  } finally {
    server.close();
  }
});

test('the widget loads its markdown module when opened, and replies render as markdown', async ({ page, playwright }) => {
  const api = await playwright.request.newContext({ baseURL: BASE_URL });
  const reg = await api.post('/api/v1/auth/register', { data: { email: uniqueEmail('md-owner'), password: 'owner-pass' } });
  const token = (await reg.json()).token;
  const bot = await api.post('/api/v1/bots', {
    headers: { Authorization: `Bearer ${token}` },
    data: { name: 'Markdown helper', greeting: 'Hi, I speak **markdown**.', widget: { enabled: true, allowed_origins: [`http://localhost:${HOST_PORT}`] } },
  });
  const key = (await bot.json()).widget.public_key;
  const server = await serve(HOST_PORT, () => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Host</title><link rel="icon" href="data:,"></head>
<body><h1>Host</h1><script src="${BASE_URL}/widget.js" data-bot-key="${key}" async></script></body></html>`, {});
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  try {
    await page.goto(`http://localhost:${HOST_PORT}/`);
    const host = page.locator('brook-widget');
    await expect(host.locator('.launcher')).toBeVisible({ timeout: 20_000 });
    await page.waitForTimeout(500);
    expect(requested.filter((u) => u.includes('brook_widget_md'))).toEqual([]);
    await host.locator('.launcher').click();
    // The greeting, first shown as text, is rendered once the module is there.
    await expect(host.locator('.m.assistant strong', { hasText: 'markdown' })).toBeVisible({ timeout: 20_000 });
    expect(requested.filter((u) => u.includes('brook_widget_md')).length).toBe(2);
    await expect(host.locator('.status')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
    await host.locator('textarea').fill('Hello *there*');
    await host.locator('textarea').press('Enter');
    const last = host.locator('.m.assistant[data-message-id]').last();
    await expect(last).not.toHaveAttribute('data-streaming', /.*/, { timeout: 30_000 });
    await expect(last.locator('strong', { hasText: "Brook's demo model" })).toBeVisible();
    await expect(last.locator('blockquote em')).toHaveText('there');
    await expect(last.locator('pre code')).toContainText('println!');
  } finally {
    server.close();
  }
});
