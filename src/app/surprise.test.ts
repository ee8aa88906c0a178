import { describe, expect, it } from 'vitest';
import { SURPRISE_MAX_BITS, bitsPerPixel, surpriseColour } from './surprise';

describe('surprise map', () => {
  it('bits per pixel: one row of the score, channels added, nats -> bits', () => {
    // 2 rows (classes) x 3 pixels x 2 channels
    const logp = Float32Array.from([-1, -1, -2, 0, 0, -Math.LN2, -9, -9, -9, -9, -9, -9]);
    const row0 = bitsPerPixel(logp, 0, 3, 2);
    expect(row0[0]).toBeCloseTo(2 / Math.LN2, 5);
    expect(row0[1]).toBeCloseTo(2 / Math.LN2, 5);
    expect(row0[2]).toBeCloseTo(1, 5);
    expect(bitsPerPixel(logp, 1, 3, 2)[2]).toBeCloseTo(18 / Math.LN2, 4);
  });

  it('colours run from black (no surprise) to pale yellow, brighter with more bits, clipped', () => {
    const lum = (b: number) => surpriseColour(b).reduce((s, v) => s + v, 0);
    expect(surpriseColour(0)).toEqual([0, 0, 4]);
    expect(surpriseColour(SURPRISE_MAX_BITS)).toEqual([252, 255, 164]);
    expect(surpriseColour(100)).toEqual(surpriseColour(SURPRISE_MAX_BITS));
    expect(surpriseColour(-1)).toEqual(surpriseColour(0));
    for (let b = 0.5; b <= SURPRISE_MAX_BITS; b += 0.5) expect(lum(b)).toBeGreaterThan(lum(b - 0.5));
  });
});
