// The train / val / test split of a faces data set: by identity, so no person's variants
// sit on both sides of a split; fixed by the seed.
import { Rng } from '../util/rng';

export const SPLITS = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];
const SPLIT_KEY = 3; // Rng key space of the identity shuffle (generate.ts uses 1 and 2)

/** Identities of each split: a seeded shuffle, 10% test, 10% val (at least one each), the rest train; each list ascending. */
export function splitIdentities(identities: number, seed: number): Record<SplitName, number[]> {
  const ids = Array.from({ length: identities }, (_, i) => i);
  const rng = Rng.fromKeys(seed, SPLIT_KEY);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const held = Math.max(1, Math.round(identities * 0.1));
  const asc = (a: number[]) => a.sort((x, y) => x - y);
  return { test: asc(ids.slice(0, held)), val: asc(ids.slice(held, 2 * held)), train: asc(ids.slice(2 * held)) };
}

export const SPLIT_RULE =
  'by identity: identities 0..N-1 shuffled (Fisher-Yates with Rng.fromKeys(seed, 3), src/faces/splits.ts); ' +
  'the first max(1, round(N/10)) are test, the next as many val, the rest train';
