import { test as base, expect, Page } from '@playwright/test';

/**
 * Every page a test opens records the browser console's errors and uncaught
 * exceptions; the test fails if there are any. Hydration mismatches and panics in
 * the WASM show up here first.
 */
export const test = base.extend<{ consoleErrors: string[]; allowConsole: RegExp[] }>({
  // A test that provokes a network failure on purpose lists the console line it expects.
  allowConsole: [[], { option: true }],
  consoleErrors: [
    async ({ context, allowConsole }, use) => {
      const errors: string[] = [];
      const watch = (page: Page) => {
        page.on('console', (msg) => {
          if (msg.type() === 'error') errors.push(`[console] ${msg.text()}`);
        });
        page.on('pageerror', (err) => errors.push(`[pageerror] ${err.message}`));
      };
      context.pages().forEach(watch);
      context.on('page', watch);
      await use(errors);
      expect(errors.filter((e) => !allowConsole.some((r) => r.test(e))), 'browser console errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
