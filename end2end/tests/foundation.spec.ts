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
