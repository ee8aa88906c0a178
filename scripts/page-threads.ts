// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/page-threads.ts [DIST]: where the CPU goes in a
// max-speed 2x2 digits run on wasm, per Chromium thread. Builds the app (or serves DIST, a built
// one) and, in a fresh page with two sampling threads and one with threads=1 (twice each), times
// one run from the click to "done" and prints every Chromium thread's CPU ms meanwhile (/proc,
// 10 ms ticks), so the sampling workers (DedicatedWorker) can be set against the page's own
// threads (the renderer's main thread "chromium", its pool "ThreadPoolForeg": raster and V8's
// background compiles; the compositors), and how long each sampling worker waited, ready, for
// a core (/proc's schedstat).
import fs from 'node:fs';
import { backendOf, buildApp, launch, openDigitsRun, scorerReady, servePreview, waitFor, waitForStatus } from '../e2e/harness';
import { chromiumThreadCpu, chromiumThreadWait } from './chromiumThreads';

const dir = process.argv[2] ?? (await buildApp());
const app = await servePreview(dir);
const browser = await launch({ webgpu: false });
for (const threads of ['', '&threads=1', '', '&threads=1']) {
  const page = await openDigitsRun(browser, app.url, threads);
  await backendOf(page);
  await waitFor(page, 'an enabled class button', () => !(document.querySelector('[data-testid="class-7"]') as HTMLButtonElement | null)?.disabled && document.querySelector('[data-testid="model"]')?.textContent !== '…', null, { timeout: 60_000 });
  await scorerReady(page);
  await page.waitForTimeout(500);
  const before = chromiumThreadCpu();
  const waitedBefore = chromiumThreadWait();
  const t0 = Date.now();
  await page.click('[data-testid="class-7"]');
  await waitForStatus(page, 'done');
  const wall = Date.now() - t0;
  const after = chromiumThreadCpu();
  const waited = [...chromiumThreadWait()].filter(([k]) => k.includes(':DedicatedWorker:')).map(([k, v]) => v - (waitedBefore.get(k) ?? 0)).filter((v) => v > 0);
  const worker = await page.evaluate(() => (window as unknown as { __appState: () => { elapsedMs: number } }).__appState().elapsedMs);
  const spent = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  console.log(`${threads ? 'threads=1' : 'threads  '}: ${wall} ms to done (the worker's ${worker.toFixed(0)}); CPU ms: ${spent.map(([k, v]) => `${k.replace(/^renderer:/, '')} ${v}`).join(', ')}; the workers waited for a core ${waited.join(' / ')} ms`);
  await page.close();
}
await browser.close();
await app.close();
if (!process.argv[2]) fs.rmSync(dir, { recursive: true, force: true });
