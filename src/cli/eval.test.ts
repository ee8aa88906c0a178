import { describe, expect, it } from 'vitest';
import { quantize } from './eval';

describe('eval input quantisation', () => {
  it('keeps 8-bit pixels for 256 levels and maps them evenly onto fewer levels', () => {
    const px = Uint8Array.of(0, 1, 127, 128, 200, 255);
    expect(Array.from(quantize(px, 256))).toEqual([0, 1, 127, 128, 200, 255]);
    expect(Array.from(quantize(px, 2))).toEqual([0, 0, 0, 1, 1, 1]); // binarised at 128
    expect(Array.from(quantize(px, 4))).toEqual([0, 0, 1, 2, 3, 3]);
  });
});
