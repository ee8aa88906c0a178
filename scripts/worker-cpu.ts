// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/worker-cpu.ts DIST[,DIST...] [QUERY] [RUNS]: the CPU the
// sampling workers spend on a max-speed 2x2 digits run on wasm (models/mnist, guidance 0, seed
// 5), from /proc's schedstat (every Chromium DedicatedWorker thread's time on a core from the
// click to "done"; the other pages' workers are idle then), for one or more builds, a page of
// each in one browser taking turns run by run. QUERY is added to the page's address (default
// '': two threads; '&threads=1'). Prints, as JSON, each build's median run ms and median worker
// CPU ms over RUNS runs (default 12) after three to warm (FIRST=1: fresh pages' first runs): a change that saves work shows here
// before the wall-clock ratio's noise (±0.1 a batch) lets it show there.
import type { Page } from 'playwright-core';
import { launch, loadSettled, openDigitsRun, servePreview, timeRunInPage, whenEnabled, type Server } from '../e2e/harness';
import { chromiumThreadCpu } from './chromiumThreads';

const dirs = (process.argv[2] ?? '').split(',').filter(Boolean);
if (dirs.length === 0) throw new Error('usage: worker-cpu.ts DIST[,DIST...] [QUERY] [RUNS]');
const query = process.argv[3] ?? '';
const runs = Number(process.argv[4] ?? 12);
/** FIRST=1: time fresh pages' first runs (a new page for every run) instead of one page's later runs */
const first = process.env.FIRST === '1';
const servers: Server[] = [];
for (const dir of dirs) servers.push(await servePreview(dir));
const browser = await launch({ webgpu: false });
const pages: Page[] = [];
for (const s of servers) pages.push(await openDigitsRun(browser, s.url, query));
await Promise.all(pages.map((p) => loadSettled(p)));
await pages[0].waitForTimeout(500);

const workersCpu = () => [...chromiumThreadCpu()].filter(([k]) => k.includes(':DedicatedWorker')).reduce((sum, [, v]) => sum + v, 0);
async function run(page: Page): Promise<{ ms: number; cpu: number }> {
  await whenEnabled(page, 'class-7');
  const before = workersCpu();
  const ms = await timeRunInPage(page, '[data-testid="class-7"]');
  return { ms, cpu: workersCpu() - before };
}

const got = pages.map(() => [] as { ms: number; cpu: number }[]);
if (first) {
  // each run a fresh page's first, after the model's warm-up
  for (let k = 0; k < runs; k++) {
    for (let i = 0; i < pages.length; i++) {
      const d = (i + k) % pages.length;
      if (k > 0) {
        await pages[d].close();
        pages[d] = await openDigitsRun(browser, servers[d].url, query);
        await loadSettled(pages[d]);
        await pages[d].waitForTimeout(500);
      }
      got[d].push(await run(pages[d]));
    }
  }
} else {
  for (let k = 0; k < 3; k++) for (const p of pages) await run(p);
  for (let k = 0; k < runs; k++) {
    for (let i = 0; i < pages.length; i++) {
      const d = (i + k) % pages.length;
      got[d].push(await run(pages[d]));
    }
  }
}
const median = (a: number[]) => Math.round([...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] * 10) / 10;
for (let d = 0; d < dirs.length; d++) console.log(JSON.stringify({ dist: dirs[d], query, runs, first, runMs: median(got[d].map((x) => x.ms)), workersCpuMs: median(got[d].map((x) => x.cpu)) }));
await browser.close();
for (const s of servers) await s.close();
