// The fused WebGPU kernels against the portable cached sampler, in a real browser.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import type { Browser } from 'playwright-core';
import { launch, repoRoot, serve, type Server } from './harness';

let server: Server;
let browser: Browser;

beforeAll(async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixelcnn-fused-'));
  await build({
    root: path.join(repoRoot, 'e2e/fused'),
    configFile: false,
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  server = await serve(outDir);
  browser = await launch({ webgpu: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('fused WebGPU sampling kernels', () => {
  it('give the portable cached sampler\'s distribution at every sub-pixel, and the same images', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    const result = await page.evaluate(() => (window as unknown as { runFusedCheck: () => Promise<unknown> }).runFusedCheck());
    const { backend, cases } = result as { backend: string; cases: { name: string; maxLogDiff: number; sameImages: boolean; launchesPerSubpixel: number; leakedTensors: number }[] };
    expect(errors, errors.join('\n')).toEqual([]);
    expect(backend).toBe('webgpu');
    for (const c of cases) {
      expect(c.maxLogDiff, c.name).toBeLessThan(1e-4);
      expect(c.sameImages, c.name).toBe(true);
      // one pixel kernel per sub-pixel plus one row kernel per row
      expect(c.launchesPerSubpixel, c.name).toBeLessThan(1.5);
      expect(c.leakedTensors, c.name).toBe(0);
    }
  }, 300_000);

  it('run guidance streams and prefixes inside their dispatches: the cached sampler\'s distribution and images', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    const result = await page.evaluate(() => (window as unknown as { runGuidedCheck: () => Promise<unknown> }).runGuidedCheck());
    const { cases, nanError } = result as {
      nanError: string;
      cases: { name: string; maxLogDiff: number; sameImages: boolean; launchesPerSubpixel: number; leakedTensors: number; readPerSubpixel?: number; uiFloats?: number; guidanceChanges?: boolean; warmLaunches?: number; expectedWarmLaunches?: number }[];
    };
    expect(errors, errors.join('\n')).toEqual([]);
    console.log(JSON.stringify(cases.map((c) => ({ name: c.name, maxLogDiff: c.maxLogDiff, launches: c.launchesPerSubpixel, read: c.readPerSubpixel, warm: c.warmLaunches }))));
    expect(cases.length).toBe(7);
    for (const c of cases) {
      expect(c.maxLogDiff, c.name).toBeLessThan(1e-3);
      expect(c.sameImages, c.name).toBe(true);
      expect(c.leakedTensors, c.name).toBe(0);
      if (c.readPerSubpixel !== undefined) {
        // the streams run inside the same dispatches, and only the guided distribution comes back
        expect(c.launchesPerSubpixel, c.name).toBeLessThan(1.5);
        expect(c.readPerSubpixel, c.name).toBe(c.uiFloats);
        expect(c.guidanceChanges, c.name).toBe(true);
      }
      // a prefix warms the caches in one pass: a row kernel per given row (and the resuming
      // one), one warm kernel for the given columns of the resuming row
      if (c.expectedWarmLaunches !== undefined) expect(c.warmLaunches, c.name).toBe(c.expectedWarmLaunches);
    }
    expect(nanError).toBe('sampler: probabilities at row 0, col 0, channel 0 are not finite');
  }, 300_000);
});
