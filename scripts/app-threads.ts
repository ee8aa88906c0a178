// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/app-threads.ts [ROUNDS] [WARM] [DIST] [N]: a max-speed
// 2x2 digits run (N images, default 4; 1: a single image, which runs one thread either way)
// on wasm (models/mnist, guidance 0, seed 5) with two sampling threads against
// threads=1, timed in the page from the click to the status reading "done". Each round opens a
// fresh page of each side by side in one browser and times their first runs after the
// model's warm-up, then WARM more runs of each (default 4), the two pages taking turns (who
// goes first alternates), so a slow spell of the machine falls on both. Prints every round
// and, as JSON, the median of the rounds' ratios (threads=1 / two threads) for first runs and
// for later ones, with the median times: on a 2-core machine the same run differs by a third
// from one page to the next, so one pair says little.
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { preview } from 'vite';
import { buildApp, freePort, launch, loadSettled, repoRoot, timeRunInPage, whenEnabled } from '../e2e/harness';

const rounds = Number(process.argv[2] ?? 8);
const warm = Number(process.argv[3] ?? 4);
const dir = process.argv[4] || (await buildApp());
const n = Number(process.argv[5] ?? 4);
const port = await freePort();
const app = await preview({ root: repoRoot, logLevel: 'error', build: { outDir: dir }, preview: { host: '127.0.0.1', port, strictPort: true } });
const browser = await launch({ webgpu: false });

async function open(threads: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  await page.goto(`http://127.0.0.1:${port}/?model=mnist&n=${n}&speed=0&seed=5&guidance=0&backend=wasm${threads}`);
  return page;
}

async function time(page: Page): Promise<number> {
  await whenEnabled(page, 'class-7');
  return Math.round(await timeRunInPage(page, '[data-testid="class-7"]'));
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ratio = (one: number, two: number) => Math.round((one / two) * 100) / 100;
const first: { two: number; one: number }[] = [];
const later: { two: number; one: number }[] = [];
for (let r = 0; r < rounds; r++) {
  const [two, one] = [await open(''), await open('&threads=1')];
  await Promise.all([loadSettled(two), loadSettled(one)]);
  // the loads' background work (the scorer, the blind-spot view) is over on both
  await two.waitForTimeout(500);
  const turns = (r % 2 === 0 ? [two, one] : [one, two]) as Page[];
  const take = async () => {
    const t = new Map<Page, number>();
    for (const p of turns) t.set(p, await time(p));
    return { two: t.get(two)!, one: t.get(one)! };
  };
  const f = await take();
  first.push(f);
  const w: { two: number; one: number }[] = [];
  for (let k = 0; k < warm; k++) w.push(await take());
  later.push(...w);
  console.log(`round ${r}: first runs ${f.two} vs ${f.one} ms (x${ratio(f.one, f.two)}); later ${w.map((x) => `${x.two}/${x.one}`).join(' ')}`);
  await two.close();
  await one.close();
}
const summary = (runs: { two: number; one: number }[]) => ({
  twoThreadsMs: median(runs.map((x) => x.two)),
  oneThreadMs: median(runs.map((x) => x.one)),
  ratio: median(runs.map((x) => ratio(x.one, x.two))),
});
console.log(JSON.stringify({ images: n, rounds, warm, firstRun: summary(first), laterRuns: summary(later) }));
await browser.close();
await app.close();
if (!process.argv[4]) fs.rmSync(dir, { recursive: true, force: true });
