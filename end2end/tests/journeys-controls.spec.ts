/**
 * The controls ChatGPT users expect (issue 17): reply versions, copying a
 * reply, the sidebar grouped by day, the composer's focus and its too-long
 * state, the phone drawer and header, a guest's sign-out, and the Bots page's
 * Save and Delete. Each test runs in a fresh browser context and fails on any
 * console error or panic (see fixtures.ts); each one's end is saved under
 * docs/screenshots/.
 */
import * as path from 'path';
import { test, expect } from './fixtures';
import { signUp, openChat, send, watchReply, sessionIdFromUrl } from './helpers';

test.describe.configure({ timeout: 120_000 });

const shot = (name: string) => path.join(__dirname, '..', '..', 'docs', 'screenshots', `journey-${name}.png`);

test('regenerate, then browse the reply versions with ‹ 2/2 ›; a reload keeps them', async ({ page }) => {
  await signUp(page);
  await openChat(page, '/?new');
  await send(page, 'Explain versions to me');
  const session = await sessionIdFromUrl(page);
  await watchReply(page);
  const reply = page.locator('[data-role="assistant"]').last();
  // One version: no switcher.
  await expect(reply.locator('.versions')).toHaveCount(0);
  await page.locator('#regenerate').click();
  await watchReply(page);
  await expect(page.locator('[data-role="assistant"]')).toHaveCount(1);
  const versions = page.locator('[data-role="assistant"] .versions');
  await expect(versions).toHaveAttribute('data-version', '2/2');
  await expect(versions.locator('.version-next')).toBeDisabled();
  const newest = await page.locator('[data-role="assistant"] .md').textContent();

  const list = async () => {
    const msgs = (await (await page.request.get(`/api/v1/conversations/${session}/messages`)).json()).messages;
    const id = msgs[msgs.length - 1].id;
    return (await (await page.request.get(`/api/v1/messages/${id}/versions`)).json()).versions;
  };
  const stored = await list();
  expect(stored).toHaveLength(2);

  await versions.locator('.version-prev').click();
  await expect(versions).toHaveAttribute('data-version', '1/2');
  await expect(versions.locator('.version-prev')).toBeDisabled();
  // The first version's text (the demo model answers alike each time, so
  // the text is compared with the stored first version, not with the newest).
  const firstShown = (await page.locator('[data-role="assistant"] .md').textContent()) ?? '';
  expect(stored[0].content).toContain("This is **Brook's demo model** answering.");
  expect(firstShown).toContain("This is Brook's demo model answering.");
  expect(firstShown).toContain('Explain versions to me');
  await versions.locator('.version-next').click();
  await expect(versions).toHaveAttribute('data-version', '2/2');
  expect(await page.locator('[data-role="assistant"] .md').textContent()).toBe(newest);

  // A third version, and the count survives a reload (server-rendered from metadata).
  await page.locator('#regenerate').click();
  await watchReply(page);
  await expect(versions).toHaveAttribute('data-version', '3/3');
  await page.reload();
  await expect(page.locator('#connection')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await expect(page.locator('[data-role="assistant"] .versions')).toHaveAttribute('data-version', '3/3');
  await page.locator('[data-role="assistant"] .version-prev').click();
  await expect(page.locator('[data-role="assistant"] .versions')).toHaveAttribute('data-version', '2/3');
  expect(await list()).toHaveLength(3);
  await page.screenshot({ path: shot('versions') });
});

test('edit the last message: a new reply answers it, the old one stays as a version that names its question', async ({ page, context }) => {
  await signUp(page);
  await openChat(page, '/?new');
  await send(page, 'Trains from Lisbon to Porto');
  const session = await sessionIdFromUrl(page);
  await watchReply(page);
  const other = await context.newPage();
  await openChat(other, `/c/${session}`);
  const user = page.locator('[data-role="user"]').last();
  // Escape cancels an edit and keeps the text.
  await user.locator('.edit-message').click();
  const box = page.locator('#edit-input');
  await expect(box).toBeFocused();
  await expect(box).toHaveValue('Trains from Lisbon to Porto');
  await box.fill('Not this');
  await box.press('Escape');
  await expect(box).toHaveCount(0);
  await expect(user.locator('.plain')).toHaveText('Trains from Lisbon to Porto');
  // Enter sends the edit.
  await user.locator('.edit-message').click();
  await box.fill('Buses from Lisbon to Porto');
  await box.press('Enter');
  await expect(user.locator('.plain')).toHaveText('Buses from Lisbon to Porto');
  await watchReply(page);
  const reply = page.locator('[data-role="assistant"]').last();
  await expect(reply.locator('.md')).toContainText('Buses from Lisbon to Porto');
  await expect(page.locator('[data-role="assistant"]')).toHaveCount(1);
  const versions = reply.locator('.versions');
  await expect(versions).toHaveAttribute('data-version', '2/2');
  await expect(reply.locator('.earlier-prompt')).toHaveCount(0);
  await versions.locator('.version-prev').click();
  await expect(versions).toHaveAttribute('data-version', '1/2');
  await expect(reply.locator('.earlier-prompt')).toContainText('Trains from Lisbon to Porto');
  await expect(reply.locator('.md')).toContainText('Trains from Lisbon to Porto');
  await page.screenshot({ path: shot('edit') });
  // The other tab shows the edited message live, and a reload keeps it.
  await expect(other.locator('[data-role="user"]').last().locator('.plain')).toHaveText('Buses from Lisbon to Porto');
  await page.reload();
  await expect(page.locator('[data-role="user"]').last().locator('.plain')).toHaveText('Buses from Lisbon to Porto');
  await expect(page.locator('[data-role="assistant"] .versions')).toHaveAttribute('data-version', '2/2');
});

test('copy a whole reply: the clipboard holds its markdown, and the button says "Copied"', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signUp(page);
  await openChat(page, '/?new');
  await send(page, 'Something worth copying');
  await watchReply(page);
  const copy = page.locator('[data-role="assistant"] .copy-reply');
  await expect(copy).toHaveText('Copy');
  await copy.click();
  await expect(copy).toHaveText('✓ Copied');
  const text = await page.evaluate(() => navigator.clipboard.readText());
  // The markdown source, whole: from the first words to the code block and the last line.
  expect(text).toContain("This is **Brook's demo model** answering.");
  expect(text).toContain('```rust');
  expect(text).toContain('restart Brook.');
  await page.screenshot({ path: shot('copy-reply') });
  await expect(copy).toHaveText('Copy', { timeout: 5_000 });
});

