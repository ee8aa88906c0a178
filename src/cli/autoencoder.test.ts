// The auto-encoder's commands as a user runs them (issue 23): child processes of
// `tsx src/cli/main.ts` against tiny random auto-encoders saved to a temp folder. What
// the commands compute is checked against the same model run in this process.
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bitsPerDim, condTensor, disposeParams, encodeImages, initParams, interpolateCodes, makeConfig, nllNats, type ModelConfig, type Params } from '../model';
import { decodeNpy, encodeNpy } from '../io/npy';
import { encodePng } from '../io/png';
import { pictureToDigit } from '../io/picture';
import { quantize } from '../io/digits';
import { loadMnist } from '../data/mnist';
import { saveModel } from '../io/weightsNode';
import { greyBandShare } from '../eval/variationFigures';

const repo = path.resolve(__dirname, '../..');
let dir: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(repo, 'node_modules/.bin/tsx'), ['src/cli/main.ts', ...args], { cwd: repo, timeout: 240_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);
const file = (name: string) => path.join(dir, name);

const aeConfig = (over: Partial<ModelConfig> = {}) =>
  makeConfig({
    height: 28, width: 28, hidden: 4, layers: 2, headHidden: 4, firstKernel: 3, kernel: 3, levels: 4,
    conditioning: { type: 'vector', dim: 3, nullable: true },
    encoder: { type: 'conv', channels: [2, 3], code: 3 },
    ...over,
  });
const config = aeConfig();
let params: Params;
const model = () => ({ config, params });

/**
 * Random weights, with the code's way into the gates and the encoder's dense layer made
 * strong: at the initial scale a code barely moves a tiny model's draws, and a test of
 * which code went to which row would pass by chance.
 */
function strongParams(c: ModelConfig): Params {
  const p = initParams(c, 5);
  for (const name of Object.keys(p)) {
    if (/_cond$|^enc\/dense$/.test(name)) {
      const old = p[name];
      p[name] = tf.mul(old, 8);
      old.dispose();
    }
  }
  return p;
}

const test = loadMnist('test');
const digits = (from: number, n: number) => test.images.slice(from * 784, (from + n) * 784);

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ae-cli-'));
  params = strongParams(config);
  await saveModel(file('ae'), model());
  const small = aeConfig({ height: 6, width: 5 });
  const sp = initParams(small, 1);
  await saveModel(file('ae-6x5'), { config: small, params: sp });
  disposeParams(sp);
  const plain = makeConfig({ height: 28, width: 28, hidden: 4, layers: 1, headHidden: 4, firstKernel: 3, kernel: 3, levels: 4, conditioning: { type: 'vector', dim: 3 } });
  const pp = initParams(plain, 1);
  await saveModel(file('plain'), { config: plain, params: pp });
  disposeParams(pp);
  await fs.writeFile(file('x.npy'), encodeNpy(digits(0, 3), [3, 28, 28]));
  await fs.writeFile(file('x4.npy'), encodeNpy(digits(0, 3), [3, 28, 28, 1]));
  await fs.writeFile(file('a.png'), encodePng(digits(0, 1), 28, 28, 1));
  await fs.writeFile(file('b.png'), encodePng(digits(1, 1), 28, 28, 1));
  // a 40x30 RGB picture, dark ink on white paper: the app's framing inverts and frames it
  const paper = new Uint8Array(40 * 30 * 3).fill(255);
  for (let y = 8; y < 30; y++) for (let x = 14; x < 18; x++) paper.fill(0, (y * 30 + x) * 3, (y * 30 + x) * 3 + 3);
  await fs.writeFile(file('paper.png'), encodePng(paper, 30, 40, 3));
});
afterAll(async () => {
  disposeParams(params);
  await fs.rm(dir, { recursive: true, force: true });
});

/** The model's codes of pixels 0..255 in this process. */
const codes = (pixels: Uint8Array, n: number) => encodeImages(model(), quantize(pixels, config.levels), n);

