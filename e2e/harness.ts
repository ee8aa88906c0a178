// End-to-end harness: build the app once a run (into a temporary folder, so `npm start`'s
// dist is never touched), serve it on 127.0.0.1 with a tiny static server, and drive Debian's
// Chromium through playwright-core with real WebGPU on SwiftShader.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import net, { type AddressInfo } from 'node:net';
import { build, preview } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..');
export const artifactsDir = path.join(here, 'artifacts');
const fixturesDir = path.join(here, 'fixtures');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BASE_ARGS = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

/**
 * The built app in a fresh temporary folder of the caller's own (it may add models to it and
 * must delete it); returns the folder. Under vitest (e2e/globalSetup.ts) the app is built once
 * a run, by the first file that asks, and each caller gets a copy; elsewhere it is built here.
 */
export async function buildApp(): Promise<string> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixelcnn-e2e-'));
  const shared = process.env[SHARED_BUILD_ENV];
  if (shared) fs.cpSync(await sharedBuild(shared), outDir, { recursive: true });
  else await build({ root: repoRoot, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** Set by e2e/globalSetup.ts: a folder that lives as long as the test run. */
export const SHARED_BUILD_ENV = 'PIXELCNN_E2E_BUILD';

/**
 * The run's one build of the app, in `root`/app. Test files run in several processes at once:
 * the first to take the lock (a folder: mkdir is atomic) builds, the others wait for it.
 */
async function sharedBuild(root: string): Promise<string> {
  const ready = path.join(root, 'app');
  const failed = path.join(root, 'failed');
  const lock = path.join(root, 'lock');
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (fs.existsSync(ready)) return ready;
    if (fs.existsSync(failed)) throw new Error(`the run's build of the app failed: ${fs.readFileSync(failed, 'utf8')}`);
    // a builder that died (killed, out of memory) leaves the lock and no answer: say so at once rather than wait out the deadline
    const holder = lockHolder(lock);
    if (Number.isInteger(holder) && !alive(holder)) throw new Error(`the run's build of the app: its builder (process ${holder}) exited without a build or an error`);
    if (Date.now() > deadline) throw new Error(`the run's build of the app (${ready}) did not come in 240 s; builder: process ${holder} (${alive(holder) ? 'still running' : 'gone'})`);
    try {
      fs.mkdirSync(lock);
    } catch {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
    try {
      const tmp = path.join(root, 'app.tmp');
      await build({ root: repoRoot, logLevel: 'error', build: { outDir: tmp, emptyOutDir: true } });
      fs.renameSync(tmp, ready);
      return ready;
    } catch (e) {
      fs.writeFileSync(failed, (e as Error).message.split('\n')[0]);
      throw e;
    }
  }
}

/** The pid the builder wrote into the lock, NaN before it has (or with no lock). */
function lockHolder(lock: string): number {
  try {
    return Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8') || NaN);
  } catch {
    return NaN;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Server {
  url: string;
  close(): Promise<void>;
}

/** Serves `dir` at / and e2e/fixtures at /fixtures/ on a free port of 127.0.0.1. */
export async function serve(dir: string): Promise<Server> {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const [base, rel] = url.startsWith('/fixtures/') ? [fixturesDir, url.slice('/fixtures/'.length)] : [dir, url.slice(1) || 'index.html'];
    const file = path.resolve(base, rel);
    if (!file.startsWith(path.resolve(base)) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${url}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `dir` as `npm start` serves the built app (vite preview: its CSP and the cross-origin isolation the sampling threads need) on a free port of 127.0.0.1. */
export async function servePreview(dir: string): Promise<Server> {
  const port = await freePort();
  const app = await preview({ root: repoRoot, logLevel: 'error', build: { outDir: dir }, preview: { host: '127.0.0.1', port, strictPort: true } });
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** The query of the timing scripts' run: `n` digits at max speed on wasm (models/mnist, guidance 0, seed 5), then `extra` (e.g. '&threads=1'). */
export function digitsRunQuery(n = 4, extra = ''): string {
  return `model=mnist&n=${n}&speed=0&seed=5&guidance=0&backend=wasm${extra}`;
}

/** A fresh page of the timing scripts' run on `url` (servePreview's). */
export async function openDigitsRun(browser: Browser, url: string, extra = '', n = 4): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  await page.goto(`${url}/?${digitsRunQuery(n, extra)}`);
  return page;
}

/** Browsers launched with WebGPU: open() asks the app for it (below). */
const withWebGPU = new WeakSet<Browser>();

/** A port nobody listens on now, for a server the test starts itself (vite preview). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/**
 * Flags for a look inside Chromium, `;`-separated in CHROMIUM_ARGS (a flag's value may hold
 * spaces): e.g. `--js-flags=--trace-opt --trace-deopt` with DEBUG=pw:browser, which printed
 * the helpers' code thrown away every run (kernelThreads.ts's kept instance).
 */
function extraArgs(): string[] {
  return (process.env.CHROMIUM_ARGS ?? '').split(';').filter(Boolean);
}

export async function launch(opts: { webgpu: boolean }): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...(opts.webgpu ? [...BASE_ARGS, '--enable-unsafe-webgpu'] : BASE_ARGS), ...extraArgs()],
  });
  if (opts.webgpu) withWebGPU.add(browser);
  return browser;
}

/**
 * The app starts on wasm when the WebGPU adapter is a software one (SwiftShader here), so a
 * test on a WebGPU browser asks for WebGPU unless its URL names a backend itself.
 */
export function askForWebGPU(browser: Browser, url: string): string {
  if (!withWebGPU.has(browser)) return url;
  const u = new URL(url);
  if (!u.searchParams.has('backend')) u.searchParams.set('backend', 'webgpu');
  return u.href;
}

/** Records long tasks (> 50 ms on the main thread) from the first script on. */
export const LONG_TASK_PROBE = `
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
`;

export interface MainThreadTask {
  /** start on the page's performance.now() clock, ms */
  start: number;
  /** wall-clock duration, ms (what the Long Tasks API measures) */
  wall: number;
  /** CPU time the main thread really spent in it, ms */
  cpu: number;
}

/**
 * Records every task of the page's main thread while `during` runs (Chrome tracing).
 * On a loaded machine a task can be long in wall-clock time only because the OS did not
 * schedule the thread; the CPU time tells that apart from work that blocks the page.
 */
export async function traceMainThread(page: Page, during: () => Promise<void>): Promise<MainThreadTask[]> {
  const cdp = await page.context().newCDPSession(page);
  const events: { name: string; ph: string; pid: number; tid: number; ts: number; dur?: number; tdur?: number; args?: { name?: string } }[] = [];
  cdp.on('Tracing.dataCollected', (d) => events.push(...(d.value as unknown as typeof events)));
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,blink.user_timing', transferMode: 'ReportEvents' });
  const mark = await page.evaluate(() => performance.mark('e2e-clock').startTime);
  await during();
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.end');
  await complete;
  await cdp.detach();
  const sync = events.find((e) => e.name === 'e2e-clock');
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && e.pid === sync?.pid);
  if (!sync || !main) throw new Error('trace: no clock mark or main thread found');
  const offset = sync.ts / 1000 - mark; // trace ms - page ms
  return events
    .filter((e) => e.name === 'RunTask' && e.ph === 'X' && e.pid === main.pid && e.tid === main.tid)
    .map((e) => ({ start: e.ts / 1000 - offset, wall: (e.dur ?? 0) / 1000, cpu: (e.tdur ?? 0) / 1000 }));
}

export interface Opened {
  page: Page;
  /** console errors and uncaught exceptions, for failure messages */
  errors: string[];
}

export async function open(browser: Browser, url: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    // "Failed to load resource" names no resource: its location does
    if (m.type() === 'error') errors.push(m.location().url ? `${m.text()} (${m.location().url})` : m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(LONG_TASK_PROBE);
  await page.goto(askForWebGPU(browser, url));
  return { page, errors };
}

const text = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`).textContent();

/** The page's store and each worker's last messages (src/app/workers.ts puts them on window). */
export async function pageReport(page: Page): Promise<string> {
  try {
    const { state, trace } = await page.evaluate(() => {
      const w = window as unknown as { __appState?: () => unknown; __workerTrace?: Record<string, string[]> };
      return { state: w.__appState?.() ?? null, trace: w.__workerTrace ?? {} };
    });
    const lines = [`store: ${JSON.stringify(state)}`];
    for (const [name, msgs] of Object.entries(trace)) lines.push(`last ${msgs.length} messages of the ${name} worker:`, ...msgs.map((m) => `  ${m}`));
    return lines.join('\n');
  } catch (e) {
    return `(no report: ${(e as Error).message.split('\n')[0]})`;
  }
}

let timeouts = 0;

/**
 * page.waitForFunction that, when it times out, says why: it prints the store and the
 * workers' last messages, saves a screenshot to e2e/artifacts/, and fails with all three.
 */
export async function waitFor<A>(page: Page, what: string, fn: (arg: A) => unknown, arg: A, opts: { timeout: number; polling?: number }): Promise<void> {
  try {
    // (playwright types the argument of a page function by inference, not by a type parameter)
    await page.waitForFunction(fn as (arg: unknown) => unknown, arg as unknown, { timeout: opts.timeout, polling: opts.polling ?? 50 });
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'TimeoutError') throw e;
    const report = await pageReport(page);
    const shot = await screenshot(page, `timeout-${++timeouts}-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch((s: Error) => `(no screenshot: ${s.message})`);
    console.error(`timed out after ${opts.timeout} ms waiting for ${what}\n${report}\nscreenshot: ${shot}`);
    throw new Error(`timed out after ${opts.timeout} ms waiting for ${what}; screenshot ${shot}\n${report}`);
  }
}

