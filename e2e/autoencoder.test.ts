// The auto-encoder panel in a real browser (Chromium, tfjs on wasm): a random-weights
// auto-encoder at 8x8 ('random-ae-tiny', so runs reach "done" in seconds) takes an
// uploaded picture of an MNIST test digit, the pad's drawing and a bundled digit as its
// source, each encoded in the worker and its variations drawn to done; a junk picture is
// one line and changes nothing; a morph from A to B runs to done as a strip of 8; the
// tensors badge is flat across runs and a model switch; every request stays on the page's
// own server. Then the trained models/mnist-ae draws real variations and a real morph
// (skipped while that folder is neither on disk nor committed). Screenshots in
// e2e/artifacts/ae-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { encodePng } from '../src/io/png';
import { loadMnist } from '../src/data/mnist';
import { backendOf, buildApp, canvasStats, launch, open, pageReport, repoRoot, screenshot, serve, waitFor, waitForStatus, type Server } from './harness';

const testid = (id: string) => `[data-testid="${id}"]`;
const FLAGS = 'model=random-ae-tiny&n=4&speed=0&guidance=0&seed=3&backend=wasm';
const shippedAe = fs.existsSync(path.join(repoRoot, 'models/mnist-ae/model.json')) || tracked('models/mnist-ae/model.json');

