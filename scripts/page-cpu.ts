// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/page-cpu.ts [DIST]: what a max-speed 2x2 digits
// run on wasm costs the page, beside the sampling it shows. Builds the app (or serves DIST, a built
// one), opens ?model=mnist&n=4&speed=0&seed=5&guidance=0&backend=wasm with two threads and with
// threads=1, and for three runs of each prints the wall time from the click to 'done', the page's
// main-thread CPU (Chrome trace: its tasks' thread time) and the CPU every Chromium thread group
// spent meanwhile (/proc: renderer main, raster and V8 thread pool, workers, compositors), so
// drawing that competes with the sampling threads for the cores shows up wherever it runs.
import fs from 'node:fs';
import { backendOf, buildApp, launch, openDigitsRun, scorerReady, servePreview, traceMainThread, waitForStatus, whenEnabled } from '../e2e/harness';
import { chromiumThreadCpu } from './chromiumThreads';

/** CPU ms of every Chromium thread so far, summed by process type and thread name. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of chromiumThreadCpu()) {
    const key = k.replace(/:[0-9]+$/, '').replace(/[0-9]+$/, '');
    out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}

const GROUPS: [string, RegExp][] = [
  ['main', /^renderer:chromium$/],
  ['raster+V8 pool', /^renderer:ThreadPoolForeg/],
  ['workers', /^renderer:DedicatedWorker/],
  ['compositors', /Compositor/],
];

const dir = process.argv[2] ?? (await buildApp());
const app = await servePreview(dir);
const browser = await launch({ webgpu: false });
for (const threads of ['', '&threads=1']) {
  const page = await openDigitsRun(browser, app.url, threads);
  await backendOf(page);
  for (let r = 0; r < 3; r++) {
    await whenEnabled(page, 'class-7');
    await scorerReady(page);
    await page.waitForTimeout(300);
    let seconds = 0;
    const before = threadCpu();
    const tasks = await traceMainThread(page, async () => {
      const t0 = await page.evaluate(() => performance.now());
      await page.click('[data-testid="class-7"]');
      await waitForStatus(page, 'done');
      seconds = ((await page.evaluate(() => performance.now())) - t0) / 1000;
    });
    const after = threadCpu();
    const spent = (re: RegExp) => [...after].filter(([k]) => re.test(k)).reduce((a, [k, v]) => a + v - (before.get(k) ?? 0), 0);
    const cpu = tasks.reduce((a, t) => a + t.cpu, 0);
    console.log(`${threads ? 'threads=1' : 'threads  '} run ${r}: ${seconds.toFixed(2)} s; main-thread tasks ${cpu.toFixed(0)} ms CPU; ${GROUPS.map(([n, re]) => `${n} ${spent(re)}`).join(', ')} ms`);
  }
  await page.close();
}
await browser.close();
await app.close();
if (!process.argv[2]) fs.rmSync(dir, { recursive: true, force: true });
