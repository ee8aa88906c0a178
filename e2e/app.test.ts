// The app in a real browser: Debian's Chromium, WebGPU on SwiftShader. Generations use
// the 'random-tiny' preset (8 x 8) so each takes seconds on software WebGPU; the shipped
// model's own size is only loaded, not sampled to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs';
import { initParams, disposeParams } from '../src/model';
import { saveModel } from '../src/io/weightsNode';
import { backendOf, buildApp, canvasStats, launch, open, repoRoot, screenshot, serve, traceMainThread, waitForStatus, type Server } from './harness';
import { RANDOM_PRESETS } from '../src/worker/loadModel';

const TINY = 'model=random-tiny&n=4&speed=0';
const testid = (id: string) => `[data-testid="${id}"]`;

let dir: string;
let server: Server;

/** A small model saved by the project's own writer, as training would ship it. */
const SAVED = RANDOM_PRESETS['random-tiny']();

beforeAll(async () => {
  dir = await buildApp();
  await tf.setBackend('cpu');
  const params = initParams(SAVED, 5);
  try {
    const meta = { valBitsPerDim: 1.234, trainedImages: 5000 };
    await saveModel(path.join(dir, 'models/e2e-saved'), { config: SAVED, params }, { dtype: 'float16', metadata: meta });
    await saveModel(path.join(dir, 'models/e2e-truncated'), { config: SAVED, params });
  } finally {
    disposeParams(params);
  }
  // cut the last shard of one copy short
  const cut = path.join(dir, 'models/e2e-truncated');
  const shard = fs.readdirSync(cut).filter((f) => f.endsWith('.bin')).sort().at(-1)!;
  const bytes = fs.readFileSync(path.join(cut, shard));
  fs.writeFileSync(path.join(cut, shard), bytes.subarray(0, bytes.length - 10));
  server = await serve(dir);
});

afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Long tasks that started between two performance.now() readings of the page. */
async function longTasksBetween(page: Page, from: number, to: number): Promise<{ start: number; duration: number }[]> {
  const all = await page.evaluate(() => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks);
  return all.filter((t) => t.start >= from && t.start <= to);
}

const now = (page: Page) => page.evaluate(() => performance.now());

