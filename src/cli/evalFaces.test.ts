// npm run eval-faces as a user runs it (a child process) on a tiny random 32x32x3 model
// conditioned on a 128-d descriptor and a hand-written build-faces split of 6 people whose
// descriptors are chosen so the re-render figures are known exactly; its pieces; and
// `npm run sample --embedding` refusing descriptor files a faces model cannot take.
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeParams, initParams, makeConfig, type ModelConfig } from '../model';
import { mulberry32 } from '../util/rng';
import { saveModel } from '../io/weightsNode';
import { encodeNpy } from '../io/npy';
import { encodeNpyInt32, FORMAT } from '../faces/dataset';
import { DESCRIPTOR_DIM, faceDescriptors } from '../faces/descriptor';
import { loadFaceRecognizer } from '../faces/faceapiNode';
import { identityFigures, peopleOf } from '../faces/identity';
import { conditionFromFlags, startBackend } from './common';
import { runEvalFaces } from './evalFaces';
import { speckleShares } from '../faces/speckle';
import { encodeAnchors, parseAnchors } from '../faces/anchorsFile';
import { fitCondition } from '../faces/fitCondition';

const repo = path.resolve(__dirname, '../..');
const tsx = path.join(repo, 'node_modules/.bin/tsx');
let dir: string;
const PEOPLE = 6;
const D = DESCRIPTOR_DIM;
const PX = 32 * 32 * 3;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, ['src/cli/main.ts', ...args], { cwd: repo, timeout: 300_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
const evalFaces = (...args: string[]) => cli('eval-faces', ...args);

/** Runs fn with process.stdout / stderr writes collected instead of printed. */
async function captured(fn: () => Promise<void>): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const orig = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((s: string) => ((out.stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((out.stderr += s), true)) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stdout.write = orig.stdout;
    process.stderr.write = orig.stderr;
  }
  return out;
}

async function save(name: string, config: ModelConfig, metadata?: Record<string, unknown>) {
  const params = initParams(config, 3);
  await saveModel(path.join(dir, name), { config, params }, { metadata });
  disposeParams(params);
}
const tiny = (partial: Partial<ModelConfig>) =>
  makeConfig({ height: 32, width: 32, channels: 3, hidden: 3, layers: 1, headHidden: 3, firstKernel: 3, kernel: 3, levels: 4, ...partial });

const unit = (k: number, s = 1) => {
  const v = new Float32Array(D);
  v[k] = s;
  return v;
};
const add = (...vs: Float32Array[]) => vs.reduce((a, b) => a.map((x, i) => x + b[i]));

/**
 * Person p's variant 0 is the unit vector e_p. Variant 1 (the "re-render"): people 0-3
 * e_p + 0.1 e_(10+p) (nearest their own, at 0.1); person 4 is 0.8 e_5 + 0.3 e_4 and person 5
 * 0.8 e_0 + 0.3 e_5 (each nearer someone else: rank 1). So top1 4/6, top5 1, mean rank 2/6.
 */
function descriptorsOf(variants: number): Float32Array {
  const rows: Float32Array[] = [];
  for (let p = 0; p < PEOPLE; p++) {
    rows.push(unit(p));
    const v1 = p < 4 ? add(unit(p), unit(10 + p, 0.1)) : p === 4 ? add(unit(5, 0.8), unit(4, 0.3)) : add(unit(0, 0.8), unit(5, 0.3));
    for (let v = 1; v < variants; v++) rows.push(v === 1 ? v1 : add(unit(p), unit(30 + v, 0.2)));
  }
  const out = new Float32Array(rows.length * D);
  rows.forEach((r, i) => out.set(r, i * D));
  return out;
}

/** A build-faces split folder written directly (readFacesDir's format), `people` x `variants`. */
async function writeSplit(at: string, variants: number, extraMeta: Record<string, unknown> = { split: 'test' }) {
  await fs.mkdir(at, { recursive: true });
  const n = PEOPLE * variants;
  const rand = mulberry32(7);
  const images = Uint8Array.from({ length: n * PX }, () => Math.floor(rand() * 256));
  const ids = Int32Array.from({ length: n }, (_, i) => 3 * Math.floor(i / variants) + 2); // people 2, 5, 8, ...
  await fs.writeFile(path.join(at, 'images.npy'), encodeNpy(images, [n, 32, 32, 3]));
  await fs.writeFile(path.join(at, 'descriptors.npy'), encodeNpy(descriptorsOf(variants), [n, D]));
  await fs.writeFile(path.join(at, 'identities.npy'), encodeNpyInt32(ids, [n]));
  await fs.writeFile(path.join(at, 'faces.json'), '[]\n');
  await fs.writeFile(path.join(at, 'meta.json'), JSON.stringify({ format: FORMAT, seed: 1, variants, ...extraMeta }));
  return images;
}

let images: Uint8Array;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eval-faces-'));
  await save('faces', tiny({ conditioning: { type: 'vector', dim: D, nullable: true } }), { recommendedGuidance: 0.5 });
  await save('plainvec', tiny({ conditioning: { type: 'vector', dim: D } }));
  await save('dim64', tiny({ conditioning: { type: 'vector', dim: 64 } }));
  await save('grey', tiny({ channels: 1, hidden: 2, headHidden: 2, conditioning: { type: 'vector', dim: D } }));
  await save('class', tiny({ conditioning: { type: 'class', classes: 3 } }));
  // a whole build-faces folder: meta.json with a split rule, and the test split below it
  await writeSplit(path.join(dir, 'data'), 3, { split: { rule: 'by identity' } });
  images = await writeSplit(path.join(dir, 'data', 'test'), 3);
  // the same people as the train split: every condition lies at distance 0 from the data
  await writeSplit(path.join(dir, 'data', 'train'), 3, { split: 'train' });
  await writeSplit(path.join(dir, 'one-variant'), 1);
  await writeSplit(path.join(dir, 'val'), 2, { split: 'val' });
  await writeSplit(path.join(dir, 'nodesc'), 2);
  await fs.rm(path.join(dir, 'nodesc', 'descriptors.npy'));
  await writeSplit(path.join(dir, 'short'), 2);
  await fs.writeFile(path.join(dir, 'short', 'descriptors.npy'), encodeNpy(new Float32Array(5 * D), [5, D]));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('identityFigures', () => {
  it('ranks each query against the gallery: top1, top5, own and other distances, mean rank', () => {
    const all = descriptorsOf(2);
    const gallery = new Float32Array(PEOPLE * D);
    const queries = new Float32Array(PEOPLE * D);
    for (let p = 0; p < PEOPLE; p++) {
      gallery.set(all.subarray(2 * p * D, (2 * p + 1) * D), p * D);
      queries.set(all.subarray((2 * p + 1) * D, (2 * p + 2) * D), p * D);
    }
    const f = identityFigures(gallery, queries, PEOPLE, 1);
    // own distances: 0.1 for people 0-3; |0.8 e5 - 0.7 e4| for 4, |0.8 e0 - 0.7 e5| for 5
    const own = (4 * 0.1 + 2 * Math.hypot(0.8, 0.7)) / PEOPLE;
    expect(f.queries).toBe(6);
    expect(f.top1).toBeCloseTo(4 / 6, 12);
    expect(f.top5).toBe(1);
    expect(f.meanRank).toBeCloseTo(2 / 6, 12);
    expect(f.meanOwnDistance).toBeCloseTo(own, 6);
    // person 0's re-render e0 + 0.1 e10 is sqrt(1 + 1 + 0.01) from every other e_j
    expect(f.meanOtherDistance).toBeGreaterThan(1.2);
    // two queries per person: the second copy of each counts alike
    const twice = new Float32Array(2 * PEOPLE * D);
    for (let p = 0; p < PEOPLE; p++) for (let k = 0; k < 2; k++) twice.set(queries.subarray(p * D, (p + 1) * D), (2 * p + k) * D);
    expect(identityFigures(gallery, twice, PEOPLE, 2)).toEqual({ ...f, queries: 12 });
    // the gallery itself as queries: every person is its own nearest
    expect(identityFigures(gallery, gallery, PEOPLE, 1)).toMatchObject({ top1: 1, meanOwnDistance: 0, meanRank: 0 });
    expect(() => identityFigures(gallery, queries.subarray(D), PEOPLE, 1)).toThrow(/6 queries need 768 values, got 640/);
  });

  it('peopleOf groups a folder by person and refuses identities out of order', () => {
    expect(peopleOf(Int32Array.of(4, 4, 9, 9), 2, 'X')).toEqual({ identities: [4, 9], first: [0, 2], variants: 2 });
    expect(() => peopleOf(Int32Array.of(4, 9, 9, 9), 2, 'X')).toThrow(/^X: identities.npy row 1 is identity 9, expected 4/);
    expect(() => peopleOf(Int32Array.of(4, 4, 4), 2, 'X')).toThrow(/3 images are not whole people of 2 variants/);
    expect(() => peopleOf(Int32Array.of(4, 4, 9, 9, 4, 4), 2, 'X')).toThrow(/identity 4 appears twice \(rows 0 and 4\)/);
  });
});

describe('npm run eval-faces', () => {
  it('draws K portraits per person, scores their descriptors and the real re-renders, and pictures them', async () => {
    const png = path.join(dir, 'eval.png');
    const r = await evalFaces('--model', path.join(dir, 'faces'), '--faces', path.join(dir, 'data'), '--identities', '5', '--per-identity', '2', '--seed', '3', '--batch', '4', '--png', png); // 3 sampler calls of 2, 2, 1 people
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out).toMatchObject({ faces: path.join(dir, 'data', 'test'), split: 'test', identities: 5, perIdentity: 2, seed: 3, guidance: 0.5, temperature: 1, backend: 'wasm', png });
    expect(out.chance).toEqual({ top1: 0.2, top5: 1 });
    // the first 5 people of the data: people 0-3 hit, person 4 is nearer person 5 (not among the 5): hits too
    expect(out.reRender).toMatchObject({ queries: 5, top1: 1, top5: 1, meanRank: 0 });
    expect(out.reRender.meanOwnDistance).toBeCloseTo((4 * 0.1 + Math.hypot(0.8, 0.7)) / 5, 6);
    expect(out.generated.queries).toBe(10);
    for (const k of ['top1', 'top5']) expect(out.generated[k]).toBeGreaterThanOrEqual(0);
    expect(out.generated.top5).toBe(1); // 5 people: everyone is among the nearest 5
    expect(out.generated.top1).toBeLessThanOrEqual(1);
    expect(out.generated.meanOwnDistance).toBeGreaterThan(0);
    expect(Number.isFinite(out.generated.meanOtherDistance)).toBe(true);
    expect(out.seconds.sampling).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/eval-faces: 5 people x 2 portrait\(s\), guidance 0\.5 \(wasm\) \d+% \d+\/10 [\d.]+s, eta [\d.]+s/);
    expect(r.stderr).toMatch(/100% 10\/10/);
    expect(r.stderr).toMatch(/real re-render \(ceiling\): top1 100%, top5 100%/);

    // the picture: 5 rows (people) of the conditioning portrait and the 2 drawn ones, 3x, 2-pixel gaps
    const pic = decode(await fs.readFile(png));
    expect([pic.width, pic.height, pic.channels]).toEqual([3 * 96 + 4 * 2, 5 * 96 + 6 * 2, 3]);
    const tile = (row: number, col: number) => {
      const t = new Uint8Array(PX);
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++)
          for (let c = 0; c < 3; c++) t[(y * 32 + x) * 3 + c] = pic.data[((2 + row * 98 + y * 3) * pic.width + 2 + col * 98 + x * 3) * 3 + c];
      return t;
    };
    const drawn = new Uint8Array(10 * PX);
    for (let p = 0; p < 5; p++) {
      expect(tile(p, 0)).toEqual(images.subarray(3 * p * PX, (3 * p + 1) * PX)); // variant 0 of person p
      for (let k = 0; k < 2; k++) drawn.set(tile(p, 1 + k), (2 * p + k) * PX);
    }
    // levels 0..3 shown as 0, 85, 170, 255
    expect(new Set(drawn)).toEqual(new Set([0, 85, 170, 255]));
    // the generated figures are those of the pictured portraits' descriptors
    const api = await loadFaceRecognizer();
    const desc = await faceDescriptors(api, drawn, 10, 32);
    const gallery = new Float32Array(5 * D);
    for (let p = 0; p < 5; p++) gallery.set(unit(p), p * D);
    const mine = identityFigures(gallery, desc, 5, 2);
    expect(out.generated.top1).toBeCloseTo(mine.top1, 12);
    expect(out.generated.meanOwnDistance).toBeCloseTo(mine.meanOwnDistance, 4);
    expect(out.generated.meanOtherDistance).toBeCloseTo(mine.meanOtherDistance, 4);
    // issue 25's figures: the speckle of the pictured portraits, the conditions' distance to the train split
    const shares = speckleShares(drawn, 10, 32);
    expect(out.speckle.all.mean).toBeCloseTo(shares.reduce((x, y) => x + y, 0) / 10, 12);
    expect(out.speckle.all.max).toBe(Math.max(...shares));
    expect(out.speckle.perPerson).toHaveLength(5);
    expect(out.speckle.glasses).toBeNull(); // faces.json has no records
    expect(out.distanceToData).toEqual({ median: 0, p90: 0, max: 0, mean: 0 });
    expect(out.fit).toBeNull(); // the model has no anchors.json
  }, 300_000);

  it('--embeddings: each file drawn, fitted onto --fit anchors as the app fits it, with its speckle and distance to the data', async () => {
    const emb = path.join(dir, 'embeddings');
    await fs.mkdir(emb, { recursive: true });
    await fs.writeFile(path.join(emb, 'a.json'), JSON.stringify(Array.from(unit(1))));
    await fs.writeFile(path.join(emb, 'b.npy'), encodeNpy(unit(40, 2), [D]));
    await fs.writeFile(path.join(emb, 'notes.txt'), 'not an embedding');
    // anchors: the 6 people's variant 0 (e_p); within 0.1 kept, beyond 0.2 replaced by the mean of the nearest 2
    const anchors = new Float32Array(PEOPLE * D);
    for (let p = 0; p < PEOPLE; p++) anchors.set(unit(p), p * D);
    const fitFile = path.join(dir, 'anchors-test.json');
    await fs.writeFile(fitFile, JSON.stringify(encodeAnchors({ dim: D, count: PEOPLE, vectors: anchors, identities: [2, 5, 8, 11, 14, 17], fit: { k: 2, near: 0.1, far: 0.2 }, source: 'test', thumbs: null })));
    const png = path.join(dir, 'emb.png');
    const r = await evalFaces('--model', path.join(dir, 'faces'), '--faces', path.join(dir, 'data'), '--embeddings', emb, '--per-identity', '2', '--fit', fitFile, '--png', png);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.fit).toMatchObject({ anchors: fitFile, k: 2, near: 0.1, far: 0.2, fitted: 1 });
    expect(out.files.map((f: { file: string }) => f.file)).toEqual(['a.json', 'b.npy']);
    const [a, b] = out.files;
    expect(a).toMatchObject({ distanceToData: 0, blend: 0, neighbours: [] });
    expect(b.distanceToData).toBeCloseTo(Math.sqrt(4 + 0.8 ** 2 + 0.3 ** 2), 5); // 2 e_40 against the nearest train row, person 4's variant 1
    expect(b.blend).toBe(1);
    expect(b.neighbours).toHaveLength(2);
    for (const f of out.files) expect(f.speckle.portraits).toBe(2);
    expect(out.speckle.portraits).toBe(4);
    expect(r.stderr).toMatch(/^b\.npy: distance to the data 2\.175, fit blend 1\.00, speckle/m);
    const pic = decode(await fs.readFile(png));
    expect([pic.width, pic.height]).toEqual([3 * 96 + 4 * 2, 2 * 96 + 3 * 2]);
    // the same run without fitting draws b from itself: other portraits
    const raw = await evalFaces('--model', path.join(dir, 'faces'), '--faces', path.join(dir, 'data'), '--embeddings', emb, '--per-identity', '2', '--fit', 'none', '--json');
    const outRaw = JSON.parse(raw.stdout);
    expect(outRaw.fit).toBeNull();
    expect(outRaw.files[0].meanDistance).toBeCloseTo(a.meanDistance, 6); // a is kept as it is either way
    expect(outRaw.files[1].meanDistance).not.toBeCloseTo(b.meanDistance, 6);
    await fs.mkdir(path.join(dir, 'no-embeddings'), { recursive: true });
    const bad = await evalFaces('--model', path.join(dir, 'faces'), '--faces', path.join(dir, 'data'), '--embeddings', path.join(dir, 'no-embeddings'));
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^eval-faces: bad arguments: --embeddings: .*no-embeddings holds no \.json or \.npy files$/);
  }, 300_000);

  // in-process (no tsx start-up), so the tensors can be counted: none left behind
  it('all 6 people of a split folder, --guidance overriding the model, --json alone on stdout, no tensor left', async () => {
    await loadFaceRecognizer();
    await startBackend('wasm');
    const before = tf.memory().numTensors;
    const { stdout, stderr } = await captured(() =>
      runEvalFaces(['--model', path.join(dir, 'faces'), '--faces', path.join(dir, 'data', 'test'), '--identities', '6', '--guidance', '0', '--png', path.join(dir, 'g0.png'), '--json']),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ identities: 6, perIdentity: 1, guidance: 0, seed: 0, png: path.join(dir, 'g0.png') });
    expect(out.reRender).toMatchObject({ queries: 6, top5: 1 });
    expect(out.reRender.top1).toBeCloseTo(4 / 6, 12);
    expect(out.reRender.meanRank).toBeCloseTo(2 / 6, 12);
    expect(out.reRender.meanOwnDistance).toBeCloseTo((4 * 0.1 + 2 * Math.hypot(0.8, 0.7)) / 6, 6);
    expect(out.chance.top1).toBeCloseTo(1 / 6, 12);
    expect(out.generated.queries).toBe(6);
    // guidance reaches the sampler: other portraits at g = 3, the same conditioning column
    const g3 = await captured(() =>
      runEvalFaces(['--model', path.join(dir, 'faces'), '--faces', path.join(dir, 'data', 'test'), '--identities', '6', '--guidance', '3', '--png', path.join(dir, 'g3.png'), '--json']),
    );
    expect(JSON.parse(g3.stdout).guidance).toBe(3);
    const [a, b] = await Promise.all(['g0.png', 'g3.png'].map(async (f) => decode(await fs.readFile(path.join(dir, f)))));
    expect([b.width, b.height]).toEqual([2 * 96 + 3 * 2, 6 * 96 + 7 * 2]);
    const column = (p: typeof a, x0: number) => p.data.filter((_, i) => Math.floor(i / 3) % p.width >= x0 && Math.floor(i / 3) % p.width < x0 + 98);
    expect(column(b, 0)).toEqual(column(a, 0));
    expect(column(b, 98)).not.toEqual(column(a, 98));
    // and the same flags give the same portraits and figures
    const again = await captured(() =>
      runEvalFaces(['--model', path.join(dir, 'faces'), '--faces', path.join(dir, 'data', 'test'), '--identities', '6', '--guidance', '0', '--png', path.join(dir, 'g0b.png'), '--json']),
    );
    expect(JSON.parse(again.stdout).generated).toEqual(out.generated);
    expect((await fs.readFile(path.join(dir, 'g0b.png'))).equals(await fs.readFile(path.join(dir, 'g0.png')))).toBe(true);
  }, 300_000);

  it('refuses bad folders, too few people and models that cannot be scored in one line', async () => {
    const faces = path.join(dir, 'faces');
    const data = path.join(dir, 'data');
    // as a user sees it: exit code and one line
    const cases: [string[], number, RegExp][] = [
      [['--model', faces, '--faces', path.join(dir, 'nodesc')], 1, /^eval-faces: error: .*nodesc: no descriptors\.npy \(not a finished build-faces folder\)$/],
      [['--model', faces, '--faces', data, '--identities', '7'], 2, /^eval-faces: bad arguments: --identities: 7 people asked for, .*data\/test holds 6$/],
      [['--model', path.join(dir, 'dim64'), '--faces', data, '--identities', '3'], 2, /^eval-faces: bad arguments: --model: .*dim64 is conditioned on a 64-d vector; eval-faces needs a model conditioned on the 128-d face descriptor$/],
    ];
    const runs = await Promise.all(cases.map(([args]) => evalFaces(...args)));
    runs.forEach((r, i) => {
      const what = cases[i][0].join(' ');
      expect(r.code, `${what}: ${r.stderr}`).toBe(cases[i][1]);
      expect(r.stderr.trim().split('\n'), `${what}: ${r.stderr}`).toHaveLength(1);
      expect(r.stderr.trim(), what).toMatch(cases[i][2]);
      expect(r.stdout, what).toBe('');
    });
    // the rest in-process (each a one-line message; main.ts prints it as above)
    const more: [string[], RegExp][] = [
      [['--model', faces, '--faces', path.join(dir, 'short')], /short: descriptors\.npy holds 5 rows, images\.npy 12 images$/],
      [['--model', faces, '--faces', path.join(dir, 'missing')], /missing: no meta\.json/],
      [['--model', faces, '--faces', path.join(dir, 'one-variant'), '--identities', '3'], /1 variant per person; eval-faces needs at least 2 \(variant 1 is the real re-render\)$/],
      [['--model', faces, '--faces', path.join(dir, 'val'), '--identities', '3'], /is the val split; give --split val/],
      [['--model', path.join(dir, 'grey'), '--faces', data, '--identities', '3'], /grey draws 32x32x1 images; eval-faces needs 32x32x3 portraits$/],
      [['--model', path.join(dir, 'class'), '--faces', data, '--identities', '3'], /class is conditioned on a class; /],
      [['--model', path.join(dir, 'plainvec'), '--faces', data, '--identities', '3', '--guidance', '2'], /--guidance: 2 needs a model with a null embedding/],
      [['--model', path.join(dir, 'nomodel'), '--faces', data, '--identities', '3'], /nomodel\/model\.json: not found/],
      [['--model', faces, '--faces', data, '--identities', '1'], /--identities: expected an integer >= 2, got 1/],
      [['--model', faces, '--faces', data, '--png', path.join(dir, 'x.jpg')], /--png: .*x\.jpg should end in \.png/],
      [['--model', faces, '--faces', data, '--png', path.join(dir, 'no/such/x.png')], /folder .* does not exist/],
      [['--faces', data], /--model is required/],
    ];
    for (const [args, re] of more) {
      const e = await runEvalFaces(args).then(() => undefined, (x: Error) => x);
      expect(e, args.join(' ')).toBeInstanceOf(Error);
      expect(e!.message, args.join(' ')).toMatch(re);
      expect(e!.message).not.toMatch(/\n/);
    }
    expect(existsSync(path.join(dir, 'x.jpg'))).toBe(false);
  }, 300_000);
});

