// The identity check of issue 15: does a portrait drawn from a person's descriptor look like
// that person to the face-recognition net? A gallery holds one descriptor per person (their
// variant 0); each query (a generated portrait's descriptor, or a real re-render's) is ranked
// against the whole gallery by Euclidean distance. Environment-free: descriptors in, figures out.
import { DESCRIPTOR_DIM } from './descriptor';

export interface IdentityFigures {
  /** queries scored (people x queries per person) */
  queries: number;
  /** share of queries whose own person's gallery descriptor is the nearest of the gallery */
  top1: number;
  /** ... among the nearest 5 */
  top5: number;
  /** mean distance of a query to its own person's gallery descriptor */
  meanOwnDistance: number;
  /** mean distance of a query to the other people's gallery descriptors */
  meanOtherDistance: number;
  /** mean rank of the own descriptor among the gallery (0 = nearest) */
  meanRank: number;
}

function distance(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let s = 0;
  for (let k = 0; k < DESCRIPTOR_DIM; k++) {
    const t = a[i * DESCRIPTOR_DIM + k] - b[j * DESCRIPTOR_DIM + k];
    s += t * t;
  }
  return Math.sqrt(s);
}

/**
 * Ranks queries against a gallery. gallery: float32 [people, 128]; queries: float32
 * [people * perPerson, 128], person-major (query q belongs to person floor(q / perPerson)).
 * The rank of a query is how many other people's gallery descriptors lie strictly nearer to it
 * than its own; ties count in the query's favour (a distance equal to its own does not push it
 * down), which only matters for identical descriptors.
 */
export function identityFigures(gallery: Float32Array, queries: Float32Array, people: number, perPerson: number): IdentityFigures {
  if (!Number.isInteger(people) || people < 2) throw new Error(`identityFigures: need at least 2 people, got ${people}`);
  if (!Number.isInteger(perPerson) || perPerson < 1) throw new Error(`identityFigures: perPerson must be an integer >= 1, got ${perPerson}`);
  if (gallery.length !== people * DESCRIPTOR_DIM) throw new Error(`identityFigures: gallery of ${people} people needs ${people * DESCRIPTOR_DIM} values, got ${gallery.length}`);
  const n = people * perPerson;
  if (queries.length !== n * DESCRIPTOR_DIM) throw new Error(`identityFigures: ${n} queries need ${n * DESCRIPTOR_DIM} values, got ${queries.length}`);
  let top1 = 0;
  let top5 = 0;
  let own = 0;
  let other = 0;
  let rankSum = 0;
  const d = new Float64Array(people);
  for (let q = 0; q < n; q++) {
    const p = Math.floor(q / perPerson);
    for (let j = 0; j < people; j++) d[j] = distance(queries, q, gallery, j);
    let rank = 0;
    let otherSum = 0;
    for (let j = 0; j < people; j++) {
      if (j === p) continue;
      if (d[j] < d[p]) rank++;
      otherSum += d[j];
    }
    if (!Number.isFinite(d[p]) || !Number.isFinite(otherSum)) throw new Error(`identityFigures: query ${q} has a distance that is not finite`);
    if (rank < 1) top1++;
    if (rank < 5) top5++;
    rankSum += rank;
    own += d[p];
    other += otherSum / (people - 1);
  }
  return { queries: n, top1: top1 / n, top5: top5 / n, meanOwnDistance: own / n, meanOtherDistance: other / n, meanRank: rankSum / n };
}

/** Where each person's images lie in a build-faces folder or split: first-seen order, images of a person contiguous. */
export interface PeopleIndex {
  /** identity number of each person, in the folder's order */
  identities: number[];
  /** index of each person's first image (its variant 0); variant v is first + v */
  first: number[];
  /** images per person */
  variants: number;
}

/**
 * Groups a folder's images by person: identity-major, `variants` images each (build-faces
 * writes image identity * variants + variant, and splits keep that order). Throws one line
 * when the identities do not come in runs of `variants`.
 */
export function peopleOf(identities: Int32Array, variants: number, where: string): PeopleIndex {
  if (!Number.isInteger(variants) || variants < 1) throw new Error(`${where}: meta.json variants: expected an integer >= 1, got ${JSON.stringify(variants)}`);
  if (identities.length % variants !== 0) throw new Error(`${where}: ${identities.length} images are not whole people of ${variants} variants`);
  const ids: number[] = [];
  const first: number[] = [];
  const seen = new Set<number>();
  for (let at = 0; at < identities.length; at += variants) {
    const id = identities[at];
    for (let v = 1; v < variants; v++) {
      if (identities[at + v] !== id) throw new Error(`${where}: identities.npy row ${at + v} is identity ${identities[at + v]}, expected ${id} (variant ${v} of the person at row ${at})`);
    }
    if (seen.has(id)) throw new Error(`${where}: identity ${id} appears twice (rows ${first[ids.indexOf(id)]} and ${at})`);
    seen.add(id);
    ids.push(id);
    first.push(at);
  }
  return { identities: ids, first, variants };
}
