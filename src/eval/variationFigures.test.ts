import { describe, expect, it } from 'vitest';
import { distance, greyBandShare, variationFigures } from './variationFigures';

// 2-pixel images make every distance a hand calculation
const img = (...px: number[]) => Uint8Array.from(px);

describe('variationFigures', () => {
  it('distance is L2 on pixels scaled to 0..1', () => {
    expect(distance(img(0, 0, 255, 255), 0, img(255, 255), 0, 2)).toBeCloseTo(Math.SQRT2, 12);
    expect(distance(img(0, 0, 255, 255), 1, img(255, 255), 0, 2)).toBe(0);
  });

  it('copies of their sources: ratio 0, each nearest its own source', () => {
    // sources 0 and 1 of class 7, 2 of class 1; two variations each, exact copies
    const sources = img(0, 0, 255, 0, 0, 255);
    const variations = img(0, 0, 0, 0, 255, 0, 255, 0, 0, 255, 0, 255);
    const f = variationFigures(sources, [7, 7, 1], variations, 2, 2);
    expect(f.distanceToSource).toBe(0);
    expect(f.sameClassDistance).toBeCloseTo(1, 12); // the one pair of 7s: (0,0)-(1,0)
    expect(f.ratio).toBe(0);
    expect(f.nearerOwnSource).toBe(1);
    expect(f.comparedVariations).toBe(4); // source 2 has no other of its class
  });

  it('variations drawn towards another source of the class count as not nearer their own', () => {
    const sources = img(0, 0, 255, 0); // two 3s at distance 1
    // source 0's variations: one at (0.2, 0) (nearer own), one at (0.8, 0) (nearer the other); source 1's: its copy, and (0.2, 0)
    const variations = img(51, 0, 204, 0, 255, 0, 51, 0);
    const f = variationFigures(sources, [3, 3], variations, 2, 2);
    expect(f.distanceToSource).toBeCloseTo((0.2 + 0.8 + 0 + 0.8) / 4, 6);
    expect(f.sameClassDistance).toBeCloseTo(1, 12);
    expect(f.nearerOwnSource).toBe(2 / 4);
    expect(() => variationFigures(sources, [3, 3], variations.subarray(2), 2, 2)).toThrow(/expected 2 sources and 4 variations/);
  });

  it('grey band: the share of pixels from 0.1 to 0.9 of full scale', () => {
    expect(greyBandShare(img(0, 25, 26, 128, 229, 230, 255, 255))).toBe(3 / 8); // 26, 128, 229
  });
});
