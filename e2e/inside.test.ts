// Seeing inside the sampler (issue 34), one page in Chromium on wasm: the hood's layers
// against the shipped digits model's config and its work counter after a 28x28 run, the
// entropy map drawn and named under the pointer, the current-pixel chart's log toggle, a
// model folder given as files run to done (no request carries it), a broken one refused in
// one line while the model before it keeps drawing, the tensors flat, no WCAG A/AA
// violations in these panels (axe), and the page still fitting a phone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import * as tf from '@tensorflow/tfjs';
import { disposeParams, initParams, makeConfig, validateConfig } from '../src/model';
import { saveModel } from '../src/io/weightsNode';
import { cacheFigures } from '../src/sampler/work';
import { buildApp, launch, open, repoRoot, screenshot, serve, waitFor, waitForStatus, type Server } from './harness';

const testid = (id: string) => `[data-testid="${id}"]`;

let dir: string;
let folders: string;
let server: Server;
let browser: Browser;

/** A tiny unconditional model: it starts drawing as soon as it is loaded, and an 8x8 run takes a moment on wasm. */
const TINY = makeConfig({ height: 8, width: 8, levels: 16, hidden: 8, layers: 2, firstKernel: 5, headHidden: 16, conditioning: { type: 'none' } });

/** The files of a saved model folder, as a visitor would choose them. */
const filesOf = (folder: string) => fs.readdirSync(folder).map((f) => path.join(folder, f));

beforeAll(async () => {
  dir = await buildApp();
  folders = fs.mkdtempSync(path.join(os.tmpdir(), 'pixelcnn-inside-'));
  await tf.setBackend('cpu');
  const params = initParams(TINY, 7);
  try {
    await saveModel(path.join(folders, 'my-run'), { config: TINY, params }, { metadata: { valBitsPerDim: 2.5 } });
    await saveModel(path.join(folders, 'broken'), { config: TINY, params });
  } finally {
    disposeParams(params);
  }
  // the broken copy's shard is cut short, as a half-finished download would be
  const broken = path.join(folders, 'broken');
  const shard = fs.readdirSync(broken).find((f) => f.endsWith('.bin'))!;
  fs.writeFileSync(path.join(broken, shard), fs.readFileSync(path.join(broken, shard)).subarray(0, 100));
  server = await serve(dir);
  browser = await launch({ webgpu: false });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  for (const d of [dir, folders]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

const tensors = async (page: Page) => Number(await page.locator(testid('tensors')).textContent());

/** Pixels of a canvas: how many are not black, and how many distinct colours. */
async function canvasInk(page: Page, id: string): Promise<{ lit: number; colours: number; total: number; hash: number }> {
  return page.locator(testid(id)).evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let h = 0;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] + d[i + 1] + d[i + 2] > 0) lit++;
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      h = (Math.imul(h, 31) + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) | 0;
    }
    return { lit, colours: colours.size, total: d.length / 4, hash: h };
  });
}

