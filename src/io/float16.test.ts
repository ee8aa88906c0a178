import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { float16ToFloat32, float32ToFloat16, fromHalfBits, toHalfBits } from './float16';

describe('float16 conversion', () => {
  it('encodes known values to their IEEE half bit patterns', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite half
      [65520, 0x7c00], // halfway to the next step rounds to even: Infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // exactly half of it: ties to even (zero)
      [1.5 * 2 ** -25, 0x0001],
      [2 ** -14, 0x0400], // smallest normal
      [1 / 3, 0x3555],
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9: even
    ];
    for (const [v, bits] of cases) expect(toHalfBits(v), `value ${v}`).toBe(bits);
    expect(toHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(toHalfBits(NaN) & 0x3ff).not.toBe(0);
  });

  it('round-trips every one of the 65536 half bit patterns (NaNs stay NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = float16ToFloat32(all);
    const back = float32ToFloat16(f);
    for (let i = 0; i < 65536; i++) {
      const isNaN16 = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (isNaN16) expect(Number.isNaN(f[i])).toBe(true);
      else if (back[i] !== i) throw new Error(`bits ${i.toString(16)} -> ${f[i]} -> ${back[i].toString(16)}`);
    }
  });

  it('decodes exactly as tfjs own float16 weight decoder does', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const ours = float16ToFloat32(all);
    const decoded = tf.io.decodeWeights(all.buffer, [
      { name: 'w', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } },
    ]);
    const theirs = decoded.w.dataSync();
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(ours[i])) continue; // tfjs turns NaN payloads into different NaNs
      if (!Object.is(ours[i], theirs[i])) throw new Error(`bits ${i.toString(16)}: ours ${ours[i]}, tfjs ${theirs[i]}`);
    }
    decoded.w.dispose();
  });

  it('rounds random floats to the nearest representable half', () => {
    let s = 7;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const xs = new Float32Array(20000).map(() => (rand() - 0.5) * 2 ** (rand() * 40 - 26));
    const h = float32ToFloat16(xs);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const got = fromHalfBits(h[i]);
      // neighbours of the chosen half must not be strictly closer
      const up = fromHalfBits(h[i] + 1);
      const down = fromHalfBits((h[i] & 0x7fff) === 0 ? h[i] ^ 0x8000 : h[i] - 1);
      const err = Math.abs(got - x);
      expect(err <= Math.abs(up - x) && err <= Math.abs(down - x), `x=${x} got=${got}`).toBe(true);
    }
  });
});
