// Where a face descriptor lies against the descriptors a face model learnt from, and how to
// bring one from outside (a real photo's) onto them before drawing (issue 25). The model
// only saw cartoon descriptors; a real face's lies further from all of them than a new
// cartoon person's does, and the model answers it with colour noise. Fitting replaces the
// descriptor by a weighted mean of its k nearest training descriptors ("anchors"), blended
// in by how far out it is: a descriptor as near the data as the test split's keeps most of
// itself (all of it at base 0), one far out is drawn from its nearest cartoon people.
// Environment-free.

export interface Anchors {
  dim: number;
  count: number;
  /** float32 [count, dim] */
  vectors: Float32Array;
  /** the data set's identity number of each anchor */
  identities: ArrayLike<number>;
}

export interface Neighbour {
  /** row in the anchors */
  index: number;
  distance: number;
  /** its share of the fitted mean (the k weights sum to 1) */
  weight: number;
}

export interface FitOptions {
  /** anchors averaged */
  k: number;
  /** nearest-anchor distances up to `near` keep the descriptor as it is */
  near: number;
  /** from `far` on the descriptor is replaced by the mean; linear in between */
  far: number;
  /** the mean's share at and below `near` (0: kept as it is); the ramp runs from it to 1 */
  base?: number;
}

export interface Fit {
  /** the descriptor to draw from */
  vector: Float32Array;
  /** distance of the given descriptor to its nearest anchor */
  distance: number;
  /** how much of the vector is the anchors' mean: 0 = the descriptor itself, 1 = only the mean */
  blend: number;
  /** the k nearest anchors, nearest first */
  neighbours: Neighbour[];
}

function check(anchors: Anchors, q: ArrayLike<number>): void {
  if (q.length !== anchors.dim) throw new Error(`manifold: a descriptor of ${q.length} numbers, the anchors have ${anchors.dim}`);
  if (anchors.count < 1 || anchors.vectors.length !== anchors.count * anchors.dim) throw new Error(`manifold: ${anchors.count} anchors of ${anchors.dim} need ${anchors.count * anchors.dim} numbers, got ${anchors.vectors.length}`);
}

/** The `k` anchors nearest to `q` (Euclidean), nearest first; weights 0. */
export function nearestAnchors(anchors: Anchors, q: ArrayLike<number>, k: number): Neighbour[] {
  check(anchors, q);
  const { dim, count, vectors } = anchors;
  const n = Math.min(k, count);
  // a sorted list of the best n: k is small (5), so insertion beats sorting all distances
  const best: Neighbour[] = [];
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let j = 0, o = i * dim; j < dim; j++) {
      const t = vectors[o + j] - q[j];
      s += t * t;
    }
    if (best.length === n && s >= best[n - 1].distance) continue;
    let at = best.length === n ? n - 1 : best.length;
    while (at > 0 && best[at - 1].distance > s) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = { index: i, distance: s, weight: 0 };
    if (best.length > n) best.length = n;
  }
  for (const b of best) b.distance = Math.sqrt(b.distance);
  return best;
}

/** Distance from `q` to its nearest anchor. */
export function distanceToData(anchors: Anchors, q: ArrayLike<number>): number {
  return nearestAnchors(anchors, q, 1)[0].distance;
}

/** The share of the anchors' mean for a nearest-anchor distance `d`: `base` up to `near`, 1 from `far`, linear between. */
export function blendFor(d: number, near: number, far: number, base = 0): number {
  if (d <= near) return base;
  if (d >= far) return 1;
  return base + ((1 - base) * (d - near)) / (far - near);
}

/**
 * Fits `q` onto the anchors: the inverse-distance weighted mean of its k nearest, blended
 * with `q` itself by blendFor(nearest distance). Throws one line on a wrong length or bad options.
 */
export function fitToData(anchors: Anchors, q: ArrayLike<number>, o: FitOptions): Fit {
  if (!Number.isInteger(o.k) || o.k < 1) throw new Error(`manifold: k must be an integer >= 1, got ${o.k}`);
  if (!(o.near >= 0) || !(o.far >= o.near)) throw new Error(`manifold: need 0 <= near <= far, got near ${o.near}, far ${o.far}`);
  const base = o.base ?? 0;
  if (!(base >= 0 && base <= 1)) throw new Error(`manifold: base must lie in 0..1, got ${o.base}`);
  const neighbours = nearestAnchors(anchors, q, o.k);
  // inverse distance: an anchor twice as near counts twice; an exact match takes it all
  const inv = neighbours.map((n) => 1 / Math.max(n.distance, 1e-6));
  const total = inv.reduce((s, x) => s + x, 0);
  neighbours.forEach((n, i) => (n.weight = inv[i] / total));
  const distance = neighbours[0].distance;
  const blend = o.far === o.near ? (distance > o.near ? 1 : base) : blendFor(distance, o.near, o.far, base);
  const { dim, vectors } = anchors;
  const vector = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    let m = 0;
    for (const n of neighbours) m += n.weight * vectors[n.index * dim + j];
    vector[j] = (1 - blend) * q[j] + blend * m;
  }
  return { vector, distance, blend, neighbours };
}
