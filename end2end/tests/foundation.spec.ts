import { test, expect } from './fixtures';

test('the server renders the page before any WASM runs', async ({ request }) => {
  const res = await request.get('/login');
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toContain('<title>Brook</title>');
  expect(html).toContain('Continue as guest');
  // A visit without a session is sent to the login page.
  const home = await request.get('/', { maxRedirects: 0, headers: { Accept: 'text/html' } });
  expect([302, 303, 307]).toContain(home.status());
  expect(home.headers()['location']).toBe('/login');
});

test('health answers ok', async ({ request }) => {
  const res = await request.get('/health');
  expect(res.status()).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

test('the page hydrates: continue as guest lands in the chat', async ({ page }) => {
  await page.goto('/login');
  await expect(page).toHaveTitle('Brook');
  // The button only works once the WASM has hydrated it.
  await page.click('#guest');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('#composer-input')).toBeVisible();
  await expect(page.locator('[data-connection="connected"]')).toBeVisible();
});

test('the release bundle has content-hashed names, cached for a year; pages are revalidated', async ({ request }) => {
  const page = await request.get('/login');
  expect(page.headers()['cache-control']).toContain('no-cache');
  const html = await page.text();
  const names = [...html.matchAll(/\/pkg\/(brook\.[0-9a-f]{16}\.(?:js|wasm|css))/g)].map((m) => m[1]);
  // The hydration script, its WASM and the stylesheet, each hashed (scripts/build-site.sh).
  for (const ext of ['js', 'wasm', 'css']) {
    expect(names.some((n) => n.endsWith(`.${ext}`)), `hashed .${ext} in ${names}`).toBe(true);
  }
  for (const name of new Set(names)) {
    const r = await request.get(`/pkg/${name}`);
    expect(r.status(), name).toBe(200);
    expect(r.headers()['cache-control'], name).toContain('immutable');
  }
  // The unhashed names of earlier builds are gone.
  expect((await request.get('/pkg/brook_bg.wasm')).status()).toBe(404);
});
