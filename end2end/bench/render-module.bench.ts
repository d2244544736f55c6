/**
 * The widget's markdown module alone (`widget-md`, `brook_widget_md.js`) in
 * headless Chromium, without Brook: the rendering half of the render benchmark
 * (render.bench.ts), for when no release site is built, or to see the
 * renderer's share. Runs with BENCH_RENDER_SURFACES containing `module`.
 *
 * The same generated markdown reply (20 KB, 100 KB, 1 MiB) arrives in
 * 4-character tokens, one task each (a MessageChannel message, as WebSocket
 * frames arrive), into a scrolled log that is kept at its bottom after every
 * token, as the widget does. Two ways:
 * - `whole`: `render(el, text so far)` on every token (the widget before issue 12);
 * - `stream`: `Stream.push(token)` on every token, `finish()` at the end (after).
 * Busy time is CDP `TaskDuration` / `ScriptDuration` over the run, divided by the
 * tokens; a run still going after BENCH_RENDER_LIMIT_S (300) seconds stops and
 * says how many tokens it got through. Prints a table, writes
 * `bench-results/render-module-<label>.json`; asserts nothing about time.
 *
 * BENCH_WIDGET_MD_DIR: the folder with `brook_widget_md.js` and
 * `brook_widget_md_bg.wasm` (default: `target/site/widget` of `make build`).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { test, expect } from '@playwright/test';
import { markdownReply } from './markdown-reply';

const ROOT = path.join(__dirname, '..', '..');
const DIR = process.env.BENCH_WIDGET_MD_DIR ?? path.join(ROOT, 'target', 'site', 'widget');
const PORT = Number(process.env.BROOK_E2E_PORT ?? 3311) + 11;
const LIMIT_S = Number(process.env.BENCH_RENDER_LIMIT_S ?? 300);
const LABEL = process.env.BENCH_RENDER_LABEL ?? 'run';
const SIZES = (process.env.BENCH_RENDER_SIZES ?? `20000,100000,${1024 * 1024 - 4}`).split(',').map(Number);
const SURFACES = (process.env.BENCH_RENDER_SURFACES ?? 'app,widget').split(',');
const MODES = (process.env.BENCH_RENDER_MODES ?? 'whole,stream').split(',');

test.describe.configure({ mode: 'serial' });

const PAGE = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>render module</title><link rel="icon" href="data:,">
<style>#log { height: 600px; overflow: auto; width: 400px; font: 14px sans-serif; }</style></head>
<body><div id="log"><div id="out"></div></div>
<script type="module">
  import init, { render, Stream } from '/md/brook_widget_md.js';
  await init({ module_or_path: '/md/brook_widget_md_bg.wasm' });
  window.run = (mode, text, limitMs) => new Promise((resolve) => {
    const log = document.getElementById('log');
    const el = document.getElementById('out');
    el.textContent = '';
    const toks = [];
    for (let i = 0; i < text.length; i += 4) toks.push(text.slice(i, i + 4));
    const s = mode === 'stream' ? new Stream(el) : null;
    let i = 0;
    let shown = '';
    const ch = new MessageChannel();
    const t0 = performance.now();
    ch.port1.onmessage = () => {
      if (i >= toks.length || performance.now() - t0 > limitMs) {
        if (s && i >= toks.length) s.finish();
        resolve({ done: i, tokens: toks.length });
        return;
      }
      const t = toks[i++];
      if (s) s.push(t);
      else { shown += t; render(el, shown); }
      log.scrollTop = log.scrollHeight;
      ch.port2.postMessage(0);
    };
    ch.port2.postMessage(0);
  });
  window.__ready = true;
</script></body></html>`;

interface Row {
  mode: string;
  bytes: number;
  tokens: number;
  done: number;
  wall_s: number;
  task_ms: number;
  script_ms: number;
  task_ms_per_token: number;
  script_ms_per_token: number;
}

const rows: Row[] = [];
let server: http.Server | undefined;

test.beforeAll(async () => {
  test.skip(!SURFACES.includes('module'));
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/md/')) {
      const file = path.join(DIR, path.basename(url));
      const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      fs.readFile(file, (err, body) => {
        res.writeHead(err ? 404 : 200, { 'content-type': type });
        res.end(err ? '' : body);
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise<void>((r) => server!.listen(PORT, '127.0.0.1', r));
});

test.afterAll(() => {
  server?.close();
  printTable();
});

for (const size of SIZES) {
  for (const mode of MODES) {
    test(`module: ${mode}, ${size} bytes in 4-character tokens`, async ({ page }) => {
      test.skip(!SURFACES.includes('module'));
      await page.goto(`http://127.0.0.1:${PORT}/`);
      await expect.poll(() => page.evaluate(() => (window as any).__ready === true), { timeout: 20_000 }).toBe(true);
      const text = markdownReply(size);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const metric = async () => {
        const { metrics } = await cdp.send('Performance.getMetrics');
        const get = (n: string) => (metrics.find((m: any) => m.name === n)?.value ?? 0) as number;
        return { task: get('TaskDuration'), script: get('ScriptDuration') };
      };
      const before = await metric();
      const t0 = Date.now();
      const out = await page.evaluate(([m, t, l]) => (window as any).run(m, t, l), [mode, text, LIMIT_S * 1000] as const);
      const wall_s = (Date.now() - t0) / 1000;
      const after = await metric();
      const task_ms = (after.task - before.task) * 1000;
      const script_ms = (after.script - before.script) * 1000;
      const row: Row = {
        mode,
        bytes: text.length,
        tokens: out.tokens,
        done: out.done,
        wall_s,
        task_ms,
        script_ms,
        task_ms_per_token: task_ms / Math.max(out.done, 1),
        script_ms_per_token: script_ms / Math.max(out.done, 1),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    });
  }
}

function printTable() {
  if (rows.length === 0) return;
  console.log(
    [
      `render module benchmark (${LABEL}): widget-md in Chromium, 4-character tokens, one task each`,
      '| way | reply | tokens | done | wall s | busy ms | busy ms/token | script ms/token |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.mode} | ${r.bytes.toLocaleString('en')} B | ${r.tokens.toLocaleString('en')} | ${r.done === r.tokens ? 'all' : `${r.done.toLocaleString('en')} (stopped at ${LIMIT_S} s)`} | ${r.wall_s.toFixed(1)} | ${Math.round(r.task_ms).toLocaleString('en')} | ${r.task_ms_per_token.toFixed(3)} | ${r.script_ms_per_token.toFixed(3)} |`,
      ),
    ].join('\n'),
  );
  const out = path.join(ROOT, 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `render-module-${LABEL}.json`), JSON.stringify({ label: LABEL, limit_s: LIMIT_S, rows }, null, 2));
}
