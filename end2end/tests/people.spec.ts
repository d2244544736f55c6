/**
 * People in the loop (issue 14, contract §9), in two browsers: a visitor in the
 * widget on a site of another origin, and the bot's owner in the web app's
 * inbox (on /bots). The key screenshots go to docs/screenshots/.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { Browser, BrowserContext, Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { BASE_URL } from '../playwright.config';
import { openChat, sampleStreaming, send, sessionIdFromUrl, storedMessages, uniqueEmail } from './helpers';

test.describe.configure({ timeout: 150_000 });

const HOST = 4110;
const shot = (name: string) => path.join(__dirname, '..', '..', 'docs', 'screenshots', `people-${name}.png`);

/** A plain shop page with the one-tag snippet. */
function shopPage(key: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Corner Shop</title>
<link rel="icon" href="data:,">
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#222}header{background:#1f2937;color:#fff;padding:18px 28px;font-weight:700}
main{padding:28px;max-width:640px}</style></head>
<body><header>Corner Shop</header><main><h1>Your order #1042</h1><p>Shipped on Monday. Questions? Ask us in the chat.</p></main>
<script src="${BASE_URL}/widget.js" data-bot-key="${key}" data-title="Corner Shop" async></script>
</body></html>`;
}

let key = '';
let botId = '';
let ownerEmail = '';
let ownerToken = '';
let server: http.Server;

test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext({ baseURL: BASE_URL });
  ownerEmail = uniqueEmail('dana');
  const reg = await api.post('/api/v1/auth/register', { data: { email: ownerEmail, password: 'owner-pass', name: 'Dana' } });
  expect(reg.status()).toBe(201);
  ownerToken = (await reg.json()).token;
  const bot = await api.post('/api/v1/bots', {
    headers: { Authorization: `Bearer ${ownerToken}` },
    data: { name: 'Shop helper', greeting: 'Hi! Ask me about your order.', widget: { enabled: true, allowed_origins: [`http://localhost:${HOST}`] } },
  });
  const b = await bot.json();
  key = b.widget.public_key;
  botId = b.id;
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(shopPage(key));
  });
  await new Promise<void>((r) => server.listen(HOST, '127.0.0.1', r));
});

test.afterAll(() => server?.close());

function widget(page: Page) {
  const host = page.locator('brook-widget');
  return {
    launcher: host.locator('.launcher'),
    panel: host.locator('.panel'),
    input: host.locator('textarea'),
    status: host.locator('.status'),
    users: host.locator('.m.user'),
    /** The AI's replies (operator messages have role operator). */
    replies: host.locator('.m.assistant[data-role="assistant"][data-message-id]'),
    operator: host.locator('.m.operator'),
    notices: host.locator('.m.notice'),
    typing: host.locator('.typing'),
    avail: host.locator('.avail'),
    seen: host.locator('.seen'),
    badge: host.locator('.badge'),
  };
}

/** Console errors of a context the fixtures do not watch. */
function watchConsole(ctx: BrowserContext, errors: string[]) {
  ctx.on('page', (p) => {
    p.on('console', (m) => { if (m.type() === 'error') errors.push(`[console] ${m.text()}`); });
    p.on('pageerror', (e) => errors.push(`[pageerror] ${e.message}`));
  });
}

/** Pretends the tab was hidden or shown (headless tabs are always visible). */
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

async function ownerTranscript(visitorId: string, session: string, request: any): Promise<any[]> {
  const res = await request.get(`${BASE_URL}/api/v1/bots/${botId}/visitors/${visitorId}/conversations/${encodeURIComponent(session)}/messages?limit=100`, {
    headers: { Authorization: `Bearer ${ownerToken}` },
  });
  expect(res.status()).toBe(200);
  return (await res.json()).messages;
}

async function signInOwner(browser: Browser): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const login = await page.request.post('/api/v1/auth/login', { data: { email: ownerEmail, password: 'owner-pass' } });
  expect(login.status()).toBe(200);
  return { ctx, page };
}

