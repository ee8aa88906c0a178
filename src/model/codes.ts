// What the samplers are given for an auto-encoder: codes as the decoder's vector condition.
// Pure arithmetic on Float32Arrays (no tfjs), for the CLI and the app alike.

/** code_t = (1 - t) a + t b for t = 0, 1/(steps-1), ..., 1: a morph from a's code to b's. */
export function interpolateCodes(a: Float32Array, b: Float32Array, steps: number): Float32Array[] {
  if (a.length !== b.length) throw new Error(`morph: the codes have lengths ${a.length} and ${b.length}`);
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`morph: expected at least 2 steps, got ${steps}`);
  return Array.from({ length: steps }, (_, s) => {
    const t = s / (steps - 1);
    return a.map((v, i) => (1 - t) * v + t * b[i]);
  });
}

/** Each code repeated k times in a row: input i's variations are rows i*k .. i*k+k-1. */
export function repeatEach(codes: Float32Array[], k: number): Float32Array[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`variations: expected a count >= 1, got ${k}`);
  return codes.flatMap((c) => Array.from({ length: k }, () => c));
}
