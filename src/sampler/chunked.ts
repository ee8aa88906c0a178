// A run sampled in chunks of images, each small enough for the kernel's memory: the
// sampler's memory grows with the batch (the CPU kernel's link rows, tfjs's row windows,
// a spatial code's maps), so a large --count goes through a chunk at a time. Every image
// draws from its own stream keyed by (seed, first + n) (uniforms.ts): the chunks give the
// bytes one batch would.
import type { PixelCNN } from '../model';
import { guidePlan } from './guidance';
import { samplePixels } from './index';
import { KernelCache } from './kernelCache';
import { chunks, shareOptions } from './split';
import type { SampleOptions } from './types';


/** Batch rows (images x guidance streams) a chunk holds at most: past a few hundred a batch runs no faster. */
export const CHUNK_ROWS = 512;

/** Images a chunk holds: CHUNK_ROWS over the streams each image runs (2 with a null condition's guidance, a class model's classes with the mixture). */
export function chunkImages(model: PixelCNN, opts: SampleOptions): number {
  const { height: H, width: Wd, channels: C } = model.config;
  const { S } = guidePlan(model, shareOptions(opts, H * Wd * C, { first: 0, count: 1 }));
  return Math.max(1, Math.floor(CHUNK_ROWS / S));
}

/**
 * Samples opts.count images a chunk at a time; `onProgress` sees the sub-pixels decided
 * so far, averaged over the images (0 .. H * W * C), as one batch's events count them.
 */
export async function sampleChunked(
  model: PixelCNN,
  opts: SampleOptions,
  onProgress?: (done: number) => void,
  { maxImages = chunkImages(model, opts) }: { maxImages?: number } = {},
): Promise<Uint8Array> {
  const { height: H, width: Wd, channels: C } = model.config;
  const size = H * Wd * C;
  const out = new Uint8Array(opts.count * size);
  const parts = chunks({ first: 0, count: opts.count }, maxImages);
  // the weights stay put through the call: the chunks share one packed kernel memory
  const kernelCache = opts.kernelCache ?? new KernelCache();
  let finished = 0; // images of the chunks done, times size
  for (const part of parts) {
    const it = samplePixels(model, { ...shareOptions(opts, size, part), kernelCache });
    for (;;) {
      const step = await it.next();
      if (step.done) {
        out.set(step.value, part.first * size);
        break;
      }
      const e = step.value;
      onProgress?.((finished + part.count * e.done) / opts.count);
    }
    finished += part.count * size;
  }
  if (kernelCache !== opts.kernelCache) kernelCache.clear();
  return out;
}
