// The CLI as a user runs it: child processes of `tsx src/cli/main.ts`, against tiny
// random models saved to a temp folder.
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bitsPerDim, condTensor, disposeParams, initParams, makeConfig, nllNats, type ModelConfig } from '../model';
import { decodeNpy } from '../io/npy';
import { loadMnist } from '../data/mnist';
import { quantize } from './eval';
import { saveModel } from '../io/weightsNode';

const repo = path.resolve(__dirname, '../..');
const tsx = path.join(repo, 'node_modules/.bin/tsx');
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(tsx, ['src/cli/main.ts', ...args], { cwd: repo, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

async function save(name: string, config: ModelConfig, metadata?: Record<string, unknown>) {
  const params = initParams(config, 5);
  await saveModel(path.join(dir, name), { config, params }, { metadata });
  disposeParams(params);
}

const small = (partial: Partial<ModelConfig>) =>
  makeConfig({ hidden: 4, layers: 2, headHidden: 4, firstKernel: 3, kernel: 3, levels: 4, ...partial });

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-test-'));
  await save('tiny', small({ height: 6, width: 5, conditioning: { type: 'class', classes: 3 } }));
  await save('vec', small({ height: 4, width: 4, conditioning: { type: 'vector', dim: 3 } }));
  await save('mnist', small({ height: 28, width: 28, conditioning: { type: 'class', classes: 10 } }));
  // nullable: a null condition beside the classes, and a recommended guidance
  await save('null', small({ height: 6, width: 5, conditioning: { type: 'class', classes: 3, nullable: true } }), { recommendedGuidance: 1.5, recommendedTemperature: 0.9 });
  await save('nullmnist', nullMnist);
  await save('badguide', small({ height: 4, width: 4, conditioning: { type: 'class', classes: 3, nullable: true } }), { recommendedGuidance: -1 });
  await save('plain', small({ height: 4, width: 4, conditioning: { type: 'none' } }));
});
const nullMnist = small({ height: 28, width: 28, conditioning: { type: 'class', classes: 10, nullable: true } });
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sample', () => {
  it('writes a PNG grid and an npy [N,H,W,C] of levels; three threads and the naive sampler on one draw the same images', async () => {
    const png = path.join(dir, 's.png');
    const npy = path.join(dir, 's.npy');
    const npy2 = path.join(dir, 's2.npy');
    const [r, r2] = await Promise.all([
      cli('sample', '--model', path.join(dir, 'tiny'), '--count', '3', '--seed', '4', '--scale', '2', '--threads', '3', '--png', png, '--npy', npy),
      cli('sample', '--model', path.join(dir, 'tiny'), '--count', '3', '--seed', '4', '--mode', 'naive', '--threads', '1', '--npy', npy2),
    ]);
    // the progress line covers the whole run, every thread's share
    expect(r.stderr).toMatch(/3 threads\) 100% 30\/30/);
    expect(r.code, r.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ count: 3, height: 6, width: 5, channels: 1, threads: 3 });
    expect(lastJson(r2.stdout)).toMatchObject({ threads: 1 });

    const a = decodeNpy(await fs.readFile(npy));
    expect(a.dtype).toBe('uint8');
    expect(a.shape).toEqual([3, 6, 5, 1]);
    expect(Math.max(...a.data)).toBeLessThan(4);
    expect(Array.from(decodeNpy(await fs.readFile(npy2)).data)).toEqual(Array.from(a.data));

    // PNG: 2x2 grid of 10x12 tiles with 2-pixel gaps, grey
    const file = await fs.readFile(png);
    const v = new DataView(file.buffer, file.byteOffset);
    expect(file.subarray(12, 16).toString()).toBe('IHDR');
    expect([v.getUint32(16), v.getUint32(20), file[24], file[25]]).toEqual([2 * 10 + 3 * 2, 2 * 12 + 3 * 2, 8, 0]);
    const idatLen = v.getUint32(33);
    const raw = inflateSync(file.subarray(41, 41 + idatLen));
    expect(raw.length).toBe(30 * (26 + 1));
    // the first pixel of image 0 sits at (2, 2), levels 0..3 shown as 0, 85, 170, 255
    expect(raw[2 * 27 + 1 + 2]).toBe(a.data[0] * 85);
    expect(existsSync(path.join(dir, 's2.png'))).toBe(false);
  });

  it('takes an embedding file for a vector-conditioned model', async () => {
    const emb = path.join(dir, 'e.json');
    await fs.writeFile(emb, '[0.5, -1, 2]');
    const r = await cli('sample', '--model', path.join(dir, 'vec'), '--embedding', emb, '--count', '2', '--npy', path.join(dir, 'v.npy'));
    expect(r.code, r.stderr).toBe(0);
    expect(decodeNpy(await fs.readFile(path.join(dir, 'v.npy'))).shape).toEqual([2, 4, 4, 1]);
  });

  it("--guidance G reaches the sampler; without it, model.json's recommendedGuidance, else 0", async () => {
    const model = path.join(dir, 'null');
    const out = (n: string) => path.join(dir, `g-${n}.npy`);
    const common = ['sample', '--model', model, '--count', '4', '--seed', '2', '--class', '1'];
    const images0 = async (n: string) => Array.from(decodeNpy(await fs.readFile(out(n))).data);
    const [byDefault, zero, given, plain, warm] = await Promise.all([
      cli(...common, '--npy', out('default')),
      cli(...common, '--guidance', '0', '--npy', out('zero')),
      cli(...common, '--guidance', '1.5', '--temperature', '0.9', '--npy', out('given')),
      cli('sample', '--model', path.join(dir, 'tiny'), '--count', '1', '--npy', out('plain')),
      cli(...common, '--temperature', '1', '--npy', out('warm')),
    ]);
    for (const r of [byDefault, zero, given, plain, warm]) expect(r.code, r.stderr).toBe(0);
    expect(lastJson(byDefault.stdout)).toMatchObject({ guidance: 1.5, temperature: 0.9 }); // recommendedTemperature too
    expect(lastJson(zero.stdout).guidance).toBe(0);
    expect(lastJson(plain.stdout)).toMatchObject({ guidance: 0, temperature: 1 }); // no metadata
    expect(await images0('warm')).not.toEqual(await images0('default')); // the temperature reached the sampler
    const images = async (n: string) => Array.from(decodeNpy(await fs.readFile(out(n))).data);
    expect(await images('default')).toEqual(await images('given'));
    expect(await images('default')).not.toEqual(await images('zero')); // guidance changed the draws
  });
});

