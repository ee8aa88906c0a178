// The random numbers a run draws with. Each image has its own mulberry32 stream, keyed by
// (seed, image index), taking one uniform per drawn sub-pixel in raster order. So an image
// depends only on the seed, its index and its own condition: any split of a batch across
// threads or chunks, and every sampler (naive, cached, cpu, fused on the GPU), draws the
// same bytes.
import { mulberry32 } from '../util/rng';

/** The stream's seed for image n of a run seeded with `seed` (a splitmix32 finaliser of both keys). */
export function imageSeed(seed: number, n: number): number {
  let z = (Math.imul((seed >>> 0) ^ 0x2545f491, 0x9e3779b1) + Math.imul(n + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Image n's stream: one uniform in [0, 1) per drawn sub-pixel; `skip`: from its skip-th on (a split run's thread taking the image up at a row: rowBoard.ts). */
export function imageStream(seed: number, n: number, skip = 0): () => number {
  return mulberry32(imageSeed(seed, n), skip);
}

/** One stream per image of images first .. first+count-1 (a thread's or a chunk's share of a run). */
export function runStreams(seed: number, count: number, first = 0): (() => number)[] {
  return Array.from({ length: count }, (_, i) => imageStream(seed, first + i));
}

/**
 * The whole run's uniforms at once, for a sampler that draws on the GPU: [steps, count],
 * row k holding each image's uniform for its k-th drawn sub-pixel. float64, as the CPU
 * samplers draw with; a GPU kernel narrows them itself.
 */
export function runUniforms(seed: number, count: number, steps: number, first = 0): Float64Array {
  const streams = runStreams(seed, count, first);
  const u = new Float64Array(steps * count);
  for (let n = 0; n < count; n++) for (let k = 0; k < steps; k++) u[k * count + n] = streams[n]();
  return u;
}