/**
 * Waits until a fresh page's load is over (backend, model, scorer and the blind-spot view's
 * reading): the benchmark scripts time runs only then, with no load work beside them.
 */
export async function loadSettled(page: Page): Promise<void> {
  await backendOf(page);
  await waitFor(page, 'the model', () => document.querySelector('[data-testid="model"]')?.textContent !== '…', null, { timeout: 60_000 });
  await scorerReady(page);
  await waitFor(page, 'the blind-spot reading', () => !!document.querySelector('[data-testid="rf-blind"]'), null, { timeout: 60_000 });
}

/** Waits until the scorer has its model: its start-up then no longer shares the cores with what is timed. */
export async function scorerReady(page: Page, what = 'the scorer ready', timeout = 60_000): Promise<void> {
  await waitFor(page, what, () => /^ready /.test(String((window as unknown as { __appState?: () => { scorer?: string } }).__appState?.().scorer)), null, { timeout });
}

/**
 * Waits until the control `id` is enabled. A test must before it sets files on an input:
 * playwright's setInputFiles fires `change` on a disabled input too, which a user cannot,
 * and a picture loaded before the model is in is wiped by the fresh pad the model brings.
 */
export async function whenEnabled(page: Page, id: string, timeout = 60_000): Promise<void> {
  await waitFor(page, `${id} to be enabled`, (t) => (document.querySelector(`[data-testid="${t}"]`) as HTMLInputElement | null)?.disabled === false, id, { timeout });
}