test('the owner watches a visitor live, takes over mid-reply, types, and hands back to the AI', async ({ browser, request }) => {
  const errors: string[] = [];
  // The owner, in the web app.
  const { ctx: ownerCtx, page: owner } = await signInOwner(browser);
  owner.on('console', (m) => { if (m.type() === 'error') errors.push(`[owner console] ${m.text()}`); });
  owner.on('pageerror', (e) => errors.push(`[owner pageerror] ${e.message}`));
  await owner.goto('/bots');
  await owner.locator('.bot-item', { hasText: 'Shop helper' }).click();
  const inbox = owner.locator('#inbox');
  await expect(inbox).toBeVisible();
  await expect(inbox).toContainText('No visitor has written yet');

  // The visitor, on the shop's site.
  const visitorCtx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  watchConsole(visitorCtx, errors);
  const visitor = await visitorCtx.newPage();
  await visitor.goto(`http://localhost:${HOST}/`);
  const w = widget(visitor);
  await expect(w.launcher).toBeVisible({ timeout: 20_000 });
  await w.launcher.click();
  await expect(w.status).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  // The owner follows the bot's events: a person is available.
  await expect(w.avail).toHaveAttribute('data-operator', 'online', { timeout: 15_000 });
  await expect(w.avail).toHaveText('A person is available');

  // 1. The visitor asks; the conversation appears in the inbox, live, online and unread.
  await w.input.fill('Hello! My order #1042 was shipped on Monday but the tracking page says nothing at all since then. Where is my parcel now, and when will it arrive at my door?');
  await w.input.press('Enter');
  const item = owner.locator('#visitor-conversations .visitor-item').first();
  await expect(item).toBeVisible({ timeout: 15_000 });
  await expect(item).toContainText('Hello! My order #1042');
  await expect(item).toHaveAttribute('data-presence', 'online');
  await expect(item).toHaveAttribute('data-unread', '1');
  await expect(item.locator('.unread')).toHaveText('1');

  // 2. The owner opens it and watches the AI's reply stream token by token
  // (their own connection resumes the visitor's reply). The demo model writes
  // a token every 40 ms for about 6 s; the server's checkpoints come once a
  // second, so only a live follow shows this many intermediate lengths.
  await item.click();
  const transcript = owner.locator('#transcript');
  const aiStreaming = transcript.locator('[data-role="assistant"][data-streaming]');
  await expect(aiStreaming).toBeVisible({ timeout: 10_000 });
  const watched = await sampleStreaming(owner, '#transcript [data-role="assistant"][data-streaming]');
  const seen = `distinct lengths of the streaming reply seen by the owner over ${Math.round(watched.ms)} ms: ${watched.lengths.join(' ')}`;
  expect(watched.ended, `the owner's bubble still streams after 30 s; ${seen}`).toBe(true);
  expect(watched.lengths.length, seen).toBeGreaterThanOrEqual(15);
  await expect(transcript.locator('[data-role="assistant"]').last()).toContainText('restart Brook', { timeout: 15_000 });
  // Opened in a visible tab: read; the visitor sees "Seen", the count goes to 0.
  await expect(item).toHaveAttribute('data-unread', '0', { timeout: 10_000 });
  await expect(w.seen).toHaveCount(1, { timeout: 10_000 });
  await expect(w.users.first()).toHaveAttribute('data-message-id', /.+/);
  await expect(w.replies.last()).not.toHaveAttribute('data-streaming', /.*/, { timeout: 15_000 });
  await expect(w.replies.last()).toContainText('restart Brook');

  // 3. A second question; the owner takes over while the AI is still answering.
  await w.input.fill('That does not help. Can a real person look at my order, please? I have been waiting a long time for this parcel.');
  await w.input.press('Enter');
  await expect(transcript.locator('[data-role="assistant"][data-streaming]')).toBeVisible({ timeout: 10_000 });
  await owner.locator('#take-over').click();
  // The visitor: the AI stops, a person joins.
  await expect(w.notices.last()).toHaveText('Dana joined the chat', { timeout: 10_000 });
  await expect(w.notices.last()).toHaveAttribute('data-handoff', 'human');
  await expect(visitor.locator('brook-widget .m.assistant[data-streaming]')).toHaveCount(0, { timeout: 10_000 });
  await expect(w.replies).toHaveCount(2);
  await expect(w.replies.last()).not.toContainText('restart Brook');
  // The owner: the mode says who answers.
  await expect(owner.locator('#inbox-mode')).toHaveText('You are answering');
  await expect(owner.locator('#hand-back')).toBeVisible();
  await expect(item).toHaveAttribute('data-mode', 'human');
  const session = (await item.getAttribute('data-session-id')) ?? '';
  expect(session).not.toBe('');
  const list = await request.get(`${BASE_URL}/api/v1/bots/${botId}/conversations`, { headers: { Authorization: `Bearer ${ownerToken}` } });
  const visitorId: string = (await list.json()).conversations.find((c: any) => c.session_id === session).visitor_id;
  let stored = await ownerTranscript(visitorId, session, request);
  const stopped = stored.filter((m) => m.role === 'assistant');
  expect(stopped.map((m) => m.status)).toEqual(['complete', 'stopped']);

  // 4. The owner types: the visitor sees the typing indicator, then the message with Dana's name.
  const op = owner.locator('#operator-input');
  await op.click();
  await op.pressSequentially('Hi, this is Dana from the shop. ', { delay: 20 });
  await expect(w.typing).toBeVisible({ timeout: 10_000 });
  await expect(w.typing).toHaveAttribute('aria-label', 'Someone is typing');
  await visitor.screenshot({ path: shot('widget-typing') });
  await op.pressSequentially('Your parcel is at the depot and goes out tomorrow morning.', { delay: 5 });
  await owner.locator('#operator-send').click();
  await expect(w.operator).toHaveCount(1, { timeout: 10_000 });
  await expect(w.operator.locator('.by')).toHaveText('Dana');
  await expect(w.operator).toContainText('Your parcel is at the depot');
  await expect(w.typing).toBeHidden();
  await expect(op).toHaveValue('');
  await expect(transcript.locator('[data-role="operator"]')).toContainText('Your parcel is at the depot');

  // 5. The visitor answers the person: no AI reply; the owner reads it ("Seen").
  await w.input.fill('Thank you Dana, that is great news!');
  await w.input.press('Enter');
  await expect(transcript.locator('[data-role="user"]').last()).toContainText('Thank you Dana', { timeout: 10_000 });
  await expect(visitor.locator('brook-widget .m.user[data-message-id] + .seen')).toHaveCount(1, { timeout: 10_000 });
  await expect(w.users.last().locator('xpath=following-sibling::*[1]')).toHaveClass(/seen/);
  await visitor.waitForTimeout(1500);
  await expect(w.replies).toHaveCount(2);

  // 6. Feedback from the visitor: thumbs up on Dana's message (the comment
  // skipped), down on the first AI reply with a comment.
  const opId = (await w.operator.getAttribute('data-message-id'))!;
  await visitor.locator(`brook-widget .fb[data-for="${opId}"] .thumb[data-rating="up"]`).click();
  await expect(visitor.locator(`brook-widget .fb[data-for="${opId}"] .thumb[data-rating="up"]`)).toHaveAttribute('aria-pressed', 'true');
  const opForm = visitor.locator(`brook-widget .fb[data-for="${opId}"] + .fbf`);
  await expect(opForm.locator('textarea')).toHaveAttribute('placeholder', 'What was good? (optional)');
  await opForm.locator('.fbk').click();
  await expect(opForm).toHaveCount(0);
  const firstAi = (await w.replies.first().getAttribute('data-message-id'))!;
  const aiThumbs = visitor.locator(`brook-widget .fb[data-for="${firstAi}"]`);
  await aiThumbs.locator('.thumb[data-rating="down"]').click();
  await expect(aiThumbs.locator('.thumb[data-rating="down"]')).toHaveAttribute('aria-pressed', 'true');
  const aiForm = visitor.locator(`brook-widget .fb[data-for="${firstAi}"] + .fbf`);
  await expect(aiForm.locator('textarea')).toHaveAttribute('placeholder', 'What went wrong? (optional)');
  const complaint = 'It did not say where my parcel is, only how to restart Brook.';
  // Over the limit (§9.4): not sent, and the form says why.
  await aiForm.locator('textarea').fill('x'.repeat(2001));
  await aiForm.locator('.fbs').click();
  await expect(aiForm.locator('.fbx')).toHaveText('2001 characters: at most 2000');
  await aiForm.locator('textarea').fill(complaint);
  // Typing clears the reason: it no longer applies.
  await expect(aiForm.locator('.fbx')).toHaveText('');
  await aiThumbs.scrollIntoViewIfNeeded();
  await visitor.screenshot({ path: shot('widget-comment') });
  await aiForm.locator('.fbs').click();
  await expect(aiForm).toHaveCount(0);
  const note = visitor.locator(`brook-widget .fb[data-for="${firstAi}"] + .fbn`);
  await expect(note.locator('q')).toHaveText(complaint);
  await expect.poll(async () => {
    const msgs = await ownerTranscript(visitorId, session, request);
    return msgs.filter((m) => m.feedback).map((m) => `${m.role}:${m.feedback.rating}:${m.feedback.comment ?? ''}`).sort();
  }).toEqual([`assistant:down:${complaint}`, 'operator:up:']);
  // Edit: the form opens with the comment; another thumb keeps it.
  await note.locator('.fbe').click();
  await expect(aiForm.locator('textarea')).toHaveValue(complaint);
  await aiForm.locator('.fbk').click();

  // The inbox in the middle of the hand-off (desktop), then on a phone.
  await owner.locator('#inbox').scrollIntoViewIfNeeded();
  await owner.screenshot({ path: shot('inbox'), fullPage: true });
  await visitor.screenshot({ path: shot('widget-handoff') });

  // 7. Hand back: the visitor is told, and the AI answers the next question.
  await owner.locator('#hand-back').click();
  await expect(w.notices.last()).toHaveText('The assistant answers again', { timeout: 10_000 });
  await expect(owner.locator('#inbox-mode')).toHaveText('The assistant is answering');
  // The owner's transcript shows the visitor's feedback (it reloads on the hand-back's events).
  await expect(transcript.locator('.feedback[data-rating="up"]')).toHaveCount(1, { timeout: 10_000 });
  const bad = transcript.locator('.feedback[data-rating="down"]');
  await expect(bad).toHaveCount(1);
  await expect(bad.locator('.feedback-rating')).toHaveText('The visitor rated this bad');
  await expect(bad.locator('.feedback-comment-text')).toHaveText(complaint);
  await expect(transcript.locator('.feedback[data-rating="up"] .feedback-comment-text')).toHaveCount(0);
  await bad.scrollIntoViewIfNeeded();
  await owner.screenshot({ path: shot('inbox-feedback') });
  await w.input.fill('One more thing: can I change the delivery address?');
  await w.input.press('Enter');
  await expect(w.replies).toHaveCount(3, { timeout: 15_000 });
  await expect(w.replies.last()).not.toHaveAttribute('data-streaming', /.*/, { timeout: 30_000 });
  await expect(w.replies.last()).toContainText('change the delivery address');
  await expect(w.replies.last()).toContainText('restart Brook');
  stored = await ownerTranscript(visitorId, session, request);
  expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'operator', 'user', 'user', 'assistant']);

  // 8. Presence: hidden tab → away, shown → online, closed → offline after the grace.
  await setHidden(visitor, true);
  await expect(item).toHaveAttribute('data-presence', 'away', { timeout: 10_000 });
  await setHidden(visitor, false);
  await expect(item).toHaveAttribute('data-presence', 'online', { timeout: 10_000 });
  await visitorCtx.close();
  await expect(item).toHaveAttribute('data-presence', 'offline', { timeout: 20_000 });
  await expect(item.locator('.conv-presence')).toContainText('offline, last seen');

  // The inbox on a phone: one column, nothing wider than the screen.
  await owner.setViewportSize({ width: 390, height: 844 });
  await owner.locator('#inbox').scrollIntoViewIfNeeded();
  expect(await owner.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  const composer = await owner.locator('#operator-input').boundingBox();
  expect(composer!.x + composer!.width).toBeLessThanOrEqual(390);
  await owner.screenshot({ path: shot('inbox-phone') });
  await ownerCtx.close();
  expect(errors, 'browser console errors').toEqual([]);
});

