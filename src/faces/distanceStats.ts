// How well the descriptors tell build-faces' people apart: same-identity against
// different-identity distances, and whether a re-render is found among everyone.
import { Rng } from '../util/rng';
import { descriptorDistance } from './descriptor';

export interface DistanceStats {
  sameMedian: number | null;
  differentMedian: number | null;
  samePairs: number;
  differentPairs: number;
  /** mean over images of [mean distance to the other variants of its identity < mean distance to other identities' images] */
  closerToOwnShare: number | null;
  /**
   * re-render check: for each identity, is its variant 1 the nearest (of all identities'
   * variant 1) to its variant 0? Share of identities; chance is 1/identities. Null with one variant.
   */
  reRenderTop1: number | null;
}

const median = (a: number[]) => {
  if (a.length === 0) return null;
  const s = Float64Array.from(a).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Same-identity vs different-identity descriptor distances. Every same pair counts; of the
 * different pairs at most maxPairs, drawn with a fixed generator (all when there are fewer).
 */
export function distanceStats(descriptors: Float32Array, identities: Int32Array, maxPairs = 20000): DistanceStats {
  const n = identities.length;
  const same: number[] = [];
  const byId = new Map<number, number[]>();
  identities.forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), i]));
  for (const members of byId.values()) {
    for (let a = 0; a < members.length; a++) for (let b = a + 1; b < members.length; b++) same.push(descriptorDistance(descriptors, members[a], members[b]));
  }
  const different: number[] = [];
  const allDifferent = (n * (n - 1)) / 2 - same.length;
  if (allDifferent <= maxPairs) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (identities[i] !== identities[j]) different.push(descriptorDistance(descriptors, i, j));
  } else {
    const rng = Rng.fromKeys(0x5eed);
    while (different.length < maxPairs) {
      const i = rng.int(n);
      const j = rng.int(n);
      if (identities[i] !== identities[j]) different.push(descriptorDistance(descriptors, i, j));
    }
  }
  // per image: own identity's other variants vs everyone else (exact; small sets only)
  let closer: number | null = null;
  if (n <= 2000 && same.length > 0) {
    let hits = 0;
    let counted = 0;
    for (let i = 0; i < n; i++) {
      let own = 0, nOwn = 0, other = 0, nOther = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const d = descriptorDistance(descriptors, i, j);
        if (identities[j] === identities[i]) (own += d), nOwn++;
        else (other += d), nOther++;
      }
      if (nOwn > 0 && nOther > 0) {
        counted++;
        if (own / nOwn < other / nOther) hits++;
      }
    }
    closer = counted > 0 ? hits / counted : null;
  }
  // re-render: query variant 0, gallery variant 1 (image order is identity-major within each identity)
  const first = new Map<number, number>();
  const second = new Map<number, number>();
  identities.forEach((id, i) => (first.has(id) ? second.has(id) || second.set(id, i) : first.set(id, i)));
  let reRender: number | null = null;
  if (second.size === first.size && first.size > 1) {
    let hits = 0;
    for (const [id, q] of first) {
      let best = -1;
      let bestD = Infinity;
      for (const [gid, g] of second) {
        const d = descriptorDistance(descriptors, q, g);
        if (d < bestD) (bestD = d), (best = gid);
      }
      if (best === id) hits++;
    }
    reRender = hits / first.size;
  }
  return {
    sameMedian: median(same),
    differentMedian: median(different),
    samePairs: same.length,
    differentPairs: different.length,
    closerToOwnShare: closer,
    reRenderTop1: reRender,
  };
}
