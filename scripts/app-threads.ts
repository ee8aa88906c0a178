// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/app-threads.ts [ROUNDS] [WARM] [DIST[,DIST...]] [N]: a
// max-speed 2x2 digits run (N images, default 4; 1: a single image, which runs one thread either
// way) on wasm (models/mnist, guidance 0, seed 5) with two sampling threads against threads=1,
// timed in the page from the click to the status reading "done". Each round opens a fresh page
// of each side by side in one browser and times their first runs after the model's warm-up,
// then WARM more runs of each (default 4), the pages taking turns (who goes first rotates), so
// a slow spell of the machine falls on both. Prints every round and, as JSON, the median of the
// rounds' ratios (threads=1 / two threads) for first runs and for later ones, with the median
// times: on a 2-core machine the same run differs by a third from one page to the next, so one
// pair says little. Several builds (DIST,DIST: comma-separated) share every round, their pages
// taking turns too, so builds are set against each other in the same minutes; batches of one
// build alone differ by ±0.1 in the ratio.
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { buildApp, launch, loadSettled, openDigitsRun, servePreview, timeRunInPage, whenEnabled, type Server } from '../e2e/harness';

const rounds = Number(process.argv[2] ?? 8);
const warm = Number(process.argv[3] ?? 4);
const built = process.argv[4] ? undefined : await buildApp();
const dirs = process.argv[4] ? process.argv[4].split(',') : [built!];
const n = Number(process.argv[5] ?? 4);
const servers: Server[] = [];
for (const dir of dirs) servers.push(await servePreview(dir));
const browser = await launch({ webgpu: false });

async function time(page: Page): Promise<number> {
  await whenEnabled(page, 'class-7');
  return Math.round(await timeRunInPage(page, '[data-testid="class-7"]'));
}

type Pair = { two: number; one: number };
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ratio = (one: number, two: number) => Math.round((one / two) * 100) / 100;
const first = dirs.map(() => [] as Pair[]);
const later = dirs.map(() => [] as Pair[]);
for (let r = 0; r < rounds; r++) {
  const pages = await Promise.all(servers.map(async (s) => ({ two: await openDigitsRun(browser, s.url, '', n), one: await openDigitsRun(browser, s.url, '&threads=1', n) })));
  await Promise.all(pages.flatMap((p) => [loadSettled(p.two), loadSettled(p.one)]));
  // the loads' background work (the scorer, the blind-spot view) is over on all
  await pages[0].two.waitForTimeout(500);
  const all = pages.flatMap((p) => [p.two, p.one]);
  const turns = all.map((_, k) => all[(k + r) % all.length]);
  const take = async () => {
    const t = new Map<Page, number>();
    for (const p of turns) t.set(p, await time(p));
    return pages.map((p) => ({ two: t.get(p.two)!, one: t.get(p.one)! }));
  };
  const f = await take();
  const w: Pair[][] = [];
  for (let k = 0; k < warm; k++) w.push(await take());
  dirs.forEach((dir, d) => {
    first[d].push(f[d]);
    later[d].push(...w.map((x) => x[d]));
    const name = dirs.length > 1 ? ` ${dir}` : '';
    console.log(`round ${r}${name}: first runs ${f[d].two} vs ${f[d].one} ms (x${ratio(f[d].one, f[d].two)}); later ${w.map((x) => `${x[d].two}/${x[d].one}`).join(' ')}`);
  });
  for (const p of all) await p.close();
}
const summary = (runs: Pair[]) => ({
  twoThreadsMs: median(runs.map((x) => x.two)),
  oneThreadMs: median(runs.map((x) => x.one)),
  ratio: median(runs.map((x) => ratio(x.one, x.two))),
});
for (let d = 0; d < dirs.length; d++) {
  console.log(JSON.stringify({ ...(dirs.length > 1 ? { dist: dirs[d] } : {}), images: n, rounds, warm, firstRun: summary(first[d]), laterRuns: summary(later[d]) }));
}
await browser.close();
for (const s of servers) await s.close();
if (built) fs.rmSync(built, { recursive: true, force: true });
