// The anchors file a face model ships with: what encodeAnchors writes reads back within
// half a quantisation step, thumbnails come out of the atlas at their place, and each way
// a file can be wrong gives one line.
import { describe, expect, it } from 'vitest';
import { encode } from 'fast-png';
import { mulberry32 } from '../util/rng';
import { ANCHORS_FORMAT, anchorThumb, decodeAtlas, encodeAnchors, parseAnchors } from './anchorsFile';
import { fitCondition, describeFit } from './fitCondition';

const D = 8;
const N = 5;
const rand = mulberry32(3);
const vectors = Float32Array.from({ length: N * D }, () => rand() - 0.5);
const fit = { k: 2, near: 0.1, far: 0.3, base: 0 };
const T = 2; // thumbnail side
const COLS = 3;
const atlas = Uint8Array.from({ length: COLS * T * 2 * T * 3 }, (_, i) => i % 251);
const atlasPng = encode({ width: COLS * T, height: 2 * T, data: atlas, channels: 3, depth: 8 });
const file = (thumbs = true) => encodeAnchors({ dim: D, count: N, vectors, identities: [4, 8, 15, 16, 23], fit, source: 'test', thumbs: thumbs ? { file: 'anchors.png', size: T, cols: COLS } : null });

describe('anchors file', () => {
  it('reads back what it wrote: vectors within half a step, identities, fit options', () => {
    const f = file();
    const r = parseAnchors(JSON.parse(JSON.stringify(f)), D);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.count).toBe(N);
    expect(Array.from(r.value.identities)).toEqual([4, 8, 15, 16, 23]);
    expect(r.value.fit).toEqual(fit);
    const step = f.step as number[];
    for (let i = 0; i < N * D; i++) expect(Math.abs(r.value.vectors[i] - vectors[i])).toBeLessThanOrEqual(step[i % D] / 2 + 1e-7);
  });

  it("cuts anchor i's thumbnail out of the atlas (row-major, COLS to a row)", () => {
    const r = parseAnchors(file(), D);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.thumbs).toEqual({ file: 'anchors.png', size: T, cols: COLS });
    const a = decodeAtlas(r.value, atlasPng);
    if (!a.ok) throw new Error(a.error);
    const t = anchorThumb(a.value, N, 4)!; // column 1, row 1
    const want: number[] = [];
    for (let y = 0; y < T; y++) for (let x = 0; x < T; x++) for (let c = 0; c < 3; c++) want.push(atlas[((T + y) * COLS * T + T + x) * 3 + c]);
    expect(Array.from(t)).toEqual(want);
    expect(anchorThumb(a.value, N, N)).toBeNull();
    const bare = parseAnchors(file(false), D);
    expect(bare.ok && bare.value.thumbs === null).toBe(true);
  });

  it('refuses an atlas that is not a PNG, or of another geometry, in one line', () => {
    const r = parseAnchors(file(), D);
    if (!r.ok) throw new Error(r.error);
    expect(decodeAtlas(r.value, new Uint8Array([1, 2, 3]))).toEqual({ ok: false, error: 'anchors.png: not a PNG' });
    const small = decodeAtlas(r.value, encode({ width: T, height: T, data: new Uint8Array(T * T * 3), channels: 3, depth: 8 }));
    expect(small.ok === false && small.error).toBe('anchors.png: expected an 8-bit RGB atlas of 3 x 2 thumbnails of 2 px');
  });

  const cases: [string, (f: Record<string, unknown>) => unknown, RegExp][] = [
    ['an array', () => [], /not a JSON object/],
    ['another format', (f) => ({ ...f, format: 'x' }), /format "x", expected face-anchors\/1/],
    ['another dim', (f) => ({ ...f, dim: 7 }), /descriptors of 7 numbers, the model takes 8/],
    ['no anchors', (f) => ({ ...f, count: 0 }), /count 0 is not an integer >= 1/],
    ['bad fit', (f) => ({ ...f, fit: { k: 2, near: 0.5, far: 0.1 } }), /fit: expected/],
    ['short identities', (f) => ({ ...f, identities: [1] }), /identities: expected 5 integers/],
    ['a step not finite', (f) => ({ ...f, step: [...(f.step as number[]).slice(1), null] }), /step: expected 8 finite numbers/],
    ['short vectors', (f) => ({ ...f, vectors: btoa('abc') }), /vectors: expected base64 of 40 bytes/],
    ['broken base64', (f) => ({ ...f, vectors: '@@@' }), /vectors: expected base64/],
    ['an atlas outside its folder', (f) => ({ ...f, thumbs: { file: '../x.png', size: T, cols: COLS } }), /thumbs: expected \{file: NAME\.png/],
    ['an atlas of no size', (f) => ({ ...f, thumbs: { file: 'a.png', size: 0, cols: COLS } }), /thumbs: expected/],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what} in one line`, () => {
      const r = parseAnchors(change(file()), D);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toMatch(/^anchors\.json: /);
        expect(r.error).toMatch(message);
        expect(r.error).not.toMatch(/\n/);
      }
    });
  }
  it('has the format tag the app checks', () => expect(file().format).toBe(ANCHORS_FORMAT));
});

describe('fitCondition', () => {
  const r = parseAnchors(file(), D);
  if (!r.ok) throw new Error(r.error);
  const anchors = r.value;
  it("uses the file's own options and says what it did, truthfully", () => {
    const kept = fitCondition(anchors, anchors.vectors.slice(0, D));
    expect(kept.fit.blend).toBe(0);
    expect(Array.from(kept.vector)).toEqual(Array.from(anchors.vectors.slice(0, D)));
    expect(kept.summary).toMatch(/^drawn from this face as it is/);
    const far = fitCondition(anchors, new Float32Array(D).fill(2));
    expect(far.fit.blend).toBe(1);
    expect(far.fit.neighbours).toHaveLength(2);
    expect(far.summary).toMatch(/^drawn from the 2 cartoon people nearest this face/);
    const mid = { ...far.fit, blend: 0.25 };
    expect(describeFit(mid, anchors)).toMatch(/^drawn 25% from the 2 cartoon people nearest this face, 75% from this face/);
  });
});
