// The learning-curve picture: log parsing, what is drawn where, and `npm run curve` as a
// user runs it (a child process), including the one-line errors.
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { curveOf, curveSvg, parseLog, ticks, type LogEvent } from './curve';

const SPE = 100;

/** A three-epoch run: progress every step, subset validation mid-epoch, whole-split validation at epoch ends, grown at step 150. */
function syntheticLog(): LogEvent[] {
  const ev: LogEvent[] = [{ event: 'start', stepsPerEpoch: SPE }];
  for (let step = 1; step <= 300; step++) {
    const lr = step <= 150 ? 1e-3 * (1 - step / 150) : 4e-4 * (1 - (step - 150) / 150);
    ev.push({ event: 'progress', step, epoch: Math.floor(step / SPE), trainBitsPerDim: 1 + 4 / step, lr });
    if (step % SPE === 50) ev.push({ event: 'val', step, images: 50, bitsPerDim: 1.2 - step / 1000 });
    if (step % SPE === 0) ev.push({ event: 'val', step, images: 500, bitsPerDim: 1.3 - step / 1000 });
    if (step === 150) ev.push({ event: 'grow', step, addedLayers: 2, dilations: [1, 1, 2, 4] });
  }
  return ev;
}

const attrs = (svg: string, cls: string, attr: string) =>
  [...svg.matchAll(new RegExp(`class="${cls}"[^>]*?\\s${attr}="([^"]+)"`, 'g'))].map((m) => m[1]);

describe('parseLog', () => {
  it('reads JSON lines and skips blank ones', () => {
    expect(parseLog('{"event":"a"}\n\n{"event":"b","x":1}\n')).toEqual([{ event: 'a' }, { event: 'b', x: 1 }]);
  });
  it('names the bad line', () => {
    expect(() => parseLog('{"event":"a"}\n{"event":', 'run/train.log')).toThrow('run/train.log line 2: not JSON');
    expect(() => parseLog('{"event":"a"}\n[1,2]')).toThrow('train.log line 2: not a log event');
  });
});

describe('curveOf', () => {
  it('bins training loss per tenth of an epoch, splits subset from whole-split validation, places growth', () => {
    const c = curveOf(syntheticLog());
    expect(c.stepsPerEpoch).toBe(SPE);
    // steps 1..300 in bins of 10 steps: 0..30
    expect(c.train).toHaveLength(31);
    expect(c.train[1].epoch).toBeCloseTo(14.5 / SPE, 10);
    expect(c.train[1].value).toBeCloseTo(1 + (4 / 10) * (1 / 10 + 1 / 11 + 1 / 12 + 1 / 13 + 1 / 14 + 1 / 15 + 1 / 16 + 1 / 17 + 1 / 18 + 1 / 19), 10);
    expect(c.valFull.map((p) => p.epoch)).toEqual([1, 2, 3]);
    expect(c.valFull.map((p) => p.value)).toEqual([1.2, 1.1, 1.0].map((v) => expect.closeTo(v, 10)));
    expect(c.valSubset.map((p) => p.epoch)).toEqual([0.5, 1.5, 2.5]);
    expect(c.grows).toEqual([{ epoch: 1.5, label: '+2 layers (dilations 2, 4)' }]);
    expect(c.lr).toHaveLength(300);
    expect(c.lastEpoch).toBe(3);
  });
  it('refuses a log with nothing to draw', () => {
    expect(() => curveOf([{ event: 'progress', step: 1, trainBitsPerDim: 2 }], 'x.log')).toThrow('x.log: no start or resume event with stepsPerEpoch');
    expect(() => curveOf([{ event: 'start', stepsPerEpoch: 10 }], 'x.log')).toThrow('x.log: no progress events to draw');
  });
});