describe('with WebGPU', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch({ webgpu: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('loads on the webgpu backend', async () => {
    const { page, errors } = await open(browser, `${server.url}/?${TINY}`);
    expect(await backendOf(page), errors.join('\n')).toBe('webgpu');
    await expect(page.locator(testid('status')).textContent()).resolves.toBe('idle');
    await screenshot(page, '01-loaded-webgpu');
    await page.close();
  });

  it('generates a grid of one class to completion without blocking the page', async () => {
    const { page, errors } = await open(browser, `${server.url}/?${TINY}&seed=7`);
    expect(await backendOf(page)).toBe('webgpu');
    const before = await canvasStats(page);
    let t0 = 0;
    let t1 = 0;
    const tasks = await traceMainThread(page, async () => {
      t0 = await now(page);
      await page.click(testid('class-3'));
      await waitForStatus(page, 'done', 90_000);
      t1 = await now(page);
    });
    const after = await canvasStats(page);
    // every pixel decided, and the grid holds both ink and background
    expect(after.undecided).toBe(0);
    expect(after.bright).toBeGreaterThan(after.total / 50);
    expect(after.dark).toBeGreaterThan(after.total / 50);
    expect(after.hash).not.toBe(before.hash);
    expect(await page.locator(testid('progress')).textContent()).toMatch(/^64 \/ 64 px × 4 images/);
    await expect.poll(() => page.url()).toContain('class=3');
    // The page stayed responsive: no main-thread task over 50 ms while sampling. The
    // Long Tasks API measures wall-clock time, so on a machine loaded by other jobs a
    // task the OS preempted also counts; each one it reports must then show under 50 ms
    // of CPU time in the trace of the main thread.
    // (Under a fully loaded CI run a long task was once missing from the trace; it is then
    // reported, and its CPU is still bounded by the trace's tasks that overlap it.)
    const long = await longTasksBetween(page, t0, t1);
    for (const lt of long) {
      const end = lt.start + lt.duration;
      const overlapping = tasks.filter((t) => t.start < end && t.start + t.wall > lt.start);
      const seen = overlapping.some((t) => Math.min(end, t.start + t.wall) - Math.max(lt.start, t.start) >= lt.duration / 2);
      if (!seen) console.info(`long task at ${lt.start.toFixed(1)} ms (${lt.duration} ms) not in the trace`);
      const cpu = overlapping.reduce((sum, t) => sum + t.cpu, 0);
      expect(cpu, `long task at ${lt.start.toFixed(0)} ms: ${cpu.toFixed(1)} ms of CPU`).toBeLessThan(50);
    }
    const busy = tasks.filter((t) => t.start >= t0 && t.start <= t1 && t.cpu >= 50);
    expect(busy).toEqual([]);
    if (long.length > 0) console.info(`${long.length} long task(s) by wall clock, all under 50 ms of CPU: the machine was busy`);
    expect(errors).toEqual([]);
    await screenshot(page, '02-done-webgpu');

    // the PNG download holds the grid at the canvas's crisp scale
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(testid('download'))]);
    expect(download.suggestedFilename()).toMatch(/^pixelcnn-digit3-seed7-t1\.png$/);
    const png = fs.readFileSync(await download.path());
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    // two 8-px tiles a row at 28 px per pixel (the most that fits 448 px), one pixel's width between
    expect([w, h]).toEqual([2 * 8 * 28 + 28, 2 * 8 * 28 + 28]);

    // stopping a run part-way releases everything it made
    const tensorsDone = Number(await page.locator(testid('tensors')).textContent());
    await page.locator(testid('speed')).fill('0'); // left end: pixel by pixel, so the run is still going when stopped
    await page.click(testid('class-5'));
    await page.waitForFunction(() => /^[2-9] \//.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''));
    await page.click(testid('stop'));
    await waitForStatus(page, 'stopped');
    await expect.poll(async () => Number(await page.locator(testid('tensors')).textContent())).toBe(tensorsDone);
    expect(errors).toEqual([]);
    await page.close();
  });

  // Run management is the same on every backend; wasm keeps this one fast.
  it('a class picked mid-generation replaces the run: the picture equals a fresh run and no tensor leaks', async () => {
    const { page } = await open(browser, `${server.url}/?model=random-tiny&n=4&speed=4&seed=42&backend=wasm`);
    expect(await backendOf(page)).toBe('wasm');
    await page.click(testid('class-7'));
    await page.waitForFunction(() => /^([3-9]|\d\d+) \//.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''));
    await screenshot(page, '03-generating');
    await page.click(testid('pause'));
    await waitForStatus(page, 'paused');
    await page.click(testid('resume'));
    await waitForStatus(page, 'running');
    // three requests in a row: only the last may run
    await page.evaluate(() => {
      for (const d of [4, 8, 2]) (document.querySelector(`[data-testid="class-${d}"]`) as HTMLButtonElement).click();
    });
    await page.locator(testid('speed')).fill('4'); // right end: as fast as possible
    await waitForStatus(page, 'done', 90_000);
    const replaced = await canvasStats(page);
    const tensorsReplaced = Number(await page.locator(testid('tensors')).textContent());
    await page.close();

    const fresh = await open(browser, `${server.url}/?model=random-tiny&n=4&speed=0&seed=42&class=2&backend=wasm`);
    await waitForStatus(fresh.page, 'done', 90_000);
    const clean = await canvasStats(fresh.page);
    const tensorsClean = Number(await fresh.page.locator(testid('tensors')).textContent());
    await fresh.page.close();

    expect(replaced.undecided).toBe(0);
    expect(replaced.hash).toBe(clean.hash); // no stale pixel of the class-7 run survived
    expect(tensorsReplaced).toBe(tensorsClean);
  });

  it('the visualizer shows a blind spot for the masked model and none for the gated one', async () => {
    const { page } = await open(browser, `${server.url}/?${TINY}`);
    await backendOf(page);
    const canvas = page.locator(testid('rf-canvas'));
    await page.locator(testid('rf-depth')).fill('3');
    // the canvas is square from the first render (it once was 300 x 150 until the first field
    // arrived, and a hover aimed at row 5 landed on row 2)
    const first = (await canvas.boundingBox())!;
    expect(Math.abs(first.width - first.height)).toBeLessThan(1);
    await expect.poll(() => canvas.getAttribute('data-arch')).toBe('masked');
    // hover pixel (5, 4) of the 8 x 8 grid
    const box = (await canvas.boundingBox())!;
    expect(box).toEqual(first);
    await canvas.hover({ position: { x: (4.5 / 8) * box.width, y: (5.5 / 8) * box.height } });
    await expect.poll(() => canvas.getAttribute('data-target')).toBe('5,4');
    await expect.poll(() => canvas.getAttribute('data-layers')).toBe('3');
    expect(await canvas.getAttribute('data-arch')).toBe('masked');
    const maskedBlind = Number(await page.locator(testid('rf-blind')).textContent());
    expect(maskedBlind).toBeGreaterThan(0);
    await screenshot(page, '04-receptive-masked');

    await page.click(testid('rf-toggle'));
    await expect.poll(() => canvas.getAttribute('data-arch')).toBe('gated');
    expect(Number(await page.locator(testid('rf-blind')).textContent())).toBe(0);
    expect(await page.locator('.rf-stats').textContent()).not.toContain('leak');
    await screenshot(page, '05-receptive-gated');

    // more pixels and depths: the worker's tensors stay flat
    const tensors = await canvas.getAttribute('data-tensors');
    expect(Number(tensors)).toBeGreaterThanOrEqual(0);
    expect(tensors).not.toBeNull();
    for (const [row, col, depth] of [[2, 6, '5'], [7, 0, '1'], [5, 4, '3']] as const) {
      await page.locator(testid('rf-depth')).fill(depth);
      await canvas.hover({ position: { x: ((col + 0.5) / 8) * box.width, y: ((row + 0.5) / 8) * box.height } });
      await expect.poll(() => canvas.getAttribute('data-target')).toBe(`${row},${col}`);
      await expect.poll(() => canvas.getAttribute('data-layers')).toBe(depth);
    }
    expect(await canvas.getAttribute('data-tensors')).toBe(tensors);
    await page.close();
  });

  it('a broken model file shows a readable error instead of a blank page', async () => {
    const cases: [string, RegExp][] = [
      ['/fixtures/broken/', /model\.json: config\.firstKernel: expected an odd kernel size, got 4/],
      ['/fixtures/truncated/', /model\.json is not valid JSON/],
      ['no-such-model', /no-such-model\/model\.json answered HTTP 404/],
      ['e2e-truncated', /model "e2e-truncated": group1-shard1of1\.bin: truncated: tensor '[^']+' needs bytes/],
    ];
    for (const [spec, want] of cases) {
      const { page } = await open(browser, `${server.url}/?model=${encodeURIComponent(spec)}`);
      const error = page.locator(testid('error'));
      await error.waitFor();
      expect(await error.textContent()).toMatch(want);
      expect(await page.locator(testid('model')).textContent()).toBe('failed');
      if (spec.includes('broken')) await screenshot(page, '06-bad-model');
      await page.close();
    }
  });

  it('loads a saved model by name and samples from it', async () => {
    const { page, errors } = await open(browser, `${server.url}/?model=e2e-saved&n=1&class=3&backend=wasm`);
    expect(await backendOf(page)).toBe('wasm');
    // the backend badge comes before the load answers (the sampling threads load the model too): read the model once a run is done
    await waitForStatus(page, 'done', 60_000);
    expect(await page.locator(testid('model')).textContent()).toBe('e2e-saved');
    expect(await page.locator(testid('model-note')).textContent()).toContain(
      'trained weights from /models/e2e-saved/, 1.234 bits/dim on validation, trained on 5k images',
    );
    expect((await canvasStats(page)).undecided).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it.skipIf(!fs.existsSync(path.join(repoRoot, 'models/mnist/model.json')))('draws a digit with the shipped model on WebGPU', async () => {
    const { page, errors } = await open(browser, `${server.url}/?n=1&class=7&seed=1&speed=0`);
    expect(await backendOf(page)).toBe('webgpu');
    await waitForStatus(page, 'done', 90_000);
    const stats = await canvasStats(page);
    expect(stats.undecided).toBe(0);
    // an MNIST digit: some ink on a mostly dark background
    expect(stats.bright).toBeGreaterThan(stats.total / 50);
    expect(stats.dark).toBeGreaterThan(stats.bright);
    expect(errors).toEqual([]);
    await screenshot(page, '08-mnist-webgpu');
    await page.close();
  });

  it('loads the shipped model, or says it fell back to random weights when there is none', async () => {
    const shipped = fs.existsSync(path.join(repoRoot, 'models/mnist/model.json'));
    const { page } = await open(browser, `${server.url}/`);
    expect(await backendOf(page)).toBe('webgpu');
    const note = page.locator(testid('model-note'));
    await note.waitFor();
    if (shipped) {
      expect(await page.locator(testid('model')).textContent()).toBe('mnist');
      expect(await note.textContent()).toContain('trained weights');
    } else {
      expect(await page.locator(testid('model')).textContent()).toBe('random (random)');
      expect(await note.textContent()).toMatch(/models\/mnist is not built yet: using a randomly initialised class-conditional model/);
    }
    await page.close();
  });
});

describe('without WebGPU', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch({ webgpu: false });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('falls back to the next backend, says why, and still generates', async () => {
    const { page, errors } = await open(browser, `${server.url}/?${TINY}&seed=3`);
    const backend = await backendOf(page);
    expect(['webgl', 'wasm', 'cpu']).toContain(backend);
    expect(await page.locator(testid('skipped')).textContent()).toMatch(/webgpu skipped: no WebGPU adapter|webgpu skipped: navigator\.gpu is missing/);
    // by keyboard: the class buttons are focusable buttons
    await page.locator(testid('class-1')).focus();
    await page.keyboard.press('Enter');
    await waitForStatus(page, 'done', 90_000);
    expect(await page.locator(testid('class-1')).getAttribute('aria-pressed')).toBe('true');
    const stats = await canvasStats(page);
    expect(stats.undecided).toBe(0);
    expect(stats.bright).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await screenshot(page, `07-fallback-${backend}`);
    await page.close();
  });

  it('?backend=wasm runs on wasm; a digit key picks a class', async () => {
    const { page } = await open(browser, `${server.url}/?${TINY}&backend=wasm&class=4`);
    expect(await backendOf(page)).toBe('wasm');
    await waitForStatus(page, 'done', 60_000);
    expect((await canvasStats(page)).undecided).toBe(0);
    await page.keyboard.press('6');
    await waitForStatus(page, 'done', 60_000);
    await expect.poll(() => page.url()).toContain('class=6');
    await page.close();
  });
});
