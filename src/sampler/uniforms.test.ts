// Each image's stream (uniforms.ts): a thread that takes an image up at a row skips the
// draws made before it; the skipped stream must go on exactly as the whole one does.
import { describe, expect, it } from 'vitest';
import { imageSeed, imageStream, runStreams, runUniforms } from './uniforms';

describe('image streams', () => {
  it('a stream skipped k draws gives the whole stream\'s draws from the k-th on (k past 2^32 too)', () => {
    const whole = imageStream(7, 3);
    const draws = Array.from({ length: 3000 }, () => whole());
    for (const k of [0, 1, 28, 2999]) expect(imageStream(7, 3, k)(), `skip ${k}`).toBe(draws[k]);
    const skipped = imageStream(7, 3, 100);
    expect(Array.from({ length: 50 }, () => skipped())).toEqual(draws.slice(100, 150));
    // the state wraps at 2^32: skipping 2^32 draws is skipping none
    expect(imageStream(7, 3, 2 ** 32 + 5)()).toBe(draws[5]);
  });

  it('streams are keyed by seed and image: a share of a run draws the run\'s numbers', () => {
    expect(imageSeed(1, 0)).not.toBe(imageSeed(1, 1));
    expect(imageSeed(1, 0)).not.toBe(imageSeed(2, 0));
    const u = runUniforms(9, 4, 5);
    const share = runStreams(9, 2, 2);
    for (let k = 0; k < 5; k++) expect([share[0](), share[1]()]).toEqual([u[k * 4 + 2], u[k * 4 + 3]]);
  });
});
