// build-faces on a handful of people: what the files hold, that a seed fixes them, that
// an interrupted build resumes to the same bytes, and that the descriptors tell people apart.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../io/npy';
import { buildFaces, type BuildSummary } from './build';
import { distanceStats } from './distanceStats';
import { splitIdentities, SPLITS } from './splits';
import { decodeNpyInt32, encodeNpyInt32, readFacesDir } from './dataset';
import { DESCRIPTOR_DIM, faceDescriptors } from './descriptor';
import { loadFaceRecognizer } from './faceapiNode';
import { personOf, variantOf } from './generate';
import { BACKGROUND, renderFace, SIZE } from './render';

let dir: string;
const FILES = ['images.npy', 'descriptors.npy', 'identities.npy', 'faces.json', 'meta.json'];
// a copy: decodeNpy views float32 data through .buffer, the whole pool for a small Node Buffer
const npy = async (f: string) => decodeNpy(new Uint8Array(await fs.readFile(f)));

/** identities.npy is int32, which io/npy.ts does not read: check the header, view the data. */
async function int32Npy(f: string): Promise<{ shape: number[]; data: Int32Array }> {
  const b = new Uint8Array(await fs.readFile(f));
  const headerLen = b[8] | (b[9] << 8);
  const header = new TextDecoder().decode(b.subarray(10, 10 + headerLen));
  expect(header).toMatch(/'descr': '<i4'/);
  const shape = [Number(/'shape': \((\d+),\)/.exec(header)![1])];
  return { shape, data: new Int32Array(b.slice(10 + headerLen).buffer) };
}

// drawn in the test's own thread (workers: 0); the CLI test runs worker threads
const opts = { identities: 3, variants: 2, seed: 11, workers: 0 };
let base: BuildSummary;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'faces-test-'));
  base = await buildFaces({ ...opts, out: path.join(dir, 'a') });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('people', () => {
  it('a seed fixes a person and their variants; variants keep what makes the person and change the rest', () => {
    expect(variantOf(5, 2, 1)).toEqual(variantOf(5, 2, 1));
    expect(variantOf(5, 2, 1)).not.toEqual(variantOf(6, 2, 1));
    let changed = 0;
    for (let id = 0; id < 10; id++) {
      const p = personOf(5, id);
      const [a, b] = [variantOf(5, id, 0, p), variantOf(5, id, 1, p)];
      for (const f of [a, b]) {
        for (const k of ['fatness', 'body', 'head', 'hair', 'hairBg', 'nose', 'ear', 'facialHair', 'eyeLine', 'smileLine', 'miscLine'] as const) expect(f[k]).toEqual(p.base[k]);
        expect(f.eye.id).toBe(p.base.eye.id);
        expect(f.eyebrow.id).toBe(p.base.eyebrow.id);
      }
      if (JSON.stringify([a.mouth, a.eye.angle, a.eyebrow.angle, a.teamColors]) !== JSON.stringify([b.mouth, b.eye.angle, b.eyebrow.angle, b.teamColors])) changed++;
    }
    expect(changed).toBe(10);
  });

  it('renders 32x32 RGB on the plain background with a face in the middle', () => {
    const img = renderFace(variantOf(1, 0, 0));
    expect(img.length).toBe(SIZE * SIZE * 3);
    const bg = [1, 3, 5].map((i) => parseInt(BACKGROUND.slice(i, i + 2), 16));
    expect(Array.from(img.subarray(0, 3))).toEqual(bg); // top-left corner
    const mid = ((SIZE / 2) * SIZE + SIZE / 2) * 3;
    expect(Array.from(img.subarray(mid, mid + 3))).not.toEqual(bg);
  });
});

