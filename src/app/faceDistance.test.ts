import { describe, expect, it } from 'vitest';
import { descriptorDistance, distancesTo, levelsTo8bit } from './faceDistance';

describe('descriptor distances', () => {
  it('is the Euclidean distance, per portrait', () => {
    expect(descriptorDistance([0, 0, 0], [1, 2, 2])).toBe(3);
    expect(() => descriptorDistance([1], [1, 2])).toThrow(/lengths 1 and 2/);
    const cond = Float32Array.from([1, 0]);
    expect(distancesTo(cond, Float32Array.from([1, 0, 4, 3, 1, 1]), 3)).toEqual([0, Math.sqrt(18), 1]);
    expect(() => distancesTo(cond, new Float32Array(5), 3)).toThrow(/need 6 numbers, got 5/);
  });
  it('maps levels to 8-bit pixels', () => {
    expect(Array.from(levelsTo8bit(Uint8Array.from([0, 1, 3]), 4))).toEqual([0, 85, 255]);
    const eight = Uint8Array.from([0, 7, 255]);
    const out = levelsTo8bit(eight, 256);
    expect(Array.from(out)).toEqual([0, 7, 255]);
    expect(out).not.toBe(eight);
  });
});