describe('eval', () => {
  it('prints one JSON object with bits/dim on a few MNIST test images', async () => {
    const r = await cli('eval', '--model', path.join(dir, 'mnist'), '--split', 'test', '--limit', '6', '--batch', '4');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/6\/6/);
    const j = lastJson(r.stdout);
    expect(j.images).toBe(6);
    expect(j.split).toBe('test');
    expect(j.natsPerImage).toBeGreaterThan(0);
    // a random 4-level model is near uniform: about 2 bits per dimension
    expect(j.bitsPerDim).toBeCloseTo(j.natsPerImage / (784 * Math.LN2), 10);
    expect(j.bitsPerDim).toBeGreaterThan(1);
    expect(j.bitsPerDim).toBeLessThan(4);
    expect(j.leakedTensors).toBe(0);
    // the breakdown by true level: 4 levels = black, two greys, white; it adds up
    expect(j.byLevel.map((r: { levels: string }) => r.levels)).toEqual(['0', '1', '2', '3']);
    const sum = (k: string) => j.byLevel.reduce((a: number, r: Record<string, number>) => a + r[k], 0);
    expect(sum('share')).toBeCloseTo(1, 10);
    expect(sum('bitsPerDim')).toBeCloseTo(j.bitsPerDim, 8);
    expect(j.byLevel[0].share).toBeGreaterThan(0.5); // MNIST is mostly black
    expect(r.stderr).toMatch(/true level +share +bits each/);
    expect(j).not.toHaveProperty('unconditionalBitsPerDim'); // no null condition
  });

  it('a nullable model also gets the unconditional likelihood (null condition), and what the label is worth', async () => {
    const r = await cli('eval', '--model', path.join(dir, 'nullmnist'), '--split', 'test', '--limit', '6', '--batch', '4');
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.leakedTensors).toBe(0);
    // the same figures computed here, from the model's own forward pass
    const model = { config: nullMnist, params: initParams(nullMnist, 5) };
    const test = loadMnist('test');
    const x = tf.tensor4d(quantize(test.images.subarray(0, 6 * 784), 4), [6, 28, 28, 1]);
    const nats = (condition: Parameters<typeof condTensor>[1]) => {
      const h = condTensor(nullMnist, condition, 6);
      const v = nllNats(model, x, h).dataSync();
      h?.dispose();
      return Array.from(v).reduce((a, b) => a + b, 0) / 6;
    };
    const conditional = bitsPerDim(nats({ labels: Array.from(test.labels.subarray(0, 6)) }), nullMnist);
    const unconditional = bitsPerDim(nats({ unconditional: [true] }), nullMnist);
    disposeParams(model.params);
    x.dispose();
    expect(j.bitsPerDim).toBeCloseTo(conditional, 4);
    expect(j.unconditionalBitsPerDim).toBeCloseTo(unconditional, 4);
    expect(Math.abs(unconditional - conditional)).toBeGreaterThan(1e-4); // the two differ, so the test can tell them apart
    expect(r.stderr).toMatch(/^the label is worth -?\d+\.\d{4} bits\/dim: \d+\.\d{4} without it \(null condition\), \d+\.\d{4} with it$/m);
  });
});

