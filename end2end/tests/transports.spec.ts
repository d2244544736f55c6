import * as http from 'http';
import { AddressInfo } from 'net';
import { test, expect } from './fixtures';
import { signUp, send, watchReply, sessionIdFromUrl, storedMessages, serverText, bubbleText } from './helpers';
import { BASE_URL } from '../playwright.config';

test.describe.configure({ timeout: 90_000 });

/**
 * A pass-through proxy that cuts the first SSE response after `cutAfter` token
 * events, as a flaky network would, and records each request's Last-Event-ID.
 */
async function cuttingProxy(cutAfter: number) {
  const lastEventIds: (string | undefined)[] = [];
  let streams = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/blank') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body></body></html>');
      return;
    }
    // Only the event streams count: the page itself also loads through the proxy.
    const n = req.url?.includes('/events') ? streams++ : -1;
    if (n >= 0) lastEventIds.push(req.headers['last-event-id'] as string | undefined);
    const target = new URL(req.url ?? '/', BASE_URL);
    const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, 'access-control-allow-origin': '*' });
      let tokens = 0;
      upRes.on('data', (chunk: Buffer) => {
        res.write(chunk);
        tokens += (chunk.toString().match(/event: token/g) || []).length;
        if (n === 0 && tokens >= cutAfter) {
          upRes.destroy();
          res.destroy();
        }
      });
      upRes.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, lastEventIds, close: () => server.close() };
}

test.describe('a flaky network', () => {
  // The cut is deliberate: Chromium reports it on the console.
  test.use({ allowConsole: [/ERR_INCOMPLETE_CHUNKED_ENCODING/] });

test('an EventSource cut mid-reply resumes by itself with Last-Event-ID', async ({ page }) => {
  const token = await signUp(page);
  const proxy = await cuttingProxy(8);
  try {
    // The page comes from the proxy's origin, so the EventSource is same-origin:
    // Brook's pages allow connections to their own origin only (CSP
    // `connect-src 'self'`), and Chromium refuses a blank page's requests to
    // loopback (Private Network Access).
    await page.goto(`${proxy.url}/blank`);
    const res = await page.request.post('/api/v1/chat/messages', {
      headers: { Authorization: `Bearer ${token}` },
      data: { message: 'stream through a flaky proxy' },
    });
    expect(res.status()).toBe(202);
    const { reply_id, session_id } = await res.json();
    const got = await page.evaluate(
      ({ base, reply, token }) =>
        new Promise<{ tokens: { seq: number; id: string; text: string }[]; response: string; opens: number }>((resolve, reject) => {
          const tokens: { seq: number; id: string; text: string }[] = [];
          let opens = 0;
          const es = new EventSource(`${base}/api/v1/chat/replies/${reply}/events?token=${encodeURIComponent(token)}`);
          es.onopen = () => { opens += 1; };
          es.addEventListener('token', (e: MessageEvent) => {
            const f = JSON.parse(e.data);
            tokens.push({ seq: f.seq, id: e.lastEventId, text: f.token });
          });
          es.addEventListener('complete', (e: MessageEvent) => {
            es.close();
            resolve({ tokens, response: JSON.parse(e.data).response, opens });
          });
          setTimeout(() => reject(new Error(`timed out after ${tokens.length} tokens`)), 60_000);
        }),
      { base: proxy.url, reply: reply_id, token },
    );
    expect(got.opens).toBeGreaterThanOrEqual(2);
    expect(proxy.lastEventIds[0]).toBeUndefined();
    // It came back from the last event it had processed before the cut.
    const resumedFrom = Number(proxy.lastEventIds[1]);
    expect(resumedFrom).toBeGreaterThanOrEqual(1);
    expect(resumedFrom).toBeLessThanOrEqual(8);
    const seqs = got.tokens.map((t) => t.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(got.tokens.every((t) => String(t.seq) === t.id)).toBe(true);
    expect(got.tokens.map((t) => t.text).join('')).toBe(got.response);
    const msgs = await storedMessages(page.request, session_id);
    expect(msgs[1].content).toBe(got.response);
  } finally {
    proxy.close();
  }
});
});

test('with WebSockets blocked the UI chats over the fallback, then returns to the WebSocket', async ({ page }) => {
  await signUp(page);
  let blocked = true;
  await page.addInitScript(() => localStorage.setItem('brook.upgrade_ms', '1500'));
  await page.routeWebSocket(/\/api\/v1\/chat\/ws/, (ws) => {
    if (blocked) {
      ws.close({ code: 4003, reason: 'blocked by the test' });
      return;
    }
    ws.connectToServer();
  });
  await page.goto('/?new');
  const conn = page.locator('#connection');
  await expect(conn).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
  await expect(conn).toHaveAttribute('data-transport', /sse|poll/);
  await expect(conn).toContainText(/SSE|long polling/);

  await send(page, 'Hello over HTTP');
  await expect(page.locator('[data-role="user"]').last()).toHaveAttribute('data-delivery', 'sent');
  const texts = await watchReply(page);
  expect(texts.length).toBeGreaterThan(2);
  const session = await sessionIdFromUrl(page);
  let msgs = await storedMessages(page.request, session);
  expect(msgs[1].status).toBe('complete');
  expect(await bubbleText(page, msgs[1].id)).toBe(await serverText(page, session, msgs[1].id));

  // Lift the block: the page moves back to the WebSocket by itself, no reload.
  blocked = false;
  await expect(conn).toHaveAttribute('data-transport', 'websocket', { timeout: 20_000 });
  await expect(conn).toHaveAttribute('data-connection', 'connected');
  await send(page, 'And now over the WebSocket');
  await watchReply(page);
  msgs = await storedMessages(page.request, session);
  expect(msgs.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Hello over HTTP', 'And now over the WebSocket']);
});
