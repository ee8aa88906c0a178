// npm run bench:webgpu -- [--preset mnist] [--batches 1,16] [--pixels 28] [--cached-pixels 4]
// Fused WebGPU sampling kernels against the same cached sampler written as tfjs ops, in
// headless Chromium's WebGPU (SwiftShader on a machine without a GPU: only the ratio of
// the two, measured in one run, means anything there). Last stdout line: one JSON object.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { launch, repoRoot, serve } from '../e2e/harness';
import { getPreset } from '../src/train/presets';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name}: expected a value`);
  return v;
}

async function main() {
  const known = new Set(['--preset', '--batches', '--pixels', '--cached-pixels']);
  for (const a of process.argv.slice(2)) if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown flag ${a}`);
  const config = getPreset(flag('preset', 'mnist')).model;
  const batches = flag('batches', '1,16').split(',').map(Number);
  const pixels = Number(flag('pixels', String(config.width - 2)));
  const cachedPixels = Number(flag('cached-pixels', '4'));
  if (batches.some((b) => !Number.isInteger(b) || b < 1) || !(pixels >= 1) || !(cachedPixels >= 1)) throw new Error('batches and pixels must be positive integers');
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixelcnn-bench-'));
  process.stderr.write('building the bench page...\n');
  await build({
    root: path.join(repoRoot, 'e2e/fused'),
    configFile: false,
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, rollupOptions: { input: path.join(repoRoot, 'e2e/fused/bench.html') } },
  });
  const server = await serve(outDir);
  const browser = await launch({ webgpu: true });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
    await page.goto(`${server.url}/bench.html`);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    process.stderr.write('running in Chromium (WebGPU)...\n');
    const result = await page.evaluate(
      (o) => (window as unknown as { runFusedBench: (o: unknown) => Promise<unknown> }).runFusedBench(o),
      { config, batches, pixels, cachedPixels },
    );
    console.log(JSON.stringify({ ...(result as object), loadAverage: os.loadavg()[0] }));
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench:webgpu: ${(e as Error).message.split('\n')[0]}`);
  process.exit(1);
});