describe('receptive', () => {
  it('returns an H x W field: causal, the masked stack has a blind spot, the gated one none', async () => {
    const [g, m, pic] = await Promise.all([
      cli('receptive', '--arch', 'gated', '--pixel', '5,4', '--size', '8,9', '--layers', '3', '--first-kernel', '3', '--json'),
      cli('receptive', '--arch', 'masked', '--pixel', '5,4', '--size', '8,9', '--layers', '3', '--first-kernel', '3', '--json'),
      cli('receptive', '--arch', 'masked', '--pixel', '5,4', '--size', '8,9', '--layers', '3', '--first-kernel', '3'),
    ]);
    for (const r of [g, m, pic]) expect(r.code, r.stderr).toBe(0);
    for (const r of [g, m]) {
      const j = lastJson(r.stdout);
      expect(j.field).toHaveLength(8);
      expect(j.field.every((row: number[]) => row.length === 9 && row.every((v) => v >= 0))).toBe(true);
      expect(j.futureInfluence).toBe(0);
      expect(j.field[5][3]).toBeGreaterThan(0); // left neighbour
      expect(j.field[4][4]).toBeGreaterThan(0); // pixel above
    }
    expect(lastJson(g.stdout).blindSpot).toBe(0);
    expect(lastJson(m.stdout).blindSpot).toBeGreaterThan(0);
    const lines = pic.stdout.split('\n');
    expect(lines.some((l) => l.includes('X'))).toBe(true);
    expect(pic.stdout).toContain('o'); // blind spot drawn
  });

  it('--dilations: the same depth reaches farther, still without a blind spot', async () => {
    const args = ['receptive', '--arch', 'gated', '--pixel', '14,8', '--size', '16,16', '--layers', '4', '--first-kernel', '3', '--json'];
    const [plain, dilated] = await Promise.all([cli(...args), cli(...args, '--dilations', '1,1,2,4')]);
    for (const r of [plain, dilated]) expect(r.code, r.stderr).toBe(0);
    const p = lastJson(plain.stdout);
    const d = lastJson(dilated.stdout);
    expect(d.dilations).toEqual([1, 1, 2, 4]);
    expect(d.blindSpot).toBe(0);
    expect(d.reached).toBeGreaterThan(p.reached);
    expect(p.field[14 - 9][8]).toBe(0); // 9 rows up: out of the plain stack's reach
    expect(d.field[14 - 9][8]).toBeGreaterThan(0);
  });
});

describe('bench', () => {
  it('prints the benchmark JSON last', async () => {
    const r = await cli('bench', '--preset', 'tiny', '--batches', '1,2', '--naive-pixels', '2', '--count-rows', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.backend).toBe('wasm');
    expect(j.batches.map((b: { batch: number }) => b.batch)).toEqual([1, 2]);
    for (const b of j.batches) {
      expect(b.naive.extrapolated).toBe(true);
      expect(b.naive.measuredSubPixels).toBe(2);
      expect(b.cached.measuredSubPixels).toBe(64);
      expect(b.forwardMs).toBeGreaterThan(0);
    }
    expect(j.speedup).toBeGreaterThan(0);
    expect(j.overheadFactor).toBeGreaterThan(0);
    expect(j.kernelsPerSubPixel.cached).toBeGreaterThan(0);
    expect(j.kernelsPerSubPixel.naive).toBeGreaterThan(0);
    expect(j.leakedTensors).toBe(0);
  });
});

