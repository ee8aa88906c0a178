import { describe, expect, it } from 'vitest';
import { levelBins, quantize } from './eval';

describe('eval input quantisation', () => {
  it('keeps 8-bit pixels for 256 levels and maps them evenly onto fewer levels', () => {
    const px = Uint8Array.of(0, 1, 127, 128, 200, 255);
    expect(Array.from(quantize(px, 256))).toEqual([0, 1, 127, 128, 200, 255]);
    expect(Array.from(quantize(px, 2))).toEqual([0, 0, 0, 1, 1, 1]); // binarised at 128
    expect(Array.from(quantize(px, 4))).toEqual([0, 0, 1, 2, 3, 3]);
  });
});

describe('eval breakdown bins', () => {
  it('covers every level once: black, up to 8 grey ranges, white', () => {
    for (const K of [2, 3, 4, 16, 256]) {
      const bins = levelBins(K);
      const seen = new Array(K).fill(0);
      for (const { lo, hi } of bins) for (let k = lo; k <= hi; k++) seen[k]++;
      expect(seen.every((v) => v === 1), `K=${K}`).toBe(true);
      expect(bins.length).toBeLessThanOrEqual(10);
    }
    expect(levelBins(256).map((b) => `${b.lo}-${b.hi}`)).toEqual(['0-0', '1-32', '33-64', '65-96', '97-128', '129-160', '161-192', '193-224', '225-254', '255-255']);
  });
});
