// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/worker-cpu.ts DIST[,DIST...] [QUERY] [RUNS]: the CPU a
// max-speed 2x2 digits run on wasm (models/mnist, guidance 0, seed 5) costs, from /proc's
// schedstat, from the click (the pointer already resting on the button) to "done": the
// sampling workers (every Chromium DedicatedWorker thread; the other pages' workers are idle
// then) and, beside them, the page's other threads by group (the renderer's main thread, its
// other threads: raster, compositor, V8's compiling and GC helpers; the GPU process; the
// browser process, this harness's DevTools traffic included), for one or more builds, a page of
// each in one browser taking turns run by run. QUERY is added to the page's address (default
// '': two threads; '&threads=1'). Prints, as JSON, each build's median run ms and median CPU ms
// of each group over RUNS runs (default 12) after three to warm (FIRST=1: fresh pages' first
// runs): a change that saves work shows here before the wall-clock ratio's noise (±0.1 a
// batch) lets it show there; with two sampling threads on two cores, any other thread's CPU
// during a run is time a sampling thread waits.
import type { Page } from 'playwright-core';
import { launch, loadSettled, openDigitsRun, restPointerOn, servePreview, timeRunInPage, whenEnabled, type Server } from '../e2e/harness';
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

/** the thread groups, by `process type:thread name` */
const GROUPS: [string, RegExp][] = [
  ['workers', /^renderer:DedicatedWorker/],
  ['rendererMain', /^renderer:chromium:/],
  ['rendererOther', /^renderer:/],
  ['gpuProcess', /^gpu-process:/],
  ['browser', /^browser:/],
];
type Cpu = Record<string, number>;
function groupsCpu(): Cpu {
  const out: Cpu = Object.fromEntries(GROUPS.map(([g]) => [g, 0]));
  for (const [k, v] of chromiumThreadCpu()) {
    const g = GROUPS.find(([, re]) => re.test(k));
    if (g) out[g[0]] += v;
  }
  return out;
}
const START = '[data-testid="class-7"]';
async function run(page: Page): Promise<{ ms: number; cpu: Cpu }> {
  await whenEnabled(page, 'class-7');
  // the pointer's hover (its transition's frames) before the window; timeRunInPage's own then finds it resting
  await restPointerOn(page, START);
  const before = groupsCpu();
  const ms = await timeRunInPage(page, START);
  const after = groupsCpu();
  return { ms, cpu: Object.fromEntries(GROUPS.map(([g]) => [g, after[g] - before[g]])) };
}

const got = pages.map(() => [] as { ms: number; cpu: Cpu }[]);
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
for (let d = 0; d < dirs.length; d++) {
  const cpuMs = Object.fromEntries(GROUPS.map(([g]) => [g, median(got[d].map((x) => x.cpu[g]))]));
  console.log(JSON.stringify({ dist: dirs[d], query, runs, first, runMs: median(got[d].map((x) => x.ms)), cpuMs }));
}
await browser.close();
for (const s of servers) await s.close();