/** Moves the pointer onto `selector`'s first match and waits until its hover transitions are over. */
export async function restPointerOn(page: Page, selector: string): Promise<void> {
  await page.locator(selector).first().hover();
  await waitFor(page, `the hover on ${selector} to settle`, (sel) => document.querySelector(sel)!.getAnimations().length === 0, selector, { timeout: 5_000 });
}

/**
 * Clicks `start` and waits for the status to read "done"; returns the ms between the two,
 * timed in the page (the click's listener and a MutationObserver on the status), so this
 * harness's 50 ms polling and its round trips are not in it.
 */
export async function timeRunInPage(page: Page, start: string): Promise<number> {
  await page.evaluate((sel) => {
    const w = window as unknown as { __run: { click?: number; done?: number } };
    w.__run = {};
    document.querySelector(sel)!.addEventListener('click', () => (w.__run.click = performance.now()), { once: true, capture: true });
    const status = document.querySelector('[data-testid="status"]')!;
    const seen = new MutationObserver(() => {
      if (status.textContent !== 'done' || w.__run.click === undefined) return;
      w.__run.done = performance.now();
      seen.disconnect();
    });
    seen.observe(status, { childList: true, characterData: true, subtree: true });
  }, start);
  // the pointer is on the control before it is pressed, as a person's is: the hover's
  // transition (0.12 s of frames) is over by the click instead of drawn beside the run
  await restPointerOn(page, start);
  await page.locator(start).first().click();
  // a 2x2 run takes under 5 s even with the whole suite beside it; waitForStatus reports the store and the workers' messages
  await waitForStatus(page, 'done');
  const run = await page.evaluate(() => (window as unknown as { __run: { click: number; done: number } }).__run);
  return run.done - run.click;
}

/** Waits until the status line reads `word` (fails early on "error"). */
export async function waitForStatus(page: Page, word: string, timeout = 60_000): Promise<void> {
  await waitFor(
    page,
    `status "${word}"`,
    (w) => {
      const s = document.querySelector('[data-testid="status"]')?.textContent;
      if (s === 'error' && w !== 'error') throw new Error(document.querySelector('.run-error, [data-testid="error"]')?.textContent ?? 'error');
      return s === w;
    },
    word,
    { timeout },
  );
  // canvases repaint in the next animation frame after the store changes
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

export async function backendOf(page: Page, timeout = 30_000): Promise<string> {
  await waitFor(
    page,
    'the backend badge',
    () => {
      const b = document.querySelector('[data-testid="backend"]')?.textContent;
      return (b && b !== '…') || document.querySelector('[data-testid="error"]');
    },
    null,
    { timeout },
  );
  return (await text(page, 'backend')) ?? '';
}

/** Pixel statistics of the sample canvas: how many are bright, dark, or the undecided tint. */
export async function canvasStats(page: Page): Promise<{ bright: number; dark: number; undecided: number; total: number; hash: string }> {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid="samples"]') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let bright = 0;
    let dark = 0;
    let undecided = 0;
    let h = 2166136261;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (r === 30 && g === 38 && b === 54) undecided++;
      else if (r > 160) bright++;
      else if (r < 60) dark++;
      h = Math.imul(h ^ (r + 7 * g + 31 * b), 16777619);
    }
    return { bright, dark, undecided, total: d.length / 4, hash: (h >>> 0).toString(16) };
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
