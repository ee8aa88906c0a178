// flock /tmp/heavy.lock nice -n 5 npx tsx scripts/app-threads.ts [PAIRS] [DIST]: a max-speed 2x2
// digits run on wasm (models/mnist, guidance 0, seed 5) with two sampling threads against
// threads=1, PAIRS times (default 6), each in a fresh page: its first run after the model's
// warm-up (what e2e/isolation.test.ts times, once) and a second one. Each is timed in the page,
// from the click to the status reading "done". Prints every pair and the medians as JSON: a
// single pair is too noisy on a 2-core machine to judge by (the same one-thread path differs by
// a third from page to page).
import fs from 'node:fs';
import { preview } from 'vite';
import { backendOf, buildApp, freePort, launch, repoRoot, timeRunInPage, waitFor } from '../e2e/harness';

const pairs = Number(process.argv[2] ?? 6);
const dir = process.argv[3] ?? (await buildApp());
const port = await freePort();
const app = await preview({ root: repoRoot, logLevel: 'error', build: { outDir: dir }, preview: { host: '127.0.0.1', port, strictPort: true } });
const browser = await launch({ webgpu: false });
const runs: Record<string, number[][]> = { two: [], one: [] };
for (let p = 0; p < pairs; p++) {
  for (const [key, q] of [['two', ''], ['one', '&threads=1']] as const) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/?model=mnist&n=4&speed=0&seed=5&guidance=0&backend=wasm${q}`);
    await backendOf(page);
    await waitFor(page, 'the model', () => document.querySelector('[data-testid="model"]')?.textContent !== '…', null, { timeout: 60_000 });
    await waitFor(page, 'the scorer ready', () => /^ready /.test(String((window as unknown as { __appState?: () => { scorer?: string } }).__appState?.().scorer)), null, { timeout: 60_000 });
    const times: number[] = [];
    for (let r = 0; r < 2; r++) {
      await waitFor(page, 'an enabled class button', () => !(document.querySelector('[data-testid="class-7"]') as HTMLButtonElement | null)?.disabled, null, { timeout: 60_000 });
      times.push(Math.round(await timeRunInPage(page, '[data-testid="class-7"]')));
    }
    runs[key].push(times);
    console.log(`pair ${p} ${key === 'two' ? 'two threads' : 'threads=1  '}: first run ${times[0]} ms, second ${times[1]} ms`);
    await page.close();
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const summary = (r: 0 | 1) => {
  const two = median(runs.two.map((t) => t[r]));
  const one = median(runs.one.map((t) => t[r]));
  return { twoThreadsMs: two, oneThreadMs: one, ratio: Math.round((one / two) * 100) / 100 };
};
console.log(JSON.stringify({ pairs, firstRun: summary(0), secondRun: summary(1) }));
await browser.close();
await app.close();
if (!process.argv[3]) fs.rmSync(dir, { recursive: true, force: true });