describe('curveSvg', () => {
  const c = curveOf(syntheticLog());
  const svg = curveSvg(c, { title: 'a <run> & more' });

  it('draws each validation, the growth line and the training polyline at finite positions', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg).toContain('a &lt;run&gt; &amp; more');
    expect(attrs(svg, 'val-full', 'cx')).toHaveLength(3);
    expect(attrs(svg, 'val-subset', 'cx')).toHaveLength(3);
    expect(attrs(svg, 'grow', 'x1')).toHaveLength(1);
    expect(attrs(svg, 'train', 'points')[0].split(' ')).toHaveLength(31);
    expect(attrs(svg, 'lr', 'points')[0].split(' ')).toHaveLength(300);
  });

  it("sizes the legend to its longest line, so long run names stay inside its box", () => {
    const width = (o: Parameters<typeof curveSvg>[1]) => Number(attrs(curveSvg(c, o), 'legend', 'width')[0]);
    const name = 'a run whose name is rather long (shipped)';
    const short = width({ compare: c, labels: ['a', 'b'] });
    const long = width({ compare: c, labels: [name, 'b'] });
    expect(short).toBeGreaterThanOrEqual(250);
    // its first line, "<name>: training loss (mean per 0.1 epoch)", at ~6.6 px a character, plus the key
    expect(long).toBeGreaterThanOrEqual(36 + 6.6 * `${name}: training loss (mean per 0.1 epoch)`.length);
    expect(long).toBeGreaterThan(short);
  });

  it('puts lower bits/dim lower on the page and later epochs to the right, the growth line between', () => {
    const cx = attrs(svg, 'val-full', 'cx').map(Number);
    const cy = attrs(svg, 'val-full', 'cy').map(Number);
    expect(cx[0]).toBeLessThan(cx[1]);
    expect(cx[1]).toBeLessThan(cx[2]);
    expect(cy[0]).toBeLessThan(cy[1]); // 1.2 above 1.1
    expect(cy[1]).toBeLessThan(cy[2]);
    const g = Number(attrs(svg, 'grow', 'x1')[0]);
    expect(g).toBeCloseTo((cx[0] + cx[1]) / 2, 0);
  });

  it('scales the loss axis to the settled part: the first epoch\'s steep loss runs off the top', () => {
    const ys = attrs(svg, 'train', 'points')[0].split(' ').map((p) => Number(p.split(',')[1]));
    const topOfPlot = Math.min(...attrs(svg, 'val-full', 'cy').map(Number)) - 40;
    expect(ys[0]).toBeLessThan(topOfPlot); // step ~5: 1.8 bits/dim, clipped away
    expect(ys.at(-1)!).toBeGreaterThan(topOfPlot);
  });
});

describe('ticks', () => {
  it('gives round values covering the range', () => {
    expect(ticks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(1.043, 1.161, 6)).toEqual([1.06, 1.08, 1.1, 1.12, 1.14, 1.16]);
    expect(ticks(2, 2, 4)).toEqual([2]);
  });
});

describe('npm run curve', () => {
  const repo = path.resolve(__dirname, '../..');
  const run = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(path.join(repo, 'node_modules/.bin/tsx'), ['src/cli/main.ts', 'curve', ...args], { cwd: repo, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });

  it('writes the picture and a JSON summary; bad input is one line and leaves no file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'curve-'));
    try {
      const log = path.join(dir, 'train.log');
      await fs.writeFile(log, syntheticLog().map((e) => JSON.stringify(e)).join('\n') + '\n');
      const out = path.join(dir, 'curve.svg');
      const ok = await run('--log', log, '--svg', out);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout.trim())).toMatchObject({ epochs: 3, trainPoints: 31, valFull: 3, valSubset: 3, grows: 1, lastValFullBitsPerDim: expect.closeTo(1.0, 10) });
      const plain = await fs.readFile(out, 'utf8');
      expect(plain).toContain('class="val-full"');
      expect(plain).toContain('>training loss (mean per 0.1 epoch)<'); // one run: no run name in the legend

      await fs.appendFile(log, '{"event":"progress",\n');
      const bad = await run('--log', log, '--svg', path.join(dir, 'bad.svg'));
      expect(bad.code).toBe(1);
      expect(bad.stderr.trim()).toBe(`curve: error: ${log} line ${syntheticLog().length + 1}: not JSON`);
      expect(existsSync(path.join(dir, 'bad.svg'))).toBe(false);

      // a second run on the same axes (the other trainer): drawn dashed, compared bin by bin
      const other = path.join(dir, 'other.log');
      const shifted = syntheticLog().map((e) => (e.event === 'progress' ? { ...e, trainBitsPerDim: (e.trainBitsPerDim as number) + 0.25 } : e));
      await fs.writeFile(other, shifted.map((e) => JSON.stringify(e)).join('\n') + '\n');
      await fs.writeFile(log, syntheticLog().map((e) => JSON.stringify(e)).join('\n') + '\n');
      const both = await run('--log', log, '--compare', other, '--labels', 'ts,torch', '--bin-steps', '25', '--svg', out);
      expect(both.code, both.stderr).toBe(0);
      const summary = JSON.parse(both.stdout.trim());
      expect(summary.trainPoints).toBe(13); // steps 1..300 in bins of 25
      expect(summary.compare.bins).toBe(13);
      expect(summary.compare.meanDifference).toBeCloseTo(0.25, 10);
      const svg = await fs.readFile(out, 'utf8');
      expect(attrs(svg, 'train-compare', 'points')[0].split(' ')).toHaveLength(13);
      expect(svg).toContain('torch: training loss');
      expect(svg).toContain('ts: training loss (mean per 25 updates)');

      const missing = await run('--log', path.join(dir, 'nope.log'), '--svg', path.join(dir, 'x.svg'));
      expect(missing.stderr.trim()).toMatch(/nope\.log: cannot be read \(ENOENT\)$/);
      const png = await run('--log', log, '--svg', path.join(dir, 'x.png'));
      expect(png.code).toBe(2);
      expect(png.stderr.trim()).toBe('curve: bad arguments: --svg: expected a .svg file name, got "' + path.join(dir, 'x.png') + '"');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
