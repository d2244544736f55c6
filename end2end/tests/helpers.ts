import { Page, APIRequestContext, expect } from '@playwright/test';

export function uniqueEmail(prefix = 'e2e'): string {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** Registers through the API with the page's own cookie jar: the page is then signed in. */
export async function signUp(page: Page): Promise<string> {
  const res = await page.request.post('/api/v1/auth/register', {
    data: { email: uniqueEmail(), password: 'correct horse', name: 'E2E' },
  });
  expect(res.status()).toBe(201);
  return (await res.json()).token;
}

export async function openChat(page: Page, path = '/?new') {
  await page.goto(path);
  await expect(page.locator('#connection')).toHaveAttribute('data-connection', 'connected', { timeout: 20_000 });
}

export async function send(page: Page, text: string) {
  const box = page.locator('#composer-input');
  await box.fill(text);
  await box.press('Enter');
}

/**
 * Samples the first element matching `selector` (a bubble marked `data-streaming`) every 25 ms
 * inside the page, until none matches or `limitMs` passes: the distinct lengths of its trimmed
 * text, in order. Sampling in the page keeps a loaded machine's round trips to the browser from
 * thinning out what is seen. `ended` is false when the bubble still streamed at the limit.
 * `shadowHost` names an element whose open shadow root is searched instead of the document
 * (the widget's `brook-widget`): `document.querySelector` does not pierce shadow roots.
 */
export async function sampleStreaming(
  page: Page,
  selector: string,
  limitMs = 30_000,
  shadowHost?: string,
): Promise<{ lengths: number[]; ms: number; ended: boolean }> {
  return page.evaluate(
    async ({ selector, limitMs, shadowHost }) => {
      const started = performance.now();
      const lengths: number[] = [];
      for (;;) {
        const root = shadowHost ? document.querySelector(shadowHost)?.shadowRoot : document;
        const el = root?.querySelector(selector);
        const ms = performance.now() - started;
        if (!el) return { lengths, ms, ended: true };
        if (ms > limitMs) return { lengths, ms, ended: false };
        const n = (el.textContent ?? '').trim().length;
        if (n > 0 && n !== lengths[lengths.length - 1]) lengths.push(n);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    { selector, limitMs, shadowHost },
  );
}

/**
 * Watches the newest assistant bubble until it stops streaming (no `data-streaming`, status
 * neither queued nor streaming) or `timeoutMs` passes; returns the distinct texts of its `.md`
 * seen, in order, the last one read once it stopped. It samples every 25 ms inside the page, as
 * `sampleStreaming` does: a loop in the test made three round trips per sample, and a loaded CI
 * machine thinned those out until a streaming reply could look like one that arrived whole.
 */
export async function watchReply(page: Page, timeoutMs = 30_000): Promise<string[]> {
  const bubble = page.locator('[data-role="assistant"]').last();
  await expect(bubble).toBeVisible({ timeout: 15_000 });
  return page.evaluate(async (timeoutMs) => {
    const until = performance.now() + timeoutMs;
    const seen: string[] = [];
    for (;;) {
      const all = document.querySelectorAll('[data-role="assistant"]');
      const last = all[all.length - 1];
      const text = last?.querySelector('.md')?.textContent ?? '';
      if (seen[seen.length - 1] !== text) seen.push(text);
      const streaming = last?.getAttribute('data-streaming') ?? null;
      const status = last?.getAttribute('data-status') ?? null;
      if (last && streaming === null && status !== 'queued' && status !== 'streaming') return seen;
      if (performance.now() > until) return seen;
      await new Promise((r) => setTimeout(r, 25));
    }
  }, timeoutMs);
}

export async function sessionIdFromUrl(page: Page): Promise<string> {
  await expect(page).toHaveURL(/\/c\//);
  return decodeURIComponent(new URL(page.url()).pathname.split('/c/')[1]);
}

export async function storedMessages(request: APIRequestContext, session: string): Promise<any[]> {
  const res = await request.get(`/api/v1/conversations/${encodeURIComponent(session)}/messages?limit=200`);
  expect(res.status()).toBe(200);
  return (await res.json()).messages;
}

/**
 * The text of a message as the server renders it from storage (the `/c/{id}`
 * HTML, parsed in the page): comparing it with the live bubble's text checks that
 * what streamed equals what was stored, rendered the same way.
 */
export async function serverText(page: Page, session: string, messageId: string): Promise<string> {
  const html = await (await page.request.get(`/c/${encodeURIComponent(session)}`)).text();
  return await page.evaluate(
    ({ html, id }) => {
      const doc = new DOMParser().parseFromString(html, 'text/html');
      const el = doc.querySelector(`[data-message-id="${id}"] .md, [data-message-id="${id}"] .plain`);
      return el ? el.textContent ?? '' : '<missing>';
    },
    { html, id: messageId },
  );
}

export async function bubbleText(page: Page, messageId: string): Promise<string> {
  return (await page.locator(`[data-message-id="${messageId}"] .md`).textContent()) ?? '';
}