/** axe's WCAG 2.x A and AA violations on the page, as "rule: selector" lines. */
async function axeViolations(page: Page): Promise<{ violations: string[]; passes: number }> {
  // evaluated through the devtools protocol: the page's CSP forbids an inline <script>, rightly
  await page.evaluate(fs.readFileSync(path.join(repoRoot, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ passes: unknown[]; violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return { violations: r.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`)), passes: r.passes.length };
  });
  return found;
}

describe('inside the sampler', () => {
  it('shows the caches, the work, the doubt and the log scale, and draws with a model given as files', async () => {
    const { page, errors } = await open(browser, `${server.url}/?backend=wasm&model=mnist&class=3&n=1&speed=0&seed=5&guidance=0`);
    const origin = server.url;

    // ---- under the hood: one row per layer, the sizes the cached sampler allocates
    const config = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/mnist/model.json'), 'utf8')).config;
    validateConfig(config);
    await waitForStatus(page, 'done');
    const want = cacheFigures(config)!.map((f) => ({ rows: f.vertical.rows, cols: f.vertical.cols, channels: f.channels, hcols: f.horizontal.cols, dilation: f.dilation }));
    const layers = await page.locator(testid('hood-layer')).evaluateAll((els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        return { rows: Number(d.rows), cols: Number(d.cols), channels: Number(d.channels), hcols: Number(d.hcols), dilation: Number(d.dilation) };
      }),
    );
    expect(layers).toEqual(want);
    expect(layers.length).toBe(config.layers);
    // the counter after the whole 28x28 picture: hundreds of times less work than one pass a sub-pixel
    await waitFor(page, 'the work counter', () => /x$/.test(document.querySelector('[data-testid="hood-work"]')?.textContent ?? ''), null, { timeout: 5_000 });
    const work = (await page.locator(testid('hood-work')).textContent())!;
    expect(work).toMatch(/^[\d.]+ G cached · [\d.]+ G naive · \d+x$/);
    expect(Number(work.match(/(\d+)x$/)![1]), work).toBeGreaterThan(100);

    // ---- the entropy map: every sub-pixel drawn, not blank, named under the pointer
    expect(await page.locator(testid('entropy-map')).getAttribute('data-drawn')).toBe('784');
    const ink = await canvasInk(page, 'entropy-map');
    expect(ink.lit, JSON.stringify(ink)).toBe(ink.total);
    expect(ink.colours, JSON.stringify(ink)).toBeGreaterThan(5);
    const box = (await page.locator(testid('entropy-map')).boundingBox())!;
    // hover scrolls the map into view first (the side column runs below the fold)
    await page.locator(testid('entropy-map')).hover({ position: { x: box.width * 0.5 + 1, y: box.height * 0.5 + 1 } });
    await expect.poll(() => page.locator(testid('entropy-hover')).textContent()).toMatch(/^pixel \(14, 14\): \d+\.\d\d bits · likeliest \d+ \([\d.]+%\), \d+ \([\d.]+%\), \d+ \([\d.]+%\) · drew \d+$/);
    // the hood follows the pointed pixel once no run draws
    await expect.poll(() => page.locator('.hood-target').textContent()).toBe('pointed at: pixel (14, 14)');

    // ---- the chart's scale
    const chart = testid('probs');
    expect(await page.locator(chart).getAttribute('data-scale')).toBe('log');
    const logInk = await canvasInk(page, 'probs');
    await page.locator(testid('probs-log')).click();
    await expect.poll(() => page.locator(chart).getAttribute('data-scale')).toBe('linear');
    expect((await canvasInk(page, 'probs')).hash).not.toBe(logInk.hash);
    await page.locator(testid('probs-log')).click();
    await expect.poll(() => page.locator(chart).getAttribute('data-scale')).toBe('log');
    await screenshot(page, 'inside-digits');

    // ---- your own model, from its files: nothing of it goes out
    const requests: Request[] = [];
    page.on('request', (r) => requests.push(r));
    await page.locator(testid('model-files')).setInputFiles(filesOf(path.join(folders, 'my-run')));
    await waitFor(page, 'your model to load', () => document.querySelector('[data-testid="model"]')?.textContent === 'your model: files', null, { timeout: 30_000 });
    await waitForStatus(page, 'done');
    expect(await page.locator(`${testid('model-picker')} option:checked`).textContent()).toBe('your model: files');
    expect(await page.locator(testid('entropy-map')).getAttribute('data-drawn')).toBe('64');
    const afterRun = await tensors(page);
    await page.locator(testid('regenerate')).click();
    await waitForStatus(page, 'done');
    await expect.poll(() => tensors(page)).toBe(afterRun);

    // ---- a broken folder: one line, and the model before it draws on
    await page.locator(testid('model-files')).setInputFiles(filesOf(path.join(folders, 'broken')));
    // the harness's wait: on a timeout it prints the store and the workers' last messages and keeps a screenshot
    await waitFor(page, 'the refusal in model-error', () => (document.querySelector('[data-testid="model-error"]')?.textContent ?? '') !== '', null, { timeout: 30_000 });
    const error = page.locator(testid('model-error'));
    const line = (await error.textContent())!;
    expect(line).toMatch(/^your model "files \(2\)": group1-shard1of1\.bin: truncated: .* \(still drawing with your model: files\)$/);
    expect(line).not.toMatch(/\n/);
    expect(await page.locator(testid('model')).textContent()).toBe('your model: files');
    await page.locator(testid('regenerate')).click();
    await waitForStatus(page, 'done');
    await expect.poll(() => tensors(page)).toBe(afterRun);
    const sent = requests.filter((r) => !r.url().startsWith(`${origin}/`) || r.method() !== 'GET' || r.postDataBuffer() !== null || /my-run|broken|files/.test(r.url()));
    expect(sent.map((r) => `${r.method()} ${r.url()}`)).toEqual([]);
    await screenshot(page, 'inside-your-model');

    // ---- accessibility of these panels (the page's other panels are theirs to answer for), and a phone
    const { violations, passes } = await axeViolations(page);
    expect(passes).toBeGreaterThan(10); // axe ran its rules
    if (violations.length > 0) console.log(`axe, WCAG A/AA, elsewhere on the page:\n${violations.join('\n')}`);
    const ours = violations.filter((v) => /hood|entropy|probs|chart|model-files|model-picker|model-error/.test(v));
    expect(ours, violations.join('\n')).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();

    // ---- a phone: the panels fit its width (the grid sizes itself when a page's run starts, so a fresh page)
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${server.url}/?backend=wasm&model=mnist&class=3&n=4&speed=0&seed=5&guidance=0`);
    await waitForStatus(phone, 'done');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // what sticks out, if anything: the innermost elements past the right edge
    const wide = await phone.evaluate(() =>
      Array.from(document.querySelectorAll('body *'))
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.children.length === 0)
        .slice(0, 6)
        .map((e) => `${e.tagName.toLowerCase()}.${(e as HTMLElement).className} ${(e as HTMLElement).dataset.testid ?? ''} right ${Math.round(e.getBoundingClientRect().right)}`),
    );
    await screenshot(phone, 'inside-phone');
    expect(overflow, wide.join('\n')).toBeLessThanOrEqual(0);
    await phone.close();
  });
});
