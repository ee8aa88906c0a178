// The app follows the model (issue 17 §1), in Chromium with WebGPU on SwiftShader: the
// picker switches models without reloading the page, the run in progress stops, the
// sampling worker's tensors stay flat across ten switches, a failed switch keeps the old
// model, and a colour model paints R, G, B sub-pixels as they are decided. Full runs on the
// fused sampler read back at most twice an image row (issue 32; the progress line's count).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs';
import { initParams, disposeParams, makeConfig } from '../src/model';
import { saveModel } from '../src/io/weightsNode';
import { backendOf, buildApp, launch, open, pageReport, screenshot, serve, waitFor, waitForStatus, type Server } from './harness';

const testid = (id: string) => `[data-testid="${id}"]`;

let dir: string;
let server: Server;
let browser: Browser;

/** An unconditional colour model: it starts drawing as soon as it is loaded. */
const COLOUR = makeConfig({ height: 12, width: 12, channels: 3, levels: 16, hidden: 6, layers: 2, firstKernel: 5, headHidden: 12 });

beforeAll(async () => {
  dir = await buildApp();
  await tf.setBackend('cpu');
  const params = initParams(COLOUR, 3);
  try {
    await saveModel(path.join(dir, 'models/e2e-colour'), { config: COLOUR, params });
  } finally {
    disposeParams(params);
  }
  server = await serve(dir);
  browser = await launch({ webgpu: true });
});

