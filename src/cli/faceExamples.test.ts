// npm run face-examples on a hand-written build-faces folder: the file holds the first N
// people of the split, each one's variant thumbnail and stored descriptor exactly, and
// reads back through the parser the app uses.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../io/npy';
import { encodeNpyInt32, FORMAT } from '../faces/dataset';
import { decodePngDataUrl, parseFaceExamples } from '../faces/examples';
import { anchorThumb, decodeAtlas, parseAnchors } from '../faces/anchorsFile';
import { runFaceExamples } from './faceExamples';

const D = 128;
const PX = 32 * 32 * 3;
const PEOPLE = 5;
const VARIANTS = 3;
let dir: string;
let images: Uint8Array;
let descriptors: Float32Array;

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; stdout: string }> {
  let stdout = '';
  const orig = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { value: await fn(), stdout };
  } finally {
    process.stdout.write = orig.out;
    process.stderr.write = orig.err;
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'face-examples-'));
  const at = path.join(dir, 'faces', 'test');
  await fs.mkdir(at, { recursive: true });
  const n = PEOPLE * VARIANTS;
  images = Uint8Array.from({ length: n * PX }, (_, i) => (i * 7 + (i >> 10)) % 256);
  descriptors = Float32Array.from({ length: n * D }, (_, i) => Math.sin(i) / 3);
  await fs.writeFile(path.join(at, 'images.npy'), encodeNpy(images, [n, 32, 32, 3]));
  await fs.writeFile(path.join(at, 'descriptors.npy'), encodeNpy(descriptors, [n, D]));
  await fs.writeFile(path.join(at, 'identities.npy'), encodeNpyInt32(Int32Array.from({ length: n }, (_, i) => 10 + 2 * Math.floor(i / VARIANTS)), [n]));
  await fs.writeFile(path.join(at, 'faces.json'), '[]\n');
  await fs.writeFile(path.join(at, 'meta.json'), JSON.stringify({ format: FORMAT, seed: 4, variants: VARIANTS, split: 'test' }));
  // the same people as a train split, for --anchors
  const tr = path.join(dir, 'faces', 'train');
  await fs.mkdir(tr);
  for (const f of ['images.npy', 'descriptors.npy', 'identities.npy', 'faces.json']) await fs.copyFile(path.join(at, f), path.join(tr, f));
  await fs.writeFile(path.join(tr, 'meta.json'), JSON.stringify({ format: FORMAT, seed: 4, variants: VARIANTS, split: 'train' }));
  await fs.writeFile(path.join(dir, 'faces', 'meta.json'), JSON.stringify({ format: FORMAT, seed: 4, variants: VARIANTS, split: { rule: 'by identity' } }));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('face-examples', () => {
  it("writes the first N people's thumbnails and exact descriptors, readable by the app's parser", async () => {
    const out = path.join(dir, 'examples.json');
    const { stdout } = await quiet(() => runFaceExamples(['--faces', path.join(dir, 'faces'), '--out', out, '--count', '3', '--variant', '1']));
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ count: 3, variant: 1, identities: [10, 12, 14] });
    const parsed = parseFaceExamples(JSON.parse(await fs.readFile(out, 'utf8')), 32, D);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.examples).toHaveLength(3);
    parsed.value.examples.forEach((e, p) => {
      const row = p * VARIANTS + 1;
      expect(e.identity).toBe(10 + 2 * p);
      expect(e.variant).toBe(1);
      expect(Array.from(e.descriptor)).toEqual(Array.from(descriptors.subarray(row * D, (row + 1) * D)));
      const px = decodePngDataUrl(e.png, 32);
      expect(px.ok && Array.from(px.rgb)).toEqual(Array.from(images.subarray(row * PX, (row + 1) * PX)));
    });
    // a few KB per example
    expect((await fs.stat(out)).size / 3).toBeLessThan(8000);
  });

  it('--anchors writes one descriptor per train person (8 bits a number) and their 16 px thumbnails beside it', async () => {
    const out = path.join(dir, 'ex2.json');
    const anchorsOut = path.join(dir, 'anchors.json');
    const { stdout } = await quiet(() => runFaceExamples(['--faces', path.join(dir, 'faces'), '--out', out, '--count', '2', '--anchors', anchorsOut, '--fit-k', '3', '--fit-near', '0.2', '--fit-far', '0.25']));
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!).anchors).toMatchObject({ out: anchorsOut, count: PEOPLE });
    const r = parseAnchors(JSON.parse(await fs.readFile(anchorsOut, 'utf8')), D);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.fit).toEqual({ k: 3, near: 0.2, far: 0.25, base: 0.5 });
    expect(Array.from(r.value.identities)).toEqual([10, 12, 14, 16, 18]);
    for (let p = 0; p < PEOPLE; p++) {
      for (let j = 0; j < D; j++) expect(Math.abs(r.value.vectors[p * D + j] - descriptors[p * VARIANTS * D + j])).toBeLessThan(0.7 / 255 / 2 + 1e-6); // sin / 3 spans < 0.7
    }
    const atlas = decodeAtlas(r.value, new Uint8Array(await fs.readFile(path.join(dir, 'anchors.png'))));
    if (!atlas.ok) throw new Error(atlas.error);
    // person 2's thumbnail: the 2x2 mean of its variant-0 image, on 16 levels
    const t = anchorThumb(atlas.value, PEOPLE, 2)!;
    const img = images.subarray(2 * VARIANTS * PX, (2 * VARIANTS + 1) * PX);
    for (const [x, y, c] of [[0, 0, 0], [5, 9, 1], [15, 15, 2]]) {
      const mean = [0, 1].flatMap((dy) => [0, 1].map((dx) => img[((2 * y + dy) * 32 + 2 * x + dx) * 3 + c])).reduce((a, b) => a + b, 0) / 4;
      expect(t[(y * 16 + x) * 3 + c]).toBe(Math.round(Math.round(mean / 17) * 17));
    }
  });

  it('refuses more people than the split holds, a variant it lacks, and a non-.json output', async () => {
    const faces = path.join(dir, 'faces');
    const out = path.join(dir, 'x.json');
    await expect(quiet(() => runFaceExamples(['--faces', faces, '--out', out, '--count', '6']))).rejects.toThrow(/--count: 6 people asked for, .* holds 5/);
    await expect(quiet(() => runFaceExamples(['--faces', faces, '--out', out, '--variant', '3']))).rejects.toThrow(/--variant: .* has 3 variants per person/);
    await expect(quiet(() => runFaceExamples(['--faces', faces, '--out', path.join(dir, 'x.txt')]))).rejects.toThrow(/should end in \.json/);
    await expect(quiet(() => runFaceExamples(['--faces', path.join(dir, 'nope'), '--out', out]))).rejects.toThrow(/no meta\.json|not a finished/);
    await expect(quiet(() => runFaceExamples(['--faces', faces, '--out', out, '--anchors', path.join(dir, 'a.txt')]))).rejects.toThrow(/--anchors: .* should end in \.json/);
    await expect(quiet(() => runFaceExamples(['--faces', faces, '--out', out, '--anchors', path.join(dir, 'a.json'), '--fit-near', '0.5', '--fit-far', '0.1']))).rejects.toThrow(/--fit-far: 0.1 is below --fit-near 0.5/);
    await expect(fs.stat(out)).rejects.toThrow();
  });
});