describe('npm run encode', () => {
  it('prints one JSON code per picture, and --out writes the same codes as float32 [N, d]; [N,28,28] and [N,28,28,1] alike', async () => {
    const [printed, out3, out4] = await Promise.all([
      cli('encode', '--model', file('ae'), '--png', `${file('a.png')},${file('b.png')},${file('paper.png')}`),
      cli('encode', '--model', file('ae'), '--npy', file('x.npy'), '--out', file('c3.npy')),
      cli('encode', '--model', file('ae'), '--npy', file('x4.npy'), '--out', file('c4.npy'), '--batch', '2'),
    ]);
    for (const r of [printed, out3, out4]) expect(r.code, r.stderr).toBe(0);
    const lines = printed.stdout.trim().split('\n').map((l) => JSON.parse(l) as number[]);
    expect(lines).toHaveLength(3);
    // the paper picture is framed as the app frames it
    const rgba = new Uint8Array(40 * 30 * 4).fill(255);
    for (let y = 8; y < 30; y++) for (let x = 14; x < 18; x++) rgba.fill(0, (y * 30 + x) * 4, (y * 30 + x) * 4 + 3);
    const framed = pictureToDigit({ data: rgba, width: 30, height: 40 }, 28).pixels;
    const want = await codes(Uint8Array.from([...digits(0, 2), ...framed]), 3);
    lines.forEach((l, i) => l.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], 5)));
    expect(Math.abs(want[0][0] - want[1][0]) + Math.abs(want[0][1] - want[1][1])).toBeGreaterThan(1e-3); // codes differ per picture
    expect(lastJson(out3.stdout)).toMatchObject({ images: 3, code: 3 });
    const c3 = decodeNpy(await fs.readFile(file('c3.npy')));
    const c4 = decodeNpy(await fs.readFile(file('c4.npy')));
    expect([c3.dtype, c3.shape]).toEqual(['float32', [3, 3]]);
    expect(Array.from(c4.data)).toEqual(Array.from(c3.data));
    for (let j = 0; j < 3; j++) expect(c3.data[3 + j]).toBeCloseTo(lines[1][j], 6);
  });
});

