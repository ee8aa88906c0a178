// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/app-compare.ts DIST_A QUERY_A DIST_B QUERY_B [RUNS]:
// two builds of the app (or one build with two queries, e.g. '' and '&threads=1') side by side
// in one browser: a fresh page of each, after the model's warm-up, takes turns at a max-speed
// 2x2 digits run on wasm (models/mnist, guidance 0, seed 5), RUNS times (default 12), timed in
// the page from the click to "done". Prints, as JSON, every run's ms and the medians past the
// first run, so a change to the sampler can be set against the build before it with the
// machine's slow spells falling on both (scripts/app-threads.ts gives the bar's figure: fresh
// pages every round).
import type { Page } from 'playwright-core';
import { launch, loadSettled, openDigitsRun, servePreview, timeRunInPage, whenEnabled, type Server } from '../e2e/harness';

const [distA, queryA, distB, queryB] = process.argv.slice(2, 6);
if (!distA || !distB) throw new Error('usage: app-compare.ts DIST_A QUERY_A DIST_B QUERY_B [RUNS]');
const runs = Number(process.argv[6] ?? 12);
const browser = await launch({ webgpu: false });
const servers: Server[] = [];

async function open(dir: string, query: string): Promise<Page> {
  const server = await servePreview(dir);
  servers.push(server);
  const page = await openDigitsRun(browser, server.url, query ?? '');
  await loadSettled(page);
  return page;
}

const a = await open(distA, queryA);
const b = await open(distB, queryB);
await a.waitForTimeout(500);
const times = new Map<Page, number[]>([[a, []], [b, []]]);
for (let i = 0; i < runs; i++) {
  // who goes first alternates
  for (const page of i % 2 === 0 ? [a, b] : [b, a]) {
    await whenEnabled(page, 'class-7');
    times.get(page)!.push(Math.round(await timeRunInPage(page, '[data-testid="class-7"]')));
  }
}
const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
const [ta, tb] = [times.get(a)!, times.get(b)!];
console.log(JSON.stringify({ a: `${distA}${queryA ?? ''}`, b: `${distB}${queryB ?? ''}`, medianA: median(ta.slice(1)), medianB: median(tb.slice(1)), runsA: ta, runsB: tb }));
await browser.close();
await Promise.all(servers.map((s) => s.close()));
