// Every core in the browser (issues 24, 33): the built app as `npm start` serves it (vite
// preview: CSP + COOP/COEP headers) is cross-origin isolated in the page and in every
// worker (the sampler's own threads included), the scorer's tfjs-wasm runs its threaded
// binary and the header says how many sampling threads there are; a
// software WebGPU adapter (SwiftShader here) starts on wasm unless ?backend=webgpu asks for
// it; and a digits 2x2 run with threads is timed against ?threads=1 in the same browser.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page, Worker } from 'playwright-core';
import { backendOf, buildApp, canvasStats, digitsRunQuery, launch, LONG_TASK_PROBE, repoRoot, scorerReady, screenshot, servePreview, timeRunInPage, waitFor, waitForStatus, type Server } from './harness';

const testid = (id: string) => `[data-testid="${id}"]`;
const shipped = fs.existsSync(path.join(repoRoot, 'models/mnist/model.json'));

let dir: string;
let app: Server;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  dir = await buildApp();
  app = await servePreview(dir);
  origin = app.url;
  browser = await launch({ webgpu: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  errors: string[];
  workers: Worker[];
}

/** Opens the app (its URL as given: no backend is asked for unless the query says so). */
async function openApp(query: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const errors: string[] = [];
  const workers: Worker[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  page.on('worker', (w) => {
    workers.push(w);
    w.on('console', (m) => m.type() === 'error' && errors.push(`worker ${w.url()}: ${m.text()}`));
  });
  await page.addInitScript(LONG_TASK_PROBE);
  await page.goto(`${origin}/?${query}`);
  return { page, errors, workers };
}

const text = async (page: Page, id: string) => (await page.locator(testid(id)).textContent()) ?? '';

/** Waits for the threads badge (the sampler's backend report carries it). */
async function threadsOf(page: Page): Promise<string> {
  await waitFor(page, 'the threads badge', () => document.querySelector('[data-testid="threads"]'), null, { timeout: 60_000 });
  return text(page, 'threads');
}

describe('cross-origin isolation', () => {
  it('the page and every worker are crossOriginIsolated, the headers say why, and the badge shows the threads', async () => {
    const res = await fetch(`${origin}/`);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const { page, errors, workers } = await openApp('model=random-tiny&n=4&speed=0&backend=wasm');
    expect(await backendOf(page), errors.join('\n')).toBe('wasm');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const threads = await threadsOf(page);
    expect(threads).toMatch(/· 2 threads/);
    // the app's own workers: the sampler, the scorer (started once the sampler is ready) and
    // the receptive-field worker (face-api's starts on first use). tfjs-wasm's pthread
    // workers (blob: URLs, made by those workers) wait on a futex and answer no evaluate;
    // their start needs SharedArrayBuffer, which the threads badge already shows.
    const own = () => workers.filter((w) => !w.url().startsWith('blob:'));
    await expect.poll(() => own().length, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const ask = (w: Worker) =>
      Promise.race([w.evaluate(() => self.crossOriginIsolated), new Promise<string>((r) => setTimeout(() => r('no answer in 20 s'), 20_000))]);
    const seen = await Promise.all(own().map(async (w) => [w.url(), await ask(w)] as const));
    const pthreads = workers.length - own().length;
    console.info(`workers: ${seen.map(([u, iso]) => `${u.split('/').pop()}=${iso}`).join(', ')}; ${pthreads} pthread workers`);
    for (const [url, iso] of seen) expect(iso, url).toBe(true);
    expect(pthreads).toBeGreaterThan(0);
    // a sample runs to done on the threaded binary
    await page.click(testid('class-3'));
    await waitForStatus(page, 'done', 120_000);
    expect(errors, errors.join('\n')).toEqual([]);
    await screenshot(page, 'isolation-threads');
    await page.close();
  }, 300_000);

  it('?threads=1 keeps the single-thread path', async () => {
    const { page, errors } = await openApp('model=random-tiny&n=4&speed=0&backend=wasm&threads=1');
    expect(await backendOf(page), errors.join('\n')).toBe('wasm');
    expect(await threadsOf(page)).toMatch(/· 1 thread$/);
    expect(await page.locator('.badge', { has: page.locator(testid('threads')) }).getAttribute('title')).toContain('(threads=1)');
    await page.close();
  }, 300_000);

  it('a software WebGPU adapter starts on wasm and says why; ?backend=webgpu still forces it', async () => {
    const auto = await openApp('model=random-tiny&n=4&speed=0');
    expect(await backendOf(auto.page), auto.errors.join('\n')).toBe('wasm');
    const skipped = await text(auto.page, 'skipped');
    expect(skipped).toMatch(/webgpu skipped: software adapter \(.*swiftshader.*\): wasm is faster on this CPU; \?backend=webgpu forces it/i);
    await screenshot(auto.page, 'isolation-software-adapter');
    await auto.page.close();
    const forced = await openApp('model=random-tiny&n=4&speed=0&backend=webgpu');
    expect(await backendOf(forced.page), forced.errors.join('\n')).toBe('webgpu');
    expect(await forced.page.locator(testid('software-hint')).count()).toBe(1);
    await forced.page.close();
  }, 300_000);
});

/**
 * Seconds from the click that starts a 2x2 run to the status reading "done", timed in the
 * page (the click's listener and a MutationObserver on the status: the harness's 50 ms
 * polling and its round trips are not in it); the threads badge and the canvas hash.
 */
async function timedRun(query: string, start: string): Promise<{ seconds: number; threads: string; hash: string; workers: Worker[]; page: Page }> {
  const { page, errors, workers } = await openApp(query);
  expect(await backendOf(page), errors.join('\n')).toBe('wasm');
  const threads = await threadsOf(page);
  // the model is loaded once the start button is enabled (the digits page says "idle" too)
  await waitFor(page, `${query}: an enabled ${start}`, (sel) => {
    const b = document.querySelector(sel) as HTMLButtonElement | null;
    return b !== null && !b.disabled && document.querySelector('[data-testid="model"]')?.textContent !== '…';
  }, start, { timeout: 60_000 });
  // and the scorer (started once the sampler has its model), so its own start-up is not timed with the run
  await scorerReady(page, `${query}: the scorer ready`, 30_000);
  const seconds = (await timeRunInPage(page, start)) / 1000;
  const { hash, undecided } = await canvasStats(page);
  expect(undecided).toBe(0);
  // a model folder's anchors.json is optional: its 404 (and Chromium's line for it) is no error
  const optional = errors.some((e) => /^404 .*\/anchors\.json$/.test(e));
  const real = errors.filter((e) => !/\/anchors\.json$/.test(e) && !(optional && /Failed to load resource: .* 404/.test(e)));
  expect(real, real.join('\n')).toEqual([]);
  return { seconds, threads, hash, workers, page };
}

/** Times `query` with threads and with threads=1, one after the other: warm-up pairs first, then one timed pair. */
async function ratio(name: string, query: string, start: string, warmups: number): Promise<void> {
  let last = { many: 0, one: 0 };
  for (let i = 0; i <= warmups; i++) {
    const many = await timedRun(query, start);
    await many.page.close();
    const one = await timedRun(`${query}&threads=1`, start);
    await one.page.close();
    expect(many.threads).toMatch(/· 2 threads/);
    expect(one.threads).toMatch(/· 1 thread$/);
    // threads change the speed, never the picture: same seed, same images
    expect(many.hash).toBe(one.hash);
    last = { many: many.seconds, one: one.seconds };
  }
  console.info(`${name} 2x2 on wasm: threads ${last.many.toFixed(2)} s, threads=1 ${last.one.toFixed(2)} s, ratio ${(last.one / last.many).toFixed(2)}`);
}

describe.skipIf(!shipped)('threads against one thread, one browser (shipped models, wasm)', () => {
  it('a digits 2x2 run (and a single image) with threads and with threads=1: the ratio', async () => {
    // the first pair is a warm-up: the browser compiles the .wasm binaries once
    await ratio('digits', digitsRunQuery(4), testid('class-7'), 1);
    // one image stays on one thread: no slower than threads=1
    await ratio('digits, one image,', digitsRunQuery(1), testid('class-7'), 0);
  }, 300_000);

  it('a faces 2x2 run with threads and with threads=1: the ratio; the face-api worker is isolated too', async () => {
    await ratio('faces', 'model=faces&n=4&speed=0&seed=5&backend=wasm', testid('face-example'), 0);
    // a finished portrait run starts face-api's worker (its descriptors): it is isolated as well
    const run = await timedRun('model=faces&n=4&speed=0&seed=6&backend=wasm', testid('face-example'));
    const faceapi = () => run.workers.find((w) => w.url().includes('faceapi'));
    await expect.poll(() => faceapi() !== undefined, { timeout: 60_000 }).toBe(true);
    expect(await faceapi()!.evaluate(() => self.crossOriginIsolated)).toBe(true);
    await run.page.close();
  }, 300_000);
});