describe('npm run sample --from-png / --from-npy / --morph', () => {
  it('--from-npy: input i\'s K variations at rows i*K..i*K+K-1, the same images as --embedding with each code repeated K times', async () => {
    const c = await codes(digits(0, 3), 3);
    const grouped = new Float32Array(3 * 2 * 3);
    const interleaved = new Float32Array(3 * 2 * 3);
    for (let i = 0; i < 3; i++) for (let r = 0; r < 2; r++) {
      grouped.set(c[i], (i * 2 + r) * 3);
      interleaved.set(c[i], (r * 3 + i) * 3);
    }
    await fs.writeFile(file('grouped.npy'), encodeNpy(grouped, [6, 3]));
    await fs.writeFile(file('interleaved.npy'), encodeNpy(interleaved, [6, 3]));
    const common = ['sample', '--model', file('ae'), '--seed', '3'];
    const [v, g, w] = await Promise.all([
      cli(...common, '--from-npy', file('x.npy'), '--count', '2', '--npy', file('v.npy'), '--png', file('v.png'), '--scale', '1'),
      cli(...common, '--embedding', file('grouped.npy'), '--count', '6', '--npy', file('g.npy')),
      cli(...common, '--embedding', file('interleaved.npy'), '--count', '6', '--npy', file('w.npy')),
    ]);
    for (const r of [v, g, w]) expect(r.code, r.stderr).toBe(0);
    expect(lastJson(v.stdout)).toMatchObject({ count: 6, sources: 3, variationsPerSource: 2 });
    const images = decodeNpy(await fs.readFile(file('v.npy')));
    expect(images.shape).toEqual([6, 28, 28, 1]);
    const data = (f: string) => fs.readFile(file(f)).then((b) => Array.from(decodeNpy(b).data));
    expect(Array.from(images.data)).toEqual(await data('g.npy'));
    expect(Array.from(images.data)).not.toEqual(await data('w.npy')); // the layout matters: the test can fail
    // the PNG: a row per source, the source first: 3 rows x 3 tiles of 28 px with 2 px gaps
    const png = await fs.readFile(file('v.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([3 * 28 + 4 * 2, 3 * 28 + 4 * 2]);
  });

  it('--from-png takes pictures of any size (framed) and --morph draws one sample per interpolated code, A and B included', async () => {
    const c = await codes(digits(0, 2), 2);
    const path4 = interpolateCodes(c[0], c[1], 4);
    const flat = new Float32Array(12);
    path4.forEach((p, i) => flat.set(p, i * 3));
    await fs.writeFile(file('path.npy'), encodeNpy(flat, [4, 3]));
    const [m, e, p] = await Promise.all([
      cli('sample', '--model', file('ae'), '--morph', `${file('a.png')},${file('b.png')}`, '--steps', '4', '--npy', file('m.npy'), '--png', file('m.png'), '--scale', '1'),
      cli('sample', '--model', file('ae'), '--embedding', file('path.npy'), '--count', '4', '--npy', file('e.npy')),
      cli('sample', '--model', file('ae'), '--from-png', file('paper.png'), '--count', '3', '--npy', file('p.npy')),
    ]);
    for (const r of [m, e, p]) expect(r.code, r.stderr).toBe(0);
    expect(lastJson(m.stdout)).toMatchObject({ count: 4, steps: 4 });
    const morph = decodeNpy(await fs.readFile(file('m.npy')));
    expect(Array.from(morph.data)).toEqual(Array.from(decodeNpy(await fs.readFile(file('e.npy'))).data));
    const png = await fs.readFile(file('m.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([6 * 28 + 7 * 2, 28 + 2 * 2]); // A, 4 steps, B
    expect(decodeNpy(await fs.readFile(file('p.npy'))).shape).toEqual([3, 28, 28, 1]);
  });

  it('bad input is one line: size after framing, .npy shape or dtype, a morph with one picture, --from-* without an encoder', async () => {
    await fs.writeFile(file('short.npy'), encodeNpy(digits(0, 2).subarray(0, 2 * 27 * 28), [2, 27, 28]));
    await fs.writeFile(file('float.npy'), encodeNpy(new Float32Array(784), [1, 28, 28]));
    await fs.writeFile(file('junk.png'), 'not a png');
    const out = ['--npy', file('never.npy')];
    const cases: [string[], number, string][] = [
      [['sample', '--model', file('ae-6x5'), '--from-png', file('a.png'), ...out], 1, `sample: error: ${file('a.png')}: is 28x28; this model reads 5x6 pictures (only square grey models frame other sizes)`],
      [['sample', '--model', file('ae'), '--from-npy', file('short.npy'), ...out], 1, `sample: error: ${file('short.npy')}: expected uint8 [N,28,28] or [N,28,28,1] images, got uint8 [2,27,28]`],
      [['encode', '--model', file('ae'), '--npy', file('float.npy')], 1, `encode: error: ${file('float.npy')}: expected uint8 [N,28,28] or [N,28,28,1] images, got float32 [1,28,28]`],
      [['sample', '--model', file('ae'), '--morph', file('a.png'), ...out], 2, `sample: bad arguments: --morph: expected two pictures A.png,B.png, got 1 (${JSON.stringify(file('a.png'))})`],
      [['sample', '--model', file('plain'), '--from-png', file('a.png'), ...out], 2, `sample: bad arguments: --from-png: ${file('plain')} has no encoder (config.encoder); it needs an auto-encoder model such as models/mnist-ae`],
      [['sample', '--model', file('plain'), '--from-npy', file('x.npy'), ...out], 2, `sample: bad arguments: --from-npy: ${file('plain')} has no encoder (config.encoder); it needs an auto-encoder model such as models/mnist-ae`],
      [['encode', '--model', file('plain'), '--png', file('a.png')], 2, `encode: bad arguments: --model: ${file('plain')} has no encoder (config.encoder); it needs an auto-encoder model such as models/mnist-ae`],
      [['sample', '--model', file('ae'), '--from-png', file('a.png'), '--class', '1', ...out], 2, 'sample: bad arguments: --from-png: the pictures\' codes are the condition; drop --class / --embedding'],
      [['sample', '--model', file('ae'), '--from-png', file('a.png'), '--morph', `${file('a.png')},${file('b.png')}`, ...out], 2, 'sample: bad arguments: give one of --from-png, --from-npy, --morph, not --from-png and --morph'],
      [['encode', '--model', file('ae'), '--png', file('junk.png')], 1, `encode: error: ${file('junk.png')}: png: not a PNG file this reader can decode`],
      [['encode', '--model', file('ae'), '--png', file('a.png'), '--npy', file('x.npy')], 2, 'encode: bad arguments: give --png DIGIT.png or --npy FILE (one of them)'],
      [['sample', '--model', file('ae'), ...out], 2, 'sample: bad arguments: this model is an auto-encoder: give --from-png A.png, --from-npy X.npy or --morph A.png,B.png (or --embedding FILE with codes of your own)'],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(...args)));
    runs.forEach((r, i) => {
      const [args, code, message] = cases[i];
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim().startsWith(message), `${r.stderr}\nwanted: ${message}`).toBe(true);
      expect(r.code, args.join(' ')).toBe(code);
    });
    expect(existsSync(file('never.npy'))).toBe(false);
  });
});

describe('npm run eval and fidelity --variations on an auto-encoder', () => {
  it('eval scores each image given its own code, and without it (the null code)', async () => {
    const r = await cli('eval', '--model', file('ae'), '--limit', '6', '--batch', '4');
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    const x = tf.tensor4d(quantize(digits(0, 6), 4), [6, 28, 28, 1]);
    const h = condTensor(config, { embeddings: await codes(digits(0, 6), 6) }, 6)!;
    const u = condTensor(config, { unconditional: [true] }, 6)!;
    const mean = async (t: tf.Tensor) => ((await t.data()) as Float32Array).reduce((s, v) => s + v, 0) / 6;
    const [given, none] = [nllNats(model(), x, h), nllNats(model(), x, u)];
    expect(out.bitsPerDim).toBeCloseTo(bitsPerDim(await mean(given), config), 4);
    expect(out.unconditionalBitsPerDim).toBeCloseTo(bitsPerDim(await mean(none), config), 4);
    expect(Math.abs(out.bitsPerDim - out.unconditionalBitsPerDim)).toBeGreaterThan(1e-3);
    expect(out.conditioning).toBe("each image's own code");
    tf.dispose([x, h, u, given, none]);
  });

  it('fidelity --variations reports agreement, distances, nearer-own-source and grey band; a conventional .npy joins them', async () => {
    // "conventional reconstructions" that are the test digits themselves: distance 0, the sources' grey band
    await fs.writeFile(file('conv.npy'), encodeNpy(digits(0, 8), [8, 28, 28]));
    const r = await cli('fidelity', '--model', file('ae'), '--variations', '--limit', '8', '--count', '2', '--batch', '3', '--npy', file('conv.npy'), '--png', file('fid'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({ sources: 8, variationsPerSource: 2, sourceAgreement: 1 });
    for (const k of ['agreement', 'distanceToSource', 'sameClassDistance', 'ratio', 'nearerOwnSource']) expect(Number.isFinite(out[k]), k).toBe(true);
    expect(out.ratio).toBeCloseTo(out.distanceToSource / out.sameClassDistance, 10);
    expect(out.conventional).toMatchObject({ agreement: 1, distanceToSource: 0, greyBand: greyBandShare(digits(0, 8)) });
    expect(out.greyBand.variations).toBeGreaterThan(out.greyBand.sources); // random weights draw noise, not strokes
    const png = await fs.readFile(file('fid-variations.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([4 * 84 + 5 * 2, 8 * 84 + 9 * 2]); // source, conventional, 2 variations
    const [notAe, few] = await Promise.all([
      cli('fidelity', '--model', file('plain'), '--variations', '--limit', '4'),
      cli('fidelity', '--model', file('ae'), '--variations', '--limit', '9', '--npy', file('conv.npy')),
    ]);
    expect([notAe.code, notAe.stderr.trim()]).toEqual([2, `fidelity: bad arguments: --variations: ${file('plain')} has no encoder (config.encoder); it needs an auto-encoder model such as models/mnist-ae`]);
    expect([few.code, few.stderr.trim()]).toEqual([1, `fidelity: error: ${file('conv.npy')}: holds 8 reconstructions; --limit 9 needs one for each of the first 9 test digits`]);
  });
});
