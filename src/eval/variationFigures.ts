// How an auto-encoder's variations relate to their sources (issue 23): are they copies, or
// new digits that keep what the code kept? Pure arithmetic on 8-bit pixels (scaled to 0..1),
// shared by `npm run fidelity --variations` and its tests.

/** L2 distance between image i of `a` and image j of `b` (each `dims` pixels 0..255), pixels scaled to 0..1. */
export function distance(a: Uint8Array, i: number, b: Uint8Array, j: number, dims: number): number {
  let d = 0;
  for (let k = 0; k < dims; k++) {
    const e = (a[i * dims + k] - b[j * dims + k]) / 255;
    d += e * e;
  }
  return Math.sqrt(d);
}

export interface VariationFigures {
  /** mean distance of a variation to its own source */
  distanceToSource: number;
  /** mean distance between two different sources of the same class (real digits) */
  sameClassDistance: number;
  /** distanceToSource / sameClassDistance: 0 = copies; 1 = as far as another digit of the class */
  ratio: number;
  /** share of variations nearer their own source than every other source of its class */
  nearerOwnSource: number;
  /** variations that nearerOwnSource counts (their source has another of its class) */
  comparedVariations: number;
}

/**
 * sources [n, dims] with labels [n]; variations [n * k, dims], source i's at rows
 * i*k .. i*k+k-1 (as `sample --from-npy` writes them).
 */
export function variationFigures(sources: Uint8Array, labels: ArrayLike<number>, variations: Uint8Array, k: number, dims: number): VariationFigures {
  const n = labels.length;
  if (sources.length !== n * dims || variations.length !== n * k * dims) {
    throw new Error(`variationFigures: expected ${n} sources and ${n * k} variations of ${dims} pixels, got ${sources.length / dims} and ${variations.length / dims}`);
  }
  let toSource = 0;
  for (let v = 0; v < n * k; v++) toSource += distance(variations, v, sources, Math.floor(v / k), dims);
  let same = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (labels[i] !== labels[j]) continue;
      same += distance(sources, i, sources, j, dims);
      pairs++;
    }
  }
  let nearer = 0;
  let compared = 0;
  for (let v = 0; v < n * k; v++) {
    const own = Math.floor(v / k);
    const others = [];
    for (let j = 0; j < n; j++) if (j !== own && labels[j] === labels[own]) others.push(j);
    if (others.length === 0) continue;
    compared++;
    const d = distance(variations, v, sources, own, dims);
    if (others.every((j) => d < distance(variations, v, sources, j, dims))) nearer++;
  }
  const distanceToSource = toSource / (n * k);
  const sameClassDistance = pairs > 0 ? same / pairs : NaN;
  return {
    distanceToSource,
    sameClassDistance,
    ratio: distanceToSource / sameClassDistance,
    nearerOwnSource: compared > 0 ? nearer / compared : NaN,
    comparedVariations: compared,
  };
}

/** Share of pixels in the grey band 0.1 .. 0.9 (of 255): a blurry decoder fills it, MNIST's strokes mostly do not. */
export function greyBandShare(pixels: Uint8Array): number {
  let grey = 0;
  for (const v of pixels) if (v >= 0.1 * 255 && v <= 0.9 * 255) grey++;
  return pixels.length > 0 ? grey / pixels.length : NaN;
}