test('the app: unread badges agree across tabs, reads follow the visible tab, thumbs are stored', async ({ page, context }) => {
  const res = await page.request.post('/api/v1/auth/register', { data: { email: uniqueEmail('tabs'), password: 'correct horse', name: 'Tabs' } });
  expect(res.status()).toBe(201);
  await openChat(page);
  await send(page, 'A first question for the unread badge');
  const session = await sessionIdFromUrl(page);
  await expect(page.locator('[data-role="assistant"]').last()).not.toHaveAttribute('data-streaming', /.*/, { timeout: 30_000 });
  const row = (p: Page) => p.locator(`.conv[data-session-id="${session}"]`);
  // Read in the visible tab: no badge.
  await expect(row(page)).toHaveAttribute('data-unread', '0', { timeout: 10_000 });

  // A second tab on another conversation.
  const other = await context.newPage();
  await openChat(other);
  await expect(row(other)).toHaveAttribute('data-unread', '0');

  // The first tab is hidden while the next reply arrives: it stays unread, in both tabs.
  await send(page, 'A second question, answered while the tab is hidden');
  await expect(page.locator('[data-role="assistant"][data-streaming]')).toBeVisible({ timeout: 10_000 });
  await setHidden(page, true);
  await expect(page.locator('[data-role="assistant"]').last()).not.toHaveAttribute('data-streaming', /.*/, { timeout: 30_000 });
  await expect(row(other)).toHaveAttribute('data-unread', '1', { timeout: 10_000 });
  await expect(row(other).locator('.conv-unread')).toHaveText('1');
  await expect(row(page)).toHaveAttribute('data-unread', '1');
  // Shown again: read, and the other tab agrees without a reload.
  await setHidden(page, false);
  await expect(row(page)).toHaveAttribute('data-unread', '0', { timeout: 10_000 });
  await expect(row(other)).toHaveAttribute('data-unread', '0', { timeout: 10_000 });
  await expect(row(other).locator('.conv-unread')).toHaveCount(0);

  // Thumbs on a reply: stored, switched, cleared; the comment form opens after a thumb.
  const reply = page.locator('[data-role="assistant"]').last();
  const replyId = (await reply.getAttribute('data-message-id'))!;
  await reply.locator('.thumb-up').click();
  await expect(reply.locator('.thumb-up')).toHaveAttribute('aria-pressed', 'true');
  await expect(reply.locator('.comment-form')).toBeVisible();
  await expect.poll(async () => (await storedMessages(page.request, session)).find((m) => m.id === replyId)?.feedback?.rating ?? null).toBe('up');
  await reply.locator('.thumb-down').click();
  await expect(reply.locator('.thumb-down')).toHaveAttribute('aria-pressed', 'true');
  await expect(reply.locator('.thumb-up')).toHaveAttribute('aria-pressed', 'false');
  await expect.poll(async () => (await storedMessages(page.request, session)).find((m) => m.id === replyId)?.feedback?.rating ?? null).toBe('down');
  await reply.locator('.thumb-down').click();
  await expect(reply.locator('.thumb-down')).toHaveAttribute('aria-pressed', 'false');
  await expect(reply.locator('.comment-form')).toHaveCount(0);
  await expect.poll(async () => (await storedMessages(page.request, session)).find((m) => m.id === replyId)?.feedback ?? null).toBeNull();
  // A rating with a comment; after a reload the server's rating and comment are shown.
  await reply.locator('.thumb-up').click();
  await reply.locator('.comment-input').fill('  Short and clear, thanks.  ');
  await reply.locator('.send-comment').click();
  await expect(reply.locator('.comment-form')).toHaveCount(0);
  await expect(reply.locator('.feedback-comment-text')).toHaveText('Short and clear, thanks.');
  const stored = async () => (await storedMessages(page.request, session)).find((m) => m.id === replyId)?.feedback ?? null;
  await expect.poll(stored).toEqual({ rating: 'up', comment: 'Short and clear, thanks.' });
  await page.reload();
  const again = page.locator(`[data-message-id="${replyId}"]`);
  await expect(again.locator('.thumb-up')).toHaveAttribute('aria-pressed', 'true');
  await expect(again.locator('.feedback-comment-text')).toHaveText('Short and clear, thanks.');
  // Edit, then another thumb keeps the comment.
  await again.locator('.edit-comment').click();
  await expect(again.locator('.comment-input')).toHaveValue('Short and clear, thanks.');
  await again.locator('.skip-comment').click();
  await again.locator('.thumb-down').click();
  await expect.poll(stored).toEqual({ rating: 'down', comment: 'Short and clear, thanks.' });

  // The conversation's menu exports it, as JSON and as Markdown.
  for (const [id, format] of [['#export-json', 'json'], ['#export-markdown', 'markdown']]) {
    if (!(await page.locator(id).isVisible())) await page.locator('#export-menu summary').click();
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator(id).click()]);
    const text = fs.readFileSync((await dl.path())!, 'utf8');
    expect(text, format).toContain('A second question, answered while the tab is hidden');
    if (format === 'json') expect(() => JSON.parse(text)).not.toThrow();
  }
});