test('the sidebar groups conversations by the browser’s local day', async ({ page }) => {
  await signUp(page);
  await openChat(page, '/?new');
  await send(page, 'A conversation from today');
  await watchReply(page);
  const today = page.locator('#conversation-list .conv-group[data-group="today"]');
  await expect(today.locator('.conv-day')).toHaveText('Today');
  await expect(today.locator('.conv')).toHaveCount(1);
  // The same list seen a day later (the browser's clock moved on): "Yesterday".
  await page.clock.setFixedTime(new Date(Date.now() + 24 * 3600 * 1000));
  await page.reload();
  await expect(page.locator('#connection')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  const yesterday = page.locator('#conversation-list .conv-group[data-group="yesterday"]');
  await expect(yesterday.locator('.conv-day')).toHaveText('Yesterday');
  await expect(yesterday.locator('.conv')).toHaveCount(1);
  await expect(page.locator('#conversation-list .conv-day')).toHaveCount(1);
  await page.screenshot({ path: shot('date-groups') });
});

test('the composer has the focus on load; the skip link is the first Tab stop; too long is said in words', async ({ page }) => {
  await signUp(page);
  await openChat(page, '/?new');
  const box = page.locator('#composer-input');
  await expect(box).toBeFocused();
  // The first focusable element of the page is the skip link, and it leads to the composer.
  expect(
    await page.evaluate(() => document.querySelector('a[href], button, input, select, textarea, [tabindex]')?.className),
  ).toContain('skip-link');
  await page.locator('#send').focus();
  await page.locator('.skip-link').focus();
  await page.keyboard.press('Enter');
  await expect(box).toBeFocused();
  // Over the limit: Send is disabled and the page says why, in words.
  await box.fill('x'.repeat(16_005));
  const tooLong = page.locator('#composer-too-long');
  await expect(tooLong).toHaveText('Too long to send: 16,005 characters, and the limit is 16,000. Remove 5 characters to send it.');
  await expect(page.locator('#send')).toBeDisabled();
  await expect(page.locator('#send')).toHaveAttribute('aria-describedby', 'composer-too-long');
  await expect(box).toHaveAttribute('aria-invalid', 'true');
  await page.screenshot({ path: shot('too-long') });
  await box.fill('short again');
  await expect(tooLong).toHaveCount(0);
  await expect(page.locator('#send')).toBeEnabled();
});

test('phone: the drawer toggle says whether it is open, Escape closes it, the title is not cut short', async ({ page }) => {
  await signUp(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await openChat(page, '/?new');
  await send(page, 'Trains from Lisbon');
  await watchReply(page);
  const title = page.locator('#conversation-title');
  await expect(title).toContainText('Trains from Lisbon');
  // The whole title shows: nothing is cut off by the connection indicator.
  expect(await title.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  await expect(page.locator('#connection')).toHaveAttribute('data-connection', 'connected');
  const menu = page.locator('.menu');
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await menu.click();
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(page.locator('#new-chat')).toBeFocused();
  await expect(page.locator('#sidebar')).toBeInViewport();
  await page.keyboard.press('Escape');
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(menu).toBeFocused();
  await expect(page.locator('.app')).not.toHaveClass(/sidebar-open/);
  await page.screenshot({ path: shot('phone-header') });
  // Escape while renaming a chat in the drawer cancels the rename only: the drawer stays open.
  await menu.click();
  const row = page.locator('#conversation-list .conv').first();
  await row.hover();
  await row.locator('.rename').click();
  const input = row.locator('.rename-input');
  await expect(input).toBeFocused();
  await input.fill('Not kept');
  await input.press('Escape');
  await expect(row.locator('.rename-input')).toHaveCount(0);
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(page.locator('.app')).toHaveClass(/sidebar-open/);
  await expect(row).toContainText('Trains from Lisbon');
});

test('a guest is warned before signing out, and can keep the chats', async ({ page }) => {
  const res = await page.request.post('/api/v1/auth/guest', { data: {} });
  expect(res.status()).toBe(201);
  await openChat(page, '/?new');
  await send(page, 'A guest chat');
  await watchReply(page);
  const logout = page.locator('#logout');
  await logout.click();
  const warning = page.locator('.signout-warning');
  await expect(warning).toBeVisible();
  await expect(warning).toContainText('every chat here is gone for good');
  await expect(page.locator('#logout-cancel')).toBeFocused();
  await expect(page).toHaveURL(/\/c\//);
  await page.screenshot({ path: shot('guest-sign-out') });
  // Escape keeps everything.
  await page.keyboard.press('Escape');
  await expect(warning).toHaveCount(0);
  await expect(logout).toBeFocused();
  expect((await page.request.get('/api/v1/auth/me')).status()).toBe(200);
  // The second step signs out.
  await logout.click();
  await page.locator('#logout-confirm').click();
  await expect(page).toHaveURL(/\/login/);
});

test('a signed-up user signs out in one step', async ({ page }) => {
  await signUp(page);
  await openChat(page, '/?new');
  await page.locator('#logout').click();
  await expect(page).toHaveURL(/\/login/);
});

test.describe('bots page', () => {
  // Deleting the default bot is refused with 409 on purpose; the browser logs the refused request.
  test.use({ allowConsole: [/status of 409 \(Conflict\)/] });
test('bots page: Save says "Saved.", and a bot is deleted after a confirmation', async ({ page }) => {
  await signUp(page);
  await page.goto('/bots');
  await expect(page.locator('#bot-greeting')).toBeVisible({ timeout: 15_000 });
  await page.locator('#bot-greeting').fill('Welcome aboard!');
  await page.locator('#save-bot').click();
  await expect(page.locator('#bot-saved')).toHaveText('Saved.');
  // The form keeps what was saved (the editor is not rebuilt behind the reader's back).
  await expect(page.locator('#bot-greeting')).toHaveValue('Welcome aboard!');
  const bots = async () => (await (await page.request.get('/api/v1/bots')).json()).bots;
  expect((await bots())[0].greeting).toBe('Welcome aboard!');

  // The default bot cannot go: the page says so.
  await page.locator('#delete-bot').click();
  await page.locator('#delete-bot-confirm').click();
  await expect(page.locator('.bot-form .error')).toContainText('default bot');
  expect(await bots()).toHaveLength(1);

  await page.locator('#new-bot-name').fill('Short-lived');
  await page.locator('#create-bot').click();
  await expect(page.locator('#bot-name')).toHaveValue('Short-lived');
  expect(await bots()).toHaveLength(2);
  // First step only asks; Cancel keeps it.
  await page.locator('#delete-bot').click();
  await expect(page.locator('#confirm-delete')).toContainText('Delete “Short-lived”?');
  await page.locator('#delete-bot-cancel').click();
  await expect(page.locator('#confirm-delete')).toHaveCount(0);
  expect(await bots()).toHaveLength(2);
  await page.locator('#delete-bot').click();
  await page.screenshot({ path: shot('bots-delete') });
  await page.locator('#delete-bot-confirm').click();
  await expect(page.locator('.bot-item')).toHaveCount(1);
  await expect(page.locator('#bot-name')).toHaveValue('Assistant');
  const left = await bots();
  expect(left.map((b: any) => b.name)).toEqual(['Assistant']);
});
});