function tracked(file: string): boolean {
  try {
    execFileSync('git', ['ls-files', '--error-unmatch', file], { cwd: repoRoot, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let server: Server;
let browser: Browser;
/** every URL the pages asked for that is not the page's own server */
const foreign: string[] = [];

beforeAll(async () => {
  dir = await buildApp();
  server = await serve(dir);
  browser = await launch({ webgpu: false });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function openPage(flags: string): Promise<{ page: Page; errors: string[] }> {
  const opened = await open(browser, `${server.url}/?${flags}`);
  opened.page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(server.url) && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(u);
  });
  expect(await backendOf(opened.page), opened.errors.join('\n')).toBe('wasm');
  return opened;
}

const text = async (page: Page, id: string) => (await page.locator(testid(id)).first().textContent())?.trim() ?? '';
const tensors = async (page: Page) => Number(await text(page, 'tensors'));

/** Waits for the source label to read `label` with its code shown, then for the run to be done. */
async function variationsOf(page: Page, label: string, timeout = 60_000): Promise<void> {
  await waitFor(
    page,
    `the source "${label}" with its code`,
    (want) => document.querySelector('[data-testid="ae-source-label"]')?.textContent === want && document.querySelector('[data-testid="ae-code"]') !== null,
    label,
    { timeout },
  );
  await waitForStatus(page, 'done', timeout);
}

/** The code the panel shows, as numbers. */
async function code(page: Page): Promise<number[]> {
  return ((await page.locator(testid('ae-code')).getAttribute('data-code')) ?? '').split(',').map(Number);
}

/** A PNG of MNIST test digit `index`, as a person would save one (28x28 grey). */
function testDigitPng(index: number): Buffer {
  const test = loadMnist('test');
  return Buffer.from(encodePng(test.images.slice(index * 784, (index + 1) * 784), 28, 28, 1));
}

async function stroke(page: Page, points: [number, number][], size: number): Promise<void> {
  await page.locator(testid('draw-pad')).scrollIntoViewIfNeeded();
  const box = (await page.locator(testid('draw-pad')).boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + (x / size) * box.width, box.y + (y / size) * box.height] as const;
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 6 });
  await page.mouse.up();
}

describe('auto-encoder panel (random-ae-tiny, wasm)', () => {
  it('a picture, the pad and a bundled digit each draw variations to done; a junk picture is one line; a morph runs to done; tensors stay flat', async () => {
    const { page, errors } = await openPage(FLAGS);
    await page.waitForSelector(testid('ae-panel'));
    expect(await page.locator(testid('class-0')).count()).toBe(0);
    expect(await page.locator(testid('face-panel')).count()).toBe(0);
    expect(await page.locator(testid('ae-example')).count()).toBe(10);
    await waitFor(page, 'status "pick a source"', () => document.querySelector('[data-testid="status"]')?.textContent === 'pick a source', null, { timeout: 30_000 });
    const loadTensors = await tensors(page);
    const seen: number[] = [];

    // an uploaded picture of a test digit (a 7: MNIST test #0)
    await page.setInputFiles(testid('ae-file'), { name: 'seven.png', mimeType: 'image/png', buffer: testDigitPng(0) });
    await variationsOf(page, 'seven.png');
    const sevenCode = await code(page);
    expect(sevenCode).toHaveLength(4);
    expect(sevenCode.every((v) => v > -1 && v < 1)).toBe(true);
    const grid = await canvasStats(page);
    expect(grid.undecided).toBe(0);
    seen.push(await tensors(page));
    await screenshot(page, 'ae-01-upload');

    // a junk picture: one line, and the source, its code and the grid stay
    await page.setInputFiles(testid('ae-file'), { name: 'junk.png', mimeType: 'image/png', buffer: Buffer.from('not a png at all') });
    await waitFor(page, 'the refusal line', () => document.querySelector('[data-testid="condition-error"]')?.textContent === 'picture "junk.png": not an image this browser can decode', null, { timeout: 30_000 });
    expect(await text(page, 'ae-source-label')).toBe('seven.png');
    expect(await code(page)).toEqual(sevenCode);
    expect(await text(page, 'status')).toBe('done');
    expect((await canvasStats(page)).hash).toBe(grid.hash);
    await screenshot(page, 'ae-02-refused');

    // the pad's drawing (8x8 for this model)
    expect(await page.locator(testid('draw-pad')).count()).toBe(1);
    expect(await page.locator(testid('ae-use-drawing')).isDisabled()).toBe(true); // nothing drawn yet
    await stroke(page, [[4, 1], [4, 7]], 8);
    await page.locator(testid('ae-use-drawing')).click();
    await variationsOf(page, 'your drawing');
    expect(await code(page)).not.toEqual(sevenCode);
    expect(await page.locator(testid('condition-error')).count()).toBe(0); // a good source clears the line
    seen.push(await tensors(page));
    await screenshot(page, 'ae-03-drawing');

    // a morph: example 0 as A, example 1 as B, 8 steps in a strip
    await page.locator(testid('ae-example')).nth(0).click();
    await variationsOf(page, 'test digit 0 (#3)');
    await page.locator(testid('morph-a')).click();
    await page.locator(testid('ae-example')).nth(1).click();
    await variationsOf(page, 'test digit 1 (#2)');
    await page.locator(testid('morph-b')).click();
    await page.locator(testid('morph')).click();
    await waitFor(page, 'the morph strip', () => (document.querySelector('[data-testid="samples"]') as HTMLElement | null)?.dataset.cols === '8', null, { timeout: 30_000 });
    await waitForStatus(page, 'done');
    expect((await canvasStats(page)).undecided).toBe(0);
    seen.push(await tensors(page));
    await screenshot(page, 'ae-04-morph');

    // tensors: every run ends where the load left them, and so does a switch away and back
    const select = page.locator(testid('model-picker'));
    await select.selectOption('random-tiny');
    await waitFor(page, 'random-tiny loaded', () => document.querySelector('[data-testid="ae-panel"]') === null && document.querySelector('[data-testid="class-0"]') !== null, null, { timeout: 60_000 });
    await select.selectOption('random-ae-tiny');
    await page.waitForSelector(testid('ae-panel'), { timeout: 60_000 });
    await waitForStatus(page, 'done'); // the last source's variations again
    seen.push(await tensors(page));
    console.info(`sampling worker tensors: after the load ${loadTensors}, after upload / drawing / morph / switch back: ${seen.join(', ')}`);
    expect(seen, await pageReport(page)).toEqual(seen.map(() => loadTensors));
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 300_000);
});

describe.skipIf(!shippedAe)('auto-encoder panel (the trained models/mnist-ae, wasm)', () => {
  it('draws variations of a bundled test digit and a morph between two', async () => {
    const { page, errors } = await openPage('model=mnist-ae&n=4&speed=0&seed=1&backend=wasm');
    await page.waitForSelector(testid('ae-example'), { timeout: 60_000 });
    await waitFor(page, 'status "pick a source"', () => document.querySelector('[data-testid="status"]')?.textContent === 'pick a source', null, { timeout: 60_000 });
    const loadTensors = await tensors(page);
    await page.locator(testid('ae-example')).nth(3).click();
    await variationsOf(page, 'test digit 3 (#18)');
    console.info(`mnist-ae variations of test digit 3: ${await text(page, 'progress')}; tensors ${await tensors(page)} (after the load ${loadTensors})`);
    expect(await tensors(page)).toBe(loadTensors);
    const grid = await canvasStats(page);
    expect(grid.undecided).toBe(0);
    expect(grid.bright).toBeGreaterThan(0); // the grid holds ink, not a blank page
    await screenshot(page, 'ae-05-mnist-ae-variations');
    await page.locator(testid('morph-a')).click();
    await page.locator(testid('ae-example')).nth(8).click();
    await variationsOf(page, 'test digit 8 (#61)');
    await page.locator(testid('morph-b')).click();
    await page.locator(testid('morph')).click();
    await waitFor(page, 'the morph strip', () => (document.querySelector('[data-testid="samples"]') as HTMLElement | null)?.dataset.cols === '8', null, { timeout: 30_000 });
    await waitForStatus(page, 'done');
    console.info(`mnist-ae morph 3 -> 8: ${await text(page, 'progress')}; tensors ${await tensors(page)}`);
    expect(await tensors(page)).toBe(loadTensors);
    await screenshot(page, 'ae-06-mnist-ae-morph');
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 300_000);
});
