// The examples file a face model ships with: what parseFaceExamples accepts and the one
// line it gives for each way a file can be wrong.
import { describe, expect, it } from 'vitest';
import { encode } from 'fast-png';
import { EXAMPLES_FORMAT, decodePngDataUrl, parseFaceExamples, pngDataUrl } from './examples';

const SIZE = 4;
const DIM = 5;
const rgb = Uint8Array.from({ length: SIZE * SIZE * 3 }, (_, i) => (i * 37) % 256);
const png = (w = SIZE, h = SIZE, channels = 3) => pngDataUrl(encode({ width: w, height: h, data: new Uint8Array(w * h * channels).fill(9), channels, depth: 8 }));
const good = () => ({
  format: EXAMPLES_FORMAT,
  size: SIZE,
  dim: DIM,
  examples: [
    { identity: 3, variant: 0, png: pngDataUrl(encode({ width: SIZE, height: SIZE, data: rgb, channels: 3, depth: 8 })), descriptor: [0.5, -1, 2, 0, 1e-7] },
    { identity: 9, variant: 1, png: png(), descriptor: [1, 1, 1, 1, 1] },
  ],
});

describe('parseFaceExamples', () => {
  it('reads a good file: identities, thumbnails and float32 descriptors', () => {
    const r = parseFaceExamples(good(), SIZE, DIM);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.examples.map((e) => e.identity)).toEqual([3, 9]);
    expect(Array.from(r.value.examples[0].descriptor)).toEqual(Array.from(Float32Array.from([0.5, -1, 2, 0, 1e-7])));
    const px = decodePngDataUrl(r.value.examples[0].png, SIZE);
    expect(px.ok && Array.from(px.rgb)).toEqual(Array.from(rgb));
  });

  it('takes RGBA thumbnails too, dropping alpha', () => {
    const rgba = new Uint8Array(SIZE * SIZE * 4).map((_, i) => (i % 4 === 3 ? 255 : i));
    const r = decodePngDataUrl(pngDataUrl(encode({ width: SIZE, height: SIZE, data: rgba, channels: 4, depth: 8 })), SIZE);
    if (!r.ok) throw new Error(r.error);
    expect(r.rgb[3]).toBe(4); // pixel 1's red
  });

  const cases: [string, (f: ReturnType<typeof good>) => unknown, RegExp][] = [
    ['not an object', () => [1, 2], /not a JSON object/],
    ['null', () => null, /not a JSON object/],
    ['wrong format', (f) => ({ ...f, format: 'x' }), /format "x", expected face-examples\/1/],
    ['no format', (f) => ({ ...f, format: undefined }), /format missing/],
    ['other size', (f) => ({ ...f, size: 28 }), /thumbnails of 28 px, the model draws 4x4/],
    ['other dim', (f) => ({ ...f, dim: 64 }), /descriptors of 64 numbers, the model takes 5/],
    ['no examples', (f) => ({ ...f, examples: [] }), /no examples/],
    ['examples not an array', (f) => ({ ...f, examples: {} }), /no examples/],
    ['example not an object', (f) => ({ ...f, examples: [f.examples[0], 7] }), /example 1: not an object/],
    ['negative identity', (f) => ({ ...f, examples: [{ ...f.examples[0], identity: -1 }] }), /example 0: identity -1 is not an integer/],
    ['fractional variant', (f) => ({ ...f, examples: [{ ...f.examples[0], variant: 0.5 }] }), /example 0: variant 0.5/],
    ['png not a data URL', (f) => ({ ...f, examples: [{ ...f.examples[0], png: 'http://x/y.png' }] }), /example 0: png: not a data:image\/png;base64/],
    ['png broken base64', (f) => ({ ...f, examples: [{ ...f.examples[0], png: 'data:image/png;base64,!!!' }] }), /png: broken base64/],
    ['png not a PNG', (f) => ({ ...f, examples: [{ ...f.examples[0], png: 'data:image/png;base64,' + btoa('hello world') }] }), /png: not a PNG/],
    ['png of another size', (f) => ({ ...f, examples: [{ ...f.examples[0], png: png(3, 4) }] }), /png: 3x4, expected 4x4/],
    ['grey png', (f) => ({ ...f, examples: [{ ...f.examples[0], png: png(SIZE, SIZE, 1) }] }), /png: 1 channels of 8 bits/],
    ['short descriptor', (f) => ({ ...f, examples: [{ ...f.examples[0], descriptor: [1, 2] }] }), /example 0: descriptor is not an array of 5 numbers/],
    ['descriptor with a string', (f) => ({ ...f, examples: [{ ...f.examples[0], descriptor: [1, 2, '3', 4, 5] }] }), /descriptor element 2 is not a finite number/],
    ['descriptor with null (NaN in JSON)', (f) => ({ ...f, examples: [{ ...f.examples[0], descriptor: [1, 2, 3, null, 5] }] }), /descriptor element 3/],
    ['descriptor beyond float32', (f) => ({ ...f, examples: [{ ...f.examples[0], descriptor: [1, 2, 3, 4, 1e39] }] }), /descriptor element 4/],
  ];
  for (const [name, mutate, message] of cases) {
    it(`refuses ${name} in one line`, () => {
      const r = parseFaceExamples(mutate(good()), SIZE, DIM);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toMatch(message);
      expect(r.error).toMatch(/^examples\.json: /);
      expect(r.error).not.toMatch(/\n/);
    });
  }
});
