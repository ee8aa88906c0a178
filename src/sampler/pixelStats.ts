// What the page shows of every drawn sub-pixel's distribution, computed where it is drawn
// (the sampling loop, on whichever thread samples the image: SampleOptions.stats) so a batch
// message to the page stays small: each image's entropy (bits) and three likeliest levels;
// the whole distribution goes only for the image the page watches. No tfjs: plain loops over K floats.

/** Levels named per sub-pixel and image in a PixelBatch's `top` / `topP`. */
export const TOP = 3;

/** One sub-pixel's figures for `count` images: entropy [count], top and topP [count * TOP]. */
export interface PixelStats {
  entropy: Float32Array;
  top: Uint16Array;
  topP: Float32Array;
}

/** The running top three of writeStats, reused: two arrays made per image and sub-pixel were garbage a split run's threads collected by the thousand a run. */
const best = new Int32Array(TOP);
const bestP = new Float64Array(TOP);

/** The figures of one sub-pixel's distributions `probs` [count * K]. */
export function pixelStats(probs: Float32Array, count: number, K: number): PixelStats {
  const s = { entropy: new Float32Array(count), top: new Uint16Array(count * TOP), topP: new Float32Array(count * TOP) };
  writeStats(probs, count, K, 0, s.entropy, s.top, s.topP);
  return s;
}

/**
 * Writes image i's entropy in bits and its TOP likeliest levels (likeliest first, ties to the
 * lower level) for one sub-pixel's distributions `probs` [count * K] at slot `slot`
 * (= k * count + i) of the batch's arrays.
 */
export function writeStats(probs: Float32Array, count: number, K: number, slot0: number, entropy: Float32Array, top: Uint16Array, topP: Float32Array): void {
  for (let i = 0; i < count; i++) {
    const o = i * K;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += probs[o + k];
    let h = 0;
    best.fill(-1);
    bestP.fill(-1);
    for (let k = 0; k < K; k++) {
      const p = sum > 0 ? probs[o + k] / sum : 0;
      if (p > 0) h -= p * Math.log2(p);
      // insert into the running top three
      for (let j = 0; j < TOP; j++) {
        if (p > bestP[j]) {
          for (let m = TOP - 1; m > j; m--) {
            bestP[m] = bestP[m - 1];
            best[m] = best[m - 1];
          }
          bestP[j] = p;
          best[j] = k;
          break;
        }
      }
    }
    const slot = slot0 + i;
    entropy[slot] = h;
    for (let j = 0; j < TOP; j++) {
      top[slot * TOP + j] = Math.max(0, best[j]);
      topP[slot * TOP + j] = Math.max(0, bestP[j]);
    }
  }
}