describe('bad arguments and bad files', () => {
  it('exit non-zero with one line on stderr and write nothing', async () => {
    const out = path.join(dir, 'never.png');
    const bad = path.join(dir, 'broken');
    await fs.cp(path.join(dir, 'tiny'), bad, { recursive: true });
    const shard = path.join(bad, 'group1-shard1of1.bin');
    await fs.truncate(shard, (await fs.stat(shard)).size - 8);
    const tiny = path.join(dir, 'tiny');
    const cases: [string[], RegExp][] = [
      [['sample', '--model', tiny, '--png', out, '--bogus', '1'], /unknown flag --bogus/],
      [['sample', '--model', tiny, '--png', out, '--count', 'many'], /--count: expected an integer/],
      [['sample', '--model', tiny, '--png', out, '--temperature', '0'], /--temperature: expected a number > 0/],
      [['sample', '--model', tiny, '--png', out, '--mode', 'fast'], /--mode: expected one of cpu\|cached\|naive/],
      [['sample', '--model', tiny, '--png', out, '--guidance', '-1'], /--guidance: expected a number >= 0, got -1/],
      [['sample', '--model', tiny, '--png', out, '--guidance', 'lots'], /--guidance: expected a number, got "lots"/],
      [['sample', '--model', path.join(dir, 'badguide'), '--png', out], /badguide\/model\.json: metadata\.recommendedGuidance: expected a number >= 0, got -1/],
      [['sample', '--model', path.join(dir, 'plain'), '--png', out, '--guidance', '2'], /--guidance: this model is unconditional/],
      [['sample', '--png', out], /--model is required/],
      [['sample', '--model', tiny], /--png .* --npy/],
      [['sample', '--model', tiny, '--png', out, '--class', '7'], /--class: 7 is outside 0\.\.2/],
      [['sample', '--model', path.join(dir, 'missing'), '--png', out], /missing\/model\.json: not found/],
      [['sample', '--model', bad, '--png', out], /broken\/group1-shard1of1\.bin: truncated: tensor '[^']+'/],
      [['sample', '--model', tiny, '--png', path.join(dir, 'no/such/dir/x.png')], /does not exist/],
      [['sample', '--model', path.join(dir, 'vec'), '--png', out], /--embedding FILE is required/],
      [['eval', '--model', tiny, '--limit', '2'], /model is for 6x5x1 images; MNIST is 28x28x1/],
      [['eval', '--model', tiny, '--split', 'dev'], /--split: expected one of test\|val\|train/],
      [['receptive', '--pixel', '9,1', '--size', '4,4'], /outside the 4x4 image/],
      [['receptive', '--pixel', '1'], /--pixel: expected 2 comma-separated integers/],
      [['receptive', '--pixel', '1,1', '--kernel', '4'], /kernel: expected an odd kernel size/],
      [['receptive', '--pixel', '1,1', '--layers', '3', '--dilations', '1,5,1'], /--dilations: layer 1 has dilation 5 but the layers below it see only 3 pixel/],
      [['receptive', '--pixel', '1,1', '--dilations', '1,x'], /--dilations: expected comma-separated integers >= 1/],
      [['grow', '--from', '/nonexistent', '--out', '/tmp/x', '--dilations', '2'], /--from: no checkpoint at/],
      [['nonsense'], /unknown command "nonsense"/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(...args)));
    runs.forEach((r, i) => {
      const what = cases[i][0].join(' ');
      expect(r.code, what).not.toBe(0);
      expect(r.stderr.trim().split('\n'), `${what}: ${r.stderr}`).toHaveLength(1);
      expect(r.stderr, what).toMatch(cases[i][1]);
      expect(r.stdout, what).toBe('');
    });
    expect(existsSync(out)).toBe(false);
    expect((await fs.readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
