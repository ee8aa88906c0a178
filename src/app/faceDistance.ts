// How close a portrait came to the face it was drawn from: the Euclidean distance between
// face descriptors, as build-faces and eval-faces measure it (dlib's rule of thumb: the
// same person below ~0.6; re-renders of one cartoon person lie ~0.3 apart, different
// people ~0.47).

/** Euclidean distance between two descriptors of the same length. */
export function descriptorDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`descriptorDistance: lengths ${a.length} and ${b.length} differ`);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** The distance of each of `count` descriptors in a [count, dim] array to `condition`. */
export function distancesTo(condition: Float32Array, descriptors: Float32Array, count: number): number[] {
  const dim = condition.length;
  if (descriptors.length !== count * dim) throw new Error(`distancesTo: ${count} descriptors of ${dim} need ${count * dim} numbers, got ${descriptors.length}`);
  return Array.from({ length: count }, (_, i) => descriptorDistance(condition, descriptors.subarray(i * dim, (i + 1) * dim)));
}

/** A model's levels 0..K-1 as 0..255 pixels (what the descriptor net reads); 8-bit levels as they are. */
export function levelsTo8bit(levels: Uint8Array, K: number): Uint8Array {
  return K === 256 ? levels.slice() : levels.map((v) => Math.round((v * 255) / (K - 1)));
}