describe('build-faces', () => {
  it('writes the layout: uint8 images, float32 descriptors, int32 identities, faces and meta, at the top and per split', async () => {
    const n = opts.identities * opts.variants;
    for (const sub of ['', ...SPLITS]) for (const f of FILES) expect(existsSync(path.join(dir, 'a', sub, f)), `${sub}/${f}`).toBe(true);
    expect(existsSync(path.join(dir, 'a', '.parts'))).toBe(false);
    const images = await npy(path.join(dir, 'a', 'images.npy'));
    expect([images.dtype, images.shape]).toEqual(['uint8', [n, 32, 32, 3]]);
    const desc = await npy(path.join(dir, 'a', 'descriptors.npy'));
    expect([desc.dtype, desc.shape]).toEqual(['float32', [n, DESCRIPTOR_DIM]]);
    expect((desc.data as Float32Array).every(Number.isFinite)).toBe(true);
    const ids = await int32Npy(path.join(dir, 'a', 'identities.npy'));
    expect(Array.from(ids.data)).toEqual([0, 0, 1, 1, 2, 2]);
    const faces = JSON.parse(await fs.readFile(path.join(dir, 'a', 'faces.json'), 'utf8'));
    expect(faces.map((f: { identity: number; variant: number }) => [f.identity, f.variant])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]]);
    expect(faces[3].face).toEqual(variantOf(opts.seed, 1, 1));
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'a', 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ seed: 11, identities: 3, variants: 2, images: 6, crop: { viewBox: '10 90 380 380' } });
    expect(meta.versions).toMatchObject({ facesjs: '5.0.3', '@vladmandic/face-api': '1.7.15', '@tensorflow/tfjs': '4.22.0' });
    expect(meta.split.rule).toMatch(/by identity/);
  });

  it('splits by identity: disjoint, covering every person, each split folder holding exactly its people\'s rows', async () => {
    const all = await npy(path.join(dir, 'a', 'images.npy'));
    const seen: number[] = [];
    for (const s of SPLITS) {
      const ids = await int32Npy(path.join(dir, 'a', s, 'identities.npy'));
      const images = await npy(path.join(dir, 'a', s, 'images.npy'));
      const people = [...new Set(ids.data)];
      expect(people.length).toBeGreaterThan(0);
      expect(images.shape).toEqual([people.length * opts.variants, 32, 32, 3]);
      seen.push(...people);
      ids.data.forEach((id, k) => {
        const v = k % opts.variants;
        const row = (id * opts.variants + v) * 3072;
        expect(Buffer.from(images.data.subarray(k * 3072, (k + 1) * 3072)).equals(Buffer.from(all.data.subarray(row, row + 3072)))).toBe(true);
      });
    }
    expect(seen.sort()).toEqual([0, 1, 2]);
    const big = splitIdentities(100, 4);
    expect([big.train.length, big.val.length, big.test.length]).toEqual([80, 10, 10]);
    expect(new Set([...big.train, ...big.val, ...big.test]).size).toBe(100);
    expect(splitIdentities(100, 5).test).not.toEqual(big.test);
  });

  it('stores what the shared descriptor function gives for the stored 32x32 images (one preprocessing for every caller)', async () => {
    const api = await loadFaceRecognizer();
    const images = (await npy(path.join(dir, 'a', 'images.npy'))).data as Uint8Array;
    const stored = (await npy(path.join(dir, 'a', 'descriptors.npy'))).data as Float32Array;
    const before = api.tf.memory().numTensors;
    const again = await faceDescriptors(api, images, 6, 32);
    expect(api.tf.memory().numTensors).toBe(before);
    let maxDiff = 0;
    again.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - stored[i]))));
    expect(maxDiff).toBeLessThan(1e-5);
    // one image alone (a batch of one) gives the same descriptor as in a batch
    const one = await faceDescriptors(api, images.subarray(3072, 6144), 1, 32);
    one.forEach((x, i) => expect(Math.abs(x - stored[128 + i])).toBeLessThan(1e-4));
  });

  it('descriptors: variants of one person lie closer than different people', () => {
    const d = base.distances;
    expect(d.samePairs).toBe(3);
    expect(d.differentPairs).toBe(12);
    expect(d.sameMedian!).toBeLessThan(d.differentMedian!);
    expect(d.reRenderTop1).toBeGreaterThan(1 / 3); // better than chance among 3 people
    // and the statistic itself can fail: shuffled identities break it
    const desc = new Float32Array(4 * 128);
    desc[0] = 1; desc[128 + 1] = 1; desc[256] = 1.1; desc[384 + 1] = 1.1; // images 0,2 alike and 1,3 alike
    expect(distanceStats(desc, Int32Array.from([0, 0, 1, 1])).sameMedian!).toBeGreaterThan(distanceStats(desc, Int32Array.from([0, 1, 0, 1])).sameMedian!);
    // re-render: each person's variant 0 nearest to the other person's variant 1
    const swapped = new Float32Array(4 * 128);
    swapped[0] = 1; swapped[128 + 1] = 1; swapped[256 + 1] = 1.1; swapped[384] = 1.1;
    expect(distanceStats(swapped, Int32Array.from([0, 0, 1, 1])).reRenderTop1).toBe(0);
    expect(distanceStats(swapped, Int32Array.from([0, 1, 1, 0])).reRenderTop1).toBe(1);
  });

  it('an interrupted build resumes to the same bytes as an uninterrupted one, and a seed gives the same data set every time', async () => {
    const stop = new AbortController();
    const b = path.join(dir, 'b');
    const interrupted = buildFaces({ ...opts, out: b, chunkIdentities: 1, signal: stop.signal, onProgress: (done) => done > 0 && stop.abort() });
    await expect(interrupted).rejects.toThrow(/interrupted/);
    expect((await fs.readdir(path.join(b, '.parts'))).sort()).toEqual(['chunk-000000.json', 'plan.json']);
    expect(existsSync(path.join(b, 'meta.json'))).toBe(false);
    const resumed = await buildFaces({ ...opts, out: b, chunkIdentities: 1 });
    expect([resumed.resumedChunks, resumed.builtChunks]).toEqual([1, 2]);
    const straight = path.join(dir, 'c');
    await buildFaces({ ...opts, out: straight, chunkIdentities: 1 });
    for (const sub of ['', ...SPLITS]) {
      for (const f of FILES) expect((await fs.readFile(path.join(b, sub, f))).equals(await fs.readFile(path.join(straight, sub, f))), `${sub}/${f}`).toBe(true);
    }
    // chunks of 8 (the default, build a) draw the same people and pictures
    for (const f of ['images.npy', 'faces.json', 'identities.npy']) expect((await fs.readFile(path.join(b, f))).equals(await fs.readFile(path.join(dir, 'a', f)))).toBe(true);
    // another seed, other people
    const other = await buildFaces({ ...opts, seed: 12, out: path.join(dir, 'd') });
    expect(other.images).toBe(6);
    expect((await fs.readFile(path.join(dir, 'd', 'images.npy'))).equals(await fs.readFile(path.join(dir, 'a', 'images.npy')))).toBe(false);
  });

  it('refuses a folder that holds something else: another finished build, an unfinished one with other flags, foreign files', async () => {
    await expect(buildFaces({ ...opts, variants: 3, out: path.join(dir, 'a') })).rejects.toThrow(/already holds a finished build \(--identities 3 --variants 2 --seed 11/);
    const again = await buildFaces({ ...opts, out: path.join(dir, 'a') });
    expect(again.alreadyBuilt).toBe(true);
    expect(again.distances).toEqual(base.distances);
    const e = path.join(dir, 'e');
    const stop = new AbortController();
    await expect(buildFaces({ ...opts, out: e, chunkIdentities: 1, signal: stop.signal, onProgress: (d) => d > 0 && stop.abort() })).rejects.toThrow(/interrupted/);
    await expect(buildFaces({ ...opts, seed: 3, out: e, chunkIdentities: 1 })).rejects.toThrow(/unfinished build with other settings \(--identities 3 --variants 2 --seed 11/);
    await fs.writeFile(path.join(e, '.parts', 'chunk-000000.json'), '{"index": 0');
    await expect(buildFaces({ ...opts, out: e, chunkIdentities: 1 })).rejects.toThrow(/chunk-000000.json: unreadable part/);
    const f = path.join(dir, 'f');
    await fs.mkdir(f);
    await fs.writeFile(path.join(f, 'x.txt'), 'x');
    await expect(buildFaces({ ...opts, out: f })).rejects.toThrow(/is not empty and holds no build-faces run/);
    await expect(buildFaces({ ...opts, identities: 2, out: path.join(dir, 'g') })).rejects.toThrow(/identities must be an integer >= 3/);
  });

  it('reads a folder back, checked; a missing file, mismatched rows or a NaN descriptor is a one-line error naming the file', async () => {
    const test = await readFacesDir(path.join(dir, 'a', 'test'));
    expect(test.count).toBe(opts.variants * (test.meta.splitIdentities as number[]).length);
    expect(new Set(test.identities).size).toBe(test.count / opts.variants);
    const h = path.join(dir, 'h');
    await fs.cp(path.join(dir, 'a', 'train'), h, { recursive: true });
    const good = await fs.readFile(path.join(h, 'descriptors.npy'));
    const desc = (await npy(path.join(h, 'descriptors.npy'))).data as Float32Array;
    await fs.writeFile(path.join(h, 'descriptors.npy'), encodeNpy(desc.subarray(128), [desc.length / 128 - 1, 128]));
    await expect(readFacesDir(h)).rejects.toThrow(/descriptors.npy holds \d+ rows, images.npy \d+ images/);
    const nan = Float32Array.from(desc);
    nan[128 + 5] = NaN;
    await fs.writeFile(path.join(h, 'descriptors.npy'), encodeNpy(nan, [desc.length / 128, 128]));
    await expect(readFacesDir(h)).rejects.toThrow(/descriptors.npy: row 1 element 5 is not a finite number/);
    await fs.writeFile(path.join(h, 'descriptors.npy'), good);
    await fs.writeFile(path.join(h, 'identities.npy'), encodeNpy(new Float32Array(2), [2]));
    await expect(readFacesDir(h)).rejects.toThrow(/identities.npy: npy: expected dtype int32/);
    await fs.rm(path.join(h, 'identities.npy'));
    await expect(readFacesDir(h)).rejects.toThrow(/no identities.npy/);
    await expect(readFacesDir(path.join(dir, 'nothing'))).rejects.toThrow(/no meta.json \(not a finished build-faces folder\)/);
  });

  it('int32 npy: numpy header with <i4 and the raw little-endian values', async () => {
    const bytes = encodeNpyInt32(Int32Array.from([-1, 7, 2 ** 31 - 1]), [3]);
    const f = path.join(dir, 'i.npy');
    await fs.writeFile(f, bytes);
    expect(Array.from((await int32Npy(f)).data)).toEqual([-1, 7, 2 ** 31 - 1]);
    expect(decodeNpyInt32(await fs.readFile(f))).toEqual({ shape: [3], data: Int32Array.from([-1, 7, 2 ** 31 - 1]) });
  });
});
