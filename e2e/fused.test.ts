// The fused WebGPU sampler in a real browser (Chromium, WebGPU forced: SwiftShader here):
// exact against the portable cached sampler (src/sampler/webgpu/check.ts, as in Node), and at
// most two readbacks per image row for 2x2 runs of the shipped digits and faces models.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import type { Browser, Page } from 'playwright-core';
import { launch, repoRoot, serve, type Server } from './harness';
import type { FusedCheck } from '../src/sampler/webgpu/check';

let server: Server;
let browser: Browser;
let outDir: string;

beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixelcnn-fused-'));
  await build({ root: path.join(repoRoot, 'e2e/fused'), configFile: false, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  for (const name of ['mnist', 'faces']) {
    fs.mkdirSync(path.join(outDir, 'models', name), { recursive: true });
    for (const f of ['model.json', 'group1-shard1of1.bin']) fs.copyFileSync(path.join(repoRoot, 'models', name, f), path.join(outDir, 'models', name, f));
  }
  server = await serve(outDir);
  browser = await launch({ webgpu: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
  return { page, errors };
}

describe('fused WebGPU sampler in Chromium', () => {
  it('gives the cached sampler\'s distributions and images, draws as drawLevel does, one readback a row', async () => {
    const { page, errors } = await openPage();
    const { backend, cases, nanError } = (await page.evaluate(() => (window as unknown as { runFusedCheck: () => Promise<unknown> }).runFusedCheck())) as { backend: string; cases: FusedCheck[]; nanError: string };
    expect(errors, errors.join('\n')).toEqual([]);
    expect(backend).toBe('webgpu');
    expect(cases.length).toBe(4);
    for (const c of cases) {
      expect(c.maxLogDiff, c.name).toBeLessThan(1e-3);
      expect(c.sameImages, c.name).toBe(true);
      expect(c.drawMismatches, c.name).toBe(0);
      // the mixture's posterior over a prefix reads back once more
      expect(c.readbacks, c.name).toBeLessThanOrEqual(c.rows + (c.name.includes('mixture') ? 1 : 0));
      expect(c.leakedTensors, c.name).toBe(0);
      expect(c.leakedBuffers, c.name).toBe(0);
    }
    expect(nanError).toBe('sampler: probabilities at row 0, col 0, channel 0 are not finite');
    await page.close();
  }, 300_000);

  it('a 2x2 digits run (guided) and a 2x2 faces run: at most 2 readbacks per image row', async () => {
    const { page, errors } = await openPage();
    const rows = { mnist: 3, faces: 2 };
    const runs = (await page.evaluate((r) => (window as unknown as { runModelCounts: (r: unknown) => Promise<unknown> }).runModelCounts(r), rows)) as { name: string; rows: number; readbacks: number; submits: number; ms: number; leakedTensors: number; leakedBuffers: number }[];
    console.log(JSON.stringify(runs));
    expect(errors, errors.join('\n')).toEqual([]);
    for (const r of runs) {
      expect(r.readbacks, r.name).toBeLessThanOrEqual(2 * r.rows);
      expect(r.readbacks, r.name).toBeGreaterThanOrEqual(r.rows);
      expect(r.leakedTensors, r.name).toBe(0);
      expect(r.leakedBuffers, r.name).toBe(0);
    }
    await page.close();
  }, 300_000);
});
