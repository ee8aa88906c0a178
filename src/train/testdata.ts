// Small synthetic image sets for the training tests: class c draws a bright bar in row c
// (mod height) over faint seeded noise, so a tiny model can learn it in a few steps.
import type { ImageSet } from '../data/mnist.ts';
import { Rng } from '../util/rng.ts';

export function barImages(count: number, height: number, width: number, seed: number): ImageSet {
  const rng = Rng.fromKeys(seed, 7);
  const images = new Uint8Array(count * height * width);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const c = rng.int(10);
    labels[n] = c;
    const row = c % height;
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        images[(n * height + i) * width + j] = i === row ? 200 + rng.int(56) : rng.int(40);
      }
    }
  }
  return { images, labels, count, height, width, channels: 1 };
}
