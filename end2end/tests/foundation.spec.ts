import { test, expect } from './fixtures';

test('the server renders the page before any WASM runs', async ({ request }) => {
  const res = await request.get('/');
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toContain('<title>Brook</title>');
  expect(html).toContain('id="health-check"');
});

test('health answers ok', async ({ request }) => {
  const res = await request.get('/health');
  expect(res.status()).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

test('the page hydrates: the button works', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle('Brook');
  // The click only does something once the WASM has hydrated the button.
  await expect(async () => {
    await page.click('#health-check');
    await expect(page.locator('#health-status')).toHaveText('Server is healthy', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
});
