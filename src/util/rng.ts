// Seeded random numbers, the same on every backend and machine. Rng (sfc32, seeded
// through splitmix32) keeps its whole state in four uint32s, so a training checkpoint can
// hold it and a resumed run draws exactly the same numbers; training/rng.py draws the same.
// mulberry32 is the one-line generator for weights' initialisation and sampling.

export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s: Uint32Array;

  constructor(state: RngState) {
    this.s = Uint32Array.from(state);
  }

  /** A generator derived from any number of integer keys, e.g. (seed, epoch). */
  static fromKeys(...keys: number[]): Rng {
    let h = 0x2545f491;
    for (const k of keys) {
      if (!Number.isInteger(k)) throw new Error(`rng: key ${k} is not an integer`);
      h = splitmix32(h ^ (k >>> 0))() ^ Math.floor(k / 2 ** 32);
    }
    const next = splitmix32(h);
    const r = new Rng([next(), next(), next(), next()]);
    for (let i = 0; i < 12; i++) r.nextUint32();
    return r;
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  nextUint32(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform integer in [0, n), unbiased. */
  int(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32)) throw new Error(`rng: int(n) needs 1 <= n <= 2^32, got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }
}

/** A permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Small seeded PRNG (mulberry32): uniform in [0, 1), the same numbers on every backend and
 * machine. Its state moves by a constant a draw, so `skip` draws are passed over at once.
 */
export function mulberry32(seed: number, skip = 0): () => number {
  let a = (seed + Math.imul(skip, 0x6d2b79f5)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