describe('npm run sample --embedding on a faces model', () => {
  it('takes a 128-d .npy descriptor and refuses one of the wrong length or with NaN in one line', async () => {
    const faces = path.join(dir, 'faces');
    const file = async (name: string, data: Uint8Array | string) => {
      await fs.writeFile(path.join(dir, name), data);
      return path.join(dir, name);
    };
    const config = tiny({ conditioning: { type: 'vector', dim: D, nullable: true } });
    // a good file: the values as written (read through a Node Buffer, as the CLI reads it)
    const good = Float32Array.from({ length: 2 * D }, (_, i) => i / 7);
    const got = await conditionFromFlags(config, 2, { embedding: await file('good.npy', encodeNpy(good, [2, D])) });
    expect(got.condition!.embeddings!.map((r) => Array.from(r))).toEqual([Array.from(good.subarray(0, D)), Array.from(good.subarray(D))]);
    const one = await conditionFromFlags(config, 5, { embedding: await file('one.npy', encodeNpy(good.subarray(0, D), [D])) });
    expect(one.condition!.embeddings!.length).toBe(1);

    const nan = new Float32Array(2 * D);
    nan[D + 5] = NaN;
    const cases: [string, RegExp][] = [
      [await file('short.npy', encodeNpy(new Float32Array(127), [127])), /short\.npy: embedding has length 127, the model expects 128$/],
      [await file('short.json', JSON.stringify(Array(127).fill(0.1))), /short\.json: embedding has length 127, the model expects 128$/],
      [await file('nan.npy', encodeNpy(nan, [2, D])), /nan\.npy: not finite: row 1 element 5 is NaN$/],
      [await file('nan.json', `[${Array(D).fill('0').join(',').replace(/^0/, 'NaN')}]`), /nan\.json: not finite: element 0 is NaN$/],
      [await file('inf.json', `[${Array(D).fill('0').join(',').replace(/^0/, '1e999')}]`), /inf\.json: not finite: element 0 is Infinity$/],
      [await file('three.npy', encodeNpy(new Float32Array(3 * D), [3, D])), /three\.npy: holds 3 embeddings; give 1 \(shared\) or --count \(2\)$/],
    ];
    for (const [f, re] of cases) {
      const e = await conditionFromFlags(config, 2, { embedding: f }).then(() => undefined, (x: Error) => x);
      expect(e, f).toBeInstanceOf(Error);
      expect(e!.message, f).toMatch(re);
      expect(e!.message).not.toMatch(/\n/);
    }
    // and as a user sees two of them
    const runs = await Promise.all([cases[0][0], cases[2][0]].map((f) => cli('sample', '--model', faces, '--embedding', f, '--count', '2', '--npy', path.join(dir, 'never.npy'))));
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(/^sample: error: /);
      expect(r.stderr.trim()).toMatch(cases[i * 2][1]);
    });
    expect(existsSync(path.join(dir, 'never.npy'))).toBe(false);
  }, 300_000);

  it("fits the embedding onto the model's anchors.json as the app does: the same portraits as the fitted vector given as it is", async () => {
    const fitted = path.join(dir, 'faces-fit');
    await fs.cp(path.join(dir, 'faces'), fitted, { recursive: true });
    const anchors = new Float32Array(PEOPLE * D);
    for (let p = 0; p < PEOPLE; p++) anchors.set(unit(p), p * D);
    const file = encodeAnchors({ dim: D, count: PEOPLE, vectors: anchors, identities: [2, 5, 8, 11, 14, 17], fit: { k: 2, near: 0.1, far: 0.2 }, source: 'test', thumbs: null });
    await fs.writeFile(path.join(fitted, 'anchors.json'), JSON.stringify(file));
    const far = path.join(dir, 'far.json');
    await fs.writeFile(far, JSON.stringify(Array.from(unit(40, 2))));
    const parsed = parseAnchors(file, D);
    if (!parsed.ok) throw new Error(parsed.error);
    const want = fitCondition(parsed.value, unit(40, 2));
    const wantFile = path.join(dir, 'far-fitted.json');
    await fs.writeFile(wantFile, JSON.stringify(Array.from(want.vector)));
    const npy = (n: string) => path.join(dir, `${n}.npy`);
    const [a, b, c] = await Promise.all([
      cli('sample', '--model', fitted, '--embedding', far, '--count', '1', '--seed', '4', '--npy', npy('fit')),
      cli('sample', '--model', fitted, '--embedding', wantFile, '--count', '1', '--seed', '4', '--no-fit', '--npy', npy('given')),
      cli('sample', '--model', fitted, '--embedding', far, '--count', '1', '--seed', '4', '--no-fit', '--npy', npy('raw')),
    ]);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    expect(a.stderr).toContain(`embedding: ${want.summary}`);
    expect(want.summary).toMatch(/^drawn from the 2 cartoon people nearest this face/);
    expect(b.stderr + c.stderr).not.toMatch(/cartoon people/);
    const [fa, fb, fc] = await Promise.all(['fit', 'given', 'raw'].map((n) => fs.readFile(npy(n))));
    expect(fa.equals(fb)).toBe(true);
    expect(fa.equals(fc)).toBe(false);
  }, 300_000);
});
