// The colour-speckle figure: what counts (a saturated pixel far from its neighbourhood's
// median) and what does not (flat colour, clean edges, grey noise), against a plain
// re-statement of the rule on a random picture.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/rng';
import { speckleShares } from './speckle';

const S = 8;
const grey = () => new Uint8Array(S * S * 3).fill(200);
const put = (img: Uint8Array, x: number, y: number, rgb: [number, number, number]) => img.set(rgb, (y * S + x) * 3);

/** the rule as the issue states it, written out per pixel with arrays */
function reference(img: Uint8Array, size: number): number {
  let hits = 0;
  const at = (x: number, y: number) => {
    const cx = Math.min(size - 1, Math.max(0, x));
    const cy = Math.min(size - 1, Math.max(0, y));
    return [0, 1, 2].map((c) => img[(cy * size + cx) * 3 + c] / 255);
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = at(x, y);
      const win: number[][] = [];
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) win.push(at(x + dx, y + dy));
      const med = [0, 1, 2].map((c) => win.map((w) => w[c]).sort((a, b) => a - b)[4]);
      const saturated = Math.max(...p) - Math.min(...p) > 0.4;
      const far = Math.hypot(p[0] - med[0], p[1] - med[1], p[2] - med[2]) > 0.3;
      if (saturated && far) hits++;
    }
  }
  return hits / (size * size);
}

describe('speckleShares', () => {
  it('a flat grey picture and a flat saturated one have none', () => {
    const red = new Uint8Array(S * S * 3).map((_, i) => (i % 3 === 0 ? 255 : 0));
    expect(speckleShares(grey(), 1, S)).toEqual([0]);
    expect(speckleShares(red, 1, S)).toEqual([0]);
  });

  it('one saturated pixel on grey is 1 of 64; a saturated half (a clean edge) is none', () => {
    const dot = grey();
    put(dot, 3, 4, [255, 0, 255]);
    expect(speckleShares(dot, 1, S)).toEqual([1 / 64]);
    const half = grey();
    for (let y = 0; y < S; y++) for (let x = 0; x < S / 2; x++) put(half, x, y, [255, 0, 0]);
    expect(speckleShares(half, 1, S)).toEqual([0]);
  });

  it('a pixel far from its median but not saturated (dark grey on light) does not count', () => {
    const dot = grey();
    put(dot, 2, 2, [20, 20, 20]);
    expect(speckleShares(dot, 1, S)).toEqual([0]);
  });

  it('a corner pixel counts by its repeated border', () => {
    const dot = grey();
    put(dot, 0, 0, [0, 255, 0]);
    // its window holds itself 4 times (the repeated corner), the grey 5: the median is grey
    expect(speckleShares(dot, 1, S)).toEqual([1 / 64]);
  });

  it('matches the rule written out, image by image, on random colour noise and flat pictures', () => {
    const rand = mulberry32(5);
    const n = 3;
    const imgs = new Uint8Array(n * S * S * 3);
    for (let i = 0; i < S * S * 3; i++) imgs[i] = Math.floor(rand() * 256);
    for (let i = S * S * 3; i < 2 * S * S * 3; i++) imgs[i] = 128 + Math.floor(rand() * 40);
    imgs.set(grey(), 2 * S * S * 3);
    put(imgs.subarray(2 * S * S * 3), 5, 5, [250, 10, 10]);
    const got = speckleShares(imgs, n, S);
    const want = [0, 1, 2].map((k) => reference(imgs.subarray(k * S * S * 3, (k + 1) * S * S * 3), S));
    expect(got).toEqual(want);
    expect(got[0]).toBeGreaterThan(0.2); // noise is mostly speckle
    expect(got[1]).toBe(0);
  });

  it('refuses a buffer of the wrong length', () => {
    expect(() => speckleShares(new Uint8Array(10), 1, S)).toThrow(/need 192 bytes, got 10/);
  });
});
