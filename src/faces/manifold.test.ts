// Distance to the data and fitting onto it: the nearest anchors against a full sort, the
// blend's three regimes (kept, mixed, replaced), the weights, and bad input.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/rng';
import { blendFor, distanceToData, fitToData, nearestAnchors, type Anchors } from './manifold';

const D = 6;
const rand = mulberry32(11);
const anchors: Anchors = (() => {
  const count = 40;
  const vectors = Float32Array.from({ length: count * D }, () => rand() * 2 - 1);
  return { dim: D, count, vectors, identities: Array.from({ length: count }, (_, i) => 100 + i) };
})();
const row = (i: number) => anchors.vectors.slice(i * D, (i + 1) * D);
const dist = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(...Array.from(a, (x, j) => x - b[j]));

describe('nearestAnchors', () => {
  it('gives the k nearest, nearest first, as a full sort of all distances does', () => {
    for (let t = 0; t < 20; t++) {
      const q = Array.from({ length: D }, () => rand() * 2 - 1);
      const all = Array.from({ length: anchors.count }, (_, i) => ({ index: i, distance: dist(row(i), q) })).sort((a, b) => a.distance - b.distance);
      const got = nearestAnchors(anchors, q, 5);
      expect(got.map((n) => n.index)).toEqual(all.slice(0, 5).map((n) => n.index));
      got.forEach((n, i) => expect(n.distance).toBeCloseTo(all[i].distance, 6));
      expect(distanceToData(anchors, q)).toBeCloseTo(all[0].distance, 6);
    }
  });

  it('an anchor itself is at distance 0; k above the count gives them all', () => {
    expect(nearestAnchors(anchors, row(7), 1)[0]).toMatchObject({ index: 7, distance: 0 });
    expect(nearestAnchors(anchors, row(7), 100)).toHaveLength(anchors.count);
  });

  it('refuses a descriptor of another length, in one line', () => {
    expect(() => nearestAnchors(anchors, [1, 2], 1)).toThrow(/^manifold: a descriptor of 2 numbers, the anchors have 6$/);
  });
});

describe('fitToData', () => {
  it('keeps a descriptor as near as `near` exactly, and still names its neighbours', () => {
    const q = Float32Array.from(row(3), (x) => x + 0.01);
    const f = fitToData(anchors, q, { k: 5, near: 0.1, far: 0.2 });
    expect(f.blend).toBe(0);
    expect(Array.from(f.vector)).toEqual(Array.from(q));
    expect(f.neighbours[0].index).toBe(3);
  });

  it('replaces one beyond `far` by the inverse-distance weighted mean of its k nearest', () => {
    const q = Array.from({ length: D }, () => 3); // outside the cube the anchors fill
    const f = fitToData(anchors, q, { k: 4, near: 0.5, far: 1 });
    expect(f.blend).toBe(1);
    const near = nearestAnchors(anchors, q, 4);
    const w = near.map((n) => 1 / n.distance);
    const sum = w.reduce((a, b) => a + b, 0);
    const mean = Array.from({ length: D }, (_, j) => near.reduce((s, n, i) => s + (w[i] / sum) * anchors.vectors[n.index * D + j], 0));
    Array.from(f.vector).forEach((x, j) => expect(x).toBeCloseTo(mean[j], 5));
    expect(f.neighbours.reduce((s, n) => s + n.weight, 0)).toBeCloseTo(1, 9);
    expect(f.neighbours[0].weight).toBeGreaterThanOrEqual(f.neighbours[3].weight);
    expect(f.distance).toBeCloseTo(near[0].distance, 6);
  });

  it('blends linearly between near and far', () => {
    expect(blendFor(0.3, 0.3, 0.5)).toBe(0);
    expect(blendFor(0.4, 0.3, 0.5)).toBeCloseTo(0.5, 12);
    expect(blendFor(0.6, 0.3, 0.5)).toBe(1);
    const q = Float32Array.from(row(0), (x, j) => (j === 0 ? x + 0.15 : x));
    const f = fitToData(anchors, q, { k: 1, near: 0.1, far: 0.2 });
    expect(f.blend).toBeCloseTo(0.5, 5);
    // half the query, half its one neighbour (row 0)
    expect(f.vector[0]).toBeCloseTo(row(0)[0] + 0.075, 5);
  });

  it('base: a near descriptor keeps 1 - base of itself; the ramp runs from base to 1', () => {
    expect(blendFor(0.2, 0.3, 0.5, 0.4)).toBe(0.4);
    expect(blendFor(0.4, 0.3, 0.5, 0.4)).toBeCloseTo(0.7, 12);
    expect(blendFor(0.5, 0.3, 0.5, 0.4)).toBe(1);
    const q = row(5);
    const f = fitToData(anchors, Float32Array.from(q, (x) => x + 0.001), { k: 3, near: 0.5, far: 1, base: 0.25 });
    expect(f.blend).toBe(0.25);
    const mean = Array.from({ length: D }, (_, j) => f.neighbours.reduce((s, n) => s + n.weight * anchors.vectors[n.index * D + j], 0));
    Array.from(f.vector).forEach((x, j) => expect(x).toBeCloseTo(0.75 * (q[j] + 0.001) + 0.25 * mean[j], 5));
    expect(() => fitToData(anchors, q, { k: 3, near: 0, far: 1, base: 2 })).toThrow(/base must lie in 0\.\.1/);
  });

  it('near = far is a hard threshold; an exact anchor fitted is itself', () => {
    const q = row(9);
    const f = fitToData(anchors, q, { k: 3, near: 0, far: 0 });
    expect(f.blend).toBe(0); // distance 0 is not beyond 0
    const g = fitToData(anchors, Float32Array.from(q, (x) => x + 1e-3), { k: 3, near: 0, far: 0 });
    expect(g.blend).toBe(1);
  });

  it('refuses bad options in one line', () => {
    expect(() => fitToData(anchors, row(0), { k: 0, near: 0, far: 1 })).toThrow(/k must be an integer >= 1/);
    expect(() => fitToData(anchors, row(0), { k: 2, near: 0.5, far: 0.2 })).toThrow(/need 0 <= near <= far/);
  });
});