// a test that failed part-way must not leave a page drawing on the CPU the next one needs
afterEach(async () => {
  for (const c of browser?.contexts() ?? []) for (const p of c.pages()) await p.close();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// the badges are there once a switch is over (switchTo waits for that): a read that waits long
// would hide a page stuck in a switch (issue 27: the tensors badge "taking 240 s" was a race)
const text = async (page: Page, id: string) => {
  try {
    return (await page.locator(testid(id)).textContent({ timeout: 10_000 })) ?? '';
  } catch (e) {
    throw new Error(`no ${id} badge: ${(e as Error).message.split('\n')[0]}\n${await pageReport(page)}`);
  }
};

/** A run's first pixels: random-tiny draws one in well under a second alone, seconds under load. */
const FIRST_PIXEL_MS = 60_000;
async function firstPixel(page: Page): Promise<void> {
  await waitFor(page, 'the first pixel of a run', () => /^[1-9]\d* \//.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''), null, { timeout: FIRST_PIXEL_MS, polling: 200 });
}

/**
 * A finished fused WebGPU run's readbacks, from its progress line (drawn by the time
 * waitForStatus returns): every mapAsync the sampling worker made during the run.
 */
async function readbacks(page: Page): Promise<number> {
  const line = await text(page, 'progress');
  const m = line.match(/ · (\d+) readbacks$/);
  if (!m) throw new Error(`no readbacks in the progress line "${line}"`);
  return Number(m[1]);
}

/** Picks a model and waits until the worker has it (the header names it, the switch is over). */
async function switchTo(page: Page, name: string): Promise<void> {
  await page.selectOption(testid('model-picker'), name);
  await waitFor(
    page,
    `the switch to ${name}`,
    (n) => !document.querySelector('[data-testid="model-switching"]') && document.querySelector('[data-testid="model"]')?.textContent?.startsWith(n),
    name,
    { timeout: 60_000 },
  );
}

describe('the model picker', () => {
  it('switches ten times without reloading, stops the run in progress, and leaks no tensor', { timeout: 600_000 }, async () => {
    // the digits side is random-tiny, slowed to 150 ms a sub-pixel so every switch finds it
    // mid-run (models/mnist's guided run draws a few pixels a minute on SwiftShader); the
    // faces side is the shipped models/faces, its real weights loaded each time
    const { page, errors } = await open(browser, `${server.url}/?model=random-tiny&class=3&n=4&speed=4&seed=1`);
    expect(await backendOf(page), errors.join('\n')).toBe('webgpu');
    await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    const options = await page.locator(`${testid('model-picker')} option`).evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(expect.arrayContaining(['mnist', 'faces', 'random', 'random-faces']));
    await waitForStatus(page, 'running');
    await firstPixel(page);
    const tensors: Record<string, number[]> = { 'random-tiny': [Number(await text(page, 'tensors'))], faces: [] };
    const t0 = Date.now();
    for (let k = 0; k < 10; k++) {
      const to = k % 2 === 0 ? 'faces' : 'random-tiny';
      console.info(`switch ${k} to ${to} at ${((Date.now() - t0) / 1000).toFixed(1)} s: ${await text(page, 'status')} ${await text(page, 'progress')}`);
      if (to === 'faces') {
        // a digit is being drawn when the switch comes
        expect(await text(page, 'status')).toBe('running');
        expect(await text(page, 'progress')).toMatch(/^[1-9]\d* \/ 64 px/);
      }
      await switchTo(page, to);
      expect(page.url()).toContain(`model=${to}`);
      tensors[to].push(Number(await text(page, 'tensors')));
      if (to === 'faces') {
        // a vector model waits for a face; no class buttons, no drawing pad
        expect(await text(page, 'status')).toBe('pick a face');
        expect(await page.locator(testid('class-3')).count()).toBe(0);
        expect(await page.locator(testid('draw-unavailable')).textContent()).toMatch(/colour/);
        expect(await text(page, 'model-note')).toMatch(/32×32, 256 levels, 10 layers/);
      } else {
        // the class in the URL goes on drawing on the class model
        await waitForStatus(page, 'running');
        await firstPixel(page);
      }
    }
    console.info(`sampling worker tensors after each load: ${JSON.stringify(tensors)}`);
    // the same model loaded again holds the same tensors: the old weights and every stopped run were freed
    expect(new Set(tensors['random-tiny']).size, JSON.stringify(tensors)).toBe(1);
    expect(new Set(tensors.faces).size, JSON.stringify(tensors)).toBe(1);
    expect(tensors.faces.length + tensors['random-tiny'].length - 1).toBe(10);
    expect(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
    expect(errors).toEqual([]);
    await screenshot(page, 'models-01-after-ten-switches');
    await page.close();
  });

  it('a failed switch keeps the old model, says why in one line, and the old model still draws', { timeout: 300_000 }, async () => {
    // the faces model's first shard goes missing on the server
    const facesDir = path.join(dir, 'models/faces');
    const shard = fs.readdirSync(facesDir).filter((f) => f.endsWith('.bin')).sort()[0];
    fs.renameSync(path.join(facesDir, shard), path.join(facesDir, `${shard}.gone`));
    try {
      const { page } = await open(browser, `${server.url}/?model=random-tiny&class=2&n=4&speed=0&seed=3`);
      expect(await backendOf(page)).toBe('webgpu');
      await waitForStatus(page, 'done', 90_000);
      await page.selectOption(testid('model-picker'), 'faces');
      await waitFor(page, 'the failed switch\'s error line', () => document.querySelector('[data-testid="model-error"]'), null, { timeout: 60_000 });
      const message = await text(page, 'model-error');
      expect(message).toMatch(/^model "faces": .*HTTP 404.* \(still drawing with random-tiny\)$/);
      expect(message).not.toContain('\n');
      expect(await text(page, 'model')).toBe('random-tiny (random)');
      expect(await page.locator(testid('model-picker')).inputValue()).toBe('random-tiny');
      expect(page.url()).toContain('model=random-tiny');
      await screenshot(page, 'models-02-failed-switch');
      // the scorer kept the old model too: drawings are still scored, no error under the pad
      expect(await page.locator(testid('draw-unavailable')).count()).toBe(0);
      expect(await page.locator('.draw').textContent()).not.toContain('no scores');
      // the old weights were not disposed: the old model draws to the end
      await page.click(testid('class-5'));
      await waitForStatus(page, 'done', 90_000);
      expect(await text(page, 'progress')).toMatch(/^64 \/ 64 px × 4 images/);
      // issue 32 in the app: a 2x2 digits run on the fused sampler reads back at most twice an image row (8 rows)
      expect(await readbacks(page)).toBeGreaterThanOrEqual(8);
      expect(await readbacks(page)).toBeLessThanOrEqual(2 * 8);
      await page.close();
    } finally {
      fs.renameSync(path.join(facesDir, `${shard}.gone`), path.join(facesDir, shard));
    }
  });

  it('a model that failed to load at start is left by picking another', async () => {
    const { page } = await open(browser, `${server.url}/?model=no-such-model&n=4&speed=0`);
    await waitFor(page, 'the start error', () => document.querySelector('[data-testid="error"]'), null, { timeout: 30_000 });
    expect(await page.locator(`${testid('model-picker')} option[value="no-such-model"]`).count()).toBe(1);
    await switchTo(page, 'random-tiny');
    expect(await page.locator(testid('error')).count()).toBe(0);
    await page.click(testid('class-1'));
    await waitForStatus(page, 'done', 90_000);
    await page.close();
  });
});

describe('a colour model', () => {
  it('paints R, G, B sub-pixels as they are decided, and the chart says which channel it shows', async () => {
    // pixel by pixel (150 ms a sub-pixel): slow enough to catch every channel mid-run
    const { page, errors } = await open(browser, `${server.url}/?model=e2e-colour&n=1&speed=4&seed=2`);
    expect(await backendOf(page), errors.join('\n')).toBe('webgpu');
    // an unconditional model: no class buttons; it starts at once
    expect(await page.locator(testid('class-0')).count()).toBe(0);
    await waitForStatus(page, 'running');
    const seen = new Set<string>();
    const captions: string[] = [];
    for (let k = 0; k < 80 && seen.size < 3; k++) {
      const ch = await page.locator(testid('probs')).getAttribute('data-channel');
      if (ch) {
        seen.add(ch);
        captions.push((await page.locator('.chart figcaption span').textContent()) ?? '');
      }
      await page.waitForTimeout(60);
    }
    expect([...seen].sort()).toEqual(['B', 'G', 'R']);
    expect(captions.some((c) => / R: drew \d+ of 15/.test(c))).toBe(true);
    await waitFor(page, 'six sub-pixels', () => /^([6-9]|\d\d+) \//.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''), null, { timeout: 60_000 });
    // the chart's bars are drawn in the colour of the channel it shows
    const barColours = await page.evaluate(() => {
      const c = document.querySelector('[data-testid="probs"]') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const hues = new Set<string>();
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] === 0) continue;
        const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
        if (r > 200 && g < 150 && b < 150) hues.add('R');
        else if (g > 200 && r < 120 && b < 160) hues.add('G');
        else if (b > 200 && r < 120 && g < 200) hues.add('B');
      }
      return { channel: c.dataset.channel, hues: [...hues] };
    });
    expect(barColours.hues).toContain(barColours.channel);
    await screenshot(page, 'models-03-colour-mid-run');
    // the canvas holds colour, not grey: some decided pixel has unequal channels
    const colourful = await page.evaluate(() => {
      const c = document.querySelector('[data-testid="samples"]') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
        if (!(r === 30 && g === 38 && b === 54) && (Math.abs(r - g) > 30 || Math.abs(g - b) > 30)) n++;
      }
      return n;
    });
    expect(colourful).toBeGreaterThan(0);
    await page.locator(testid('speed')).fill('4'); // right end: as fast as it goes
    await waitForStatus(page, 'done', 120_000);
    expect(await text(page, 'progress')).toMatch(/^144 \/ 144 px/);
    // and a colour run (12 rows, R, G and B drawn on the GPU): at most twice a row
    expect(await readbacks(page)).toBeGreaterThanOrEqual(12);
    expect(await readbacks(page)).toBeLessThanOrEqual(2 * 12);
    await screenshot(page, 'models-04-colour-done');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a face model streams its portrait in colour once a face is picked, and keeps it across a switch', { timeout: 300_000 }, async () => {
    const { page, errors } = await open(browser, `${server.url}/?model=random-faces-tiny&n=4&speed=3&guidance=0&seed=4`);
    expect(await backendOf(page), errors.join('\n')).toBe('webgpu');
    await waitForStatus(page, 'pick a face');
    await page.locator(testid('face-example')).nth(0).click();
    await waitForStatus(page, 'running');
    await waitFor(page, 'four sub-pixels', () => /^([4-9]|\d\d+) \//.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''), null, { timeout: 60_000 });
    expect(await page.locator(testid('probs')).getAttribute('data-channel')).toMatch(/^[RGB]$/);
    await screenshot(page, 'models-05-face-mid-run');
    // to digits and back: the face stays chosen and the portrait starts again on it
    await switchTo(page, 'random-tiny');
    expect(await text(page, 'status')).toBe('idle');
    await switchTo(page, 'random-faces-tiny');
    await waitForStatus(page, 'running');
    expect(errors).toEqual([]);
    await page.close();
  });
});
