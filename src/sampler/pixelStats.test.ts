import { describe, expect, it } from 'vitest';
import { TOP, writeStats } from './pixelStats';

describe('pixel stats', () => {
  it("give each image's entropy in bits and its three likeliest levels, likeliest first", () => {
    const K = 4;
    // image 0 uniform (2 bits), image 1 certain of level 2 (0 bits), image 2 (0.1, 0.6, 0, 0.3)
    const probs = Float32Array.from([0.25, 0.25, 0.25, 0.25, 0, 0, 1, 0, 0.1, 0.6, 0, 0.3]);
    const entropy = new Float32Array(6).fill(-1);
    const top = new Uint16Array(6 * TOP);
    const topP = new Float32Array(6 * TOP);
    writeStats(probs, 3, K, 3, entropy, top, topP); // the batch's second sub-pixel (slots 3..5)
    expect(Array.from(entropy)).toEqual([-1, -1, -1, 2, 0, expect.closeTo(-(0.1 * Math.log2(0.1) + 0.6 * Math.log2(0.6) + 0.3 * Math.log2(0.3)), 5)]);
    expect(Array.from(top.subarray(3 * TOP))).toEqual([0, 1, 2, 2, 0, 1, 1, 3, 0]);
    expect(Array.from(topP.subarray(5 * TOP))).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.3, 6), expect.closeTo(0.1, 6)]);
  });
});
