import { test, expect, request as newRequest } from '@playwright/test';
import { signUp } from './helpers';

// The "API keys" section of /settings (contract §10): create, shown once, list
// with last use, revoke at once. The key is then used by a client that has no
// cookie, as an OpenAI client would.

test('create a key, see it once, use it, revoke it', async ({ page, baseURL }) => {
  await signUp(page);
  await page.goto('/settings');
  await expect(page.locator('#api-keys h2')).toHaveText('API keys');
  await expect(page.locator('#no-api-keys')).toBeVisible();

  await page.locator('#api-key-name').fill('e2e script');
  await page.locator('#create-api-key').click();
  const shown = page.locator('#new-api-key-value');
  await expect(shown).toHaveText(/^brk_[A-Za-z0-9]{40,}$/);
  const key = (await shown.textContent())!.trim();
  const row = page.locator('#api-key-list tr.api-key');
  await expect(row).toHaveCount(1);
  await expect(row.locator('.key-name')).toHaveText('e2e script');
  await expect(row.locator('.last-used')).toHaveText('never');

  // A client with only the key (no cookie).
  const client = await newRequest.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${key}` } });
  const models = await client.get('/v1/models');
  expect(models.status()).toBe(200);
  expect((await models.json()).data.length).toBeGreaterThan(0);

  // Shown once: after a reload only the listing remains, now with its last use.
  await page.reload();
  await expect(page.locator('#new-api-key')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(key);
  await expect(row.locator('.last-used')).toHaveText(/UTC$/);

  await row.locator('.revoke-key').click();
  await expect(row).toHaveCount(0);
  await expect(page.locator('#no-api-keys')).toBeVisible();
  const refused = await client.get('/v1/models');
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.type).toBe('authentication_error');
  await client.dispose();
});

test('guests are told they cannot have keys', async ({ page }) => {
  const res = await page.request.post('/api/v1/auth/guest');
  expect(res.status()).toBe(201);
  await page.goto('/settings');
  await expect(page.locator('#api-keys-guest')).toBeVisible();
  await expect(page.locator('#create-api-key')).toHaveCount(0);
});

/** Clicks Save and waits for the bot's PATCH to succeed. */
async function save(page: any) {
  const patched = page.waitForResponse((r: any) => r.request().method() === 'PATCH' && r.url().includes('/api/v1/bots/'));
  await page.locator('#save-bot').click();
  expect((await patched).status()).toBe(200);
}

test("a bot's temperature is unset until chosen", async ({ page }) => {
  await signUp(page);
  await page.goto('/bots');
  const set = page.locator('#bot-temperature-set');
  await expect(set).not.toBeChecked();
  await expect(page.locator('#bot-temperature')).toBeDisabled();
  await set.check();
  await expect(page.locator('#bot-temperature')).toBeEnabled();
  await save(page);
  const bots = await (await page.request.get('/api/v1/bots')).json();
  expect(bots.bots[0].temperature).toBeCloseTo(0.7, 5);
  await page.reload();
  await expect(page.locator('#bot-temperature-set')).toBeChecked();
  await page.locator('#bot-temperature-set').uncheck();
  await save(page);
  const after = await (await page.request.get('/api/v1/bots')).json();
  expect(after.bots[0].temperature).toBeNull();
});
