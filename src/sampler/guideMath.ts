// Guidance's arithmetic (guidance.ts says what it is), tf-free: a thread of a split run
// (rowBoard.ts) combines the streams of the block it draws with it.
import type { GuidePlan } from './guidance';

/** Copies image n of x [N, ...] into each of its S streams of xs [N * S, ...]. */
export function expandImages(x: Uint8Array, xs: Uint8Array, N: number, S: number): void {
  const size = x.length / N;
  for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) xs.set(x.subarray(n * size, (n + 1) * size), (n * S + s) * size);
}

/** Subtracts each image's log-sum-exp over its streams: log p(c | x_<i) sums to one. */
export function normalizeLogPost(w: Float64Array, N: number, S: number): void {
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let s = 0; s < S; s++) m = Math.max(m, w[n * S + s]);
    let z = 0;
    for (let s = 0; s < S; s++) z += Math.exp(w[n * S + s] - m);
    const lse = m + Math.log(z);
    for (let s = 0; s < S; s++) w[n * S + s] -= lse;
  }
}

/** After the draw of `values` [N]: every class's likelihood gains its log p of the drawn level. */
export function updateLogPost(w: Float64Array, lp: Float32Array, values: ArrayLike<number>, N: number, S: number, K: number): void {
  for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) w[n * S + s] += lp[(n * S + s) * K + values[n]];
  normalizeLogPost(w, N, S);
}

/**
 * The guided distribution [N, K] from every stream's log-softmax lp [N * S, K] (T = 1):
 * softmax(((1 + g) l_c - g l_u) / T), in float64.
 */
export function guidedProbs(plan: GuidePlan, lp: Float32Array, logPost: Float64Array | null, K: number, temperature: number): Float32Array {
  const { N, S, g, kind } = plan;
  const out = new Float32Array(N * K);
  const z = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    const cs = (n * S + plan.condStream[n]) * K;
    let zmax = -Infinity;
    for (let k = 0; k < K; k++) {
      let lu: number;
      if (kind === 'null') lu = lp[(n * S + 1) * K + k];
      else {
        let m = -Infinity;
        for (let s = 0; s < S; s++) m = Math.max(m, logPost![n * S + s] + lp[(n * S + s) * K + k]);
        let sum = 0;
        for (let s = 0; s < S; s++) sum += Math.exp(logPost![n * S + s] + lp[(n * S + s) * K + k] - m);
        lu = m + Math.log(sum);
      }
      z[k] = ((1 + g) * lp[cs + k] - g * lu) / temperature;
      zmax = Math.max(zmax, z[k]); // a NaN stays NaN: the sampler reports it
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += z[k] = Math.exp(z[k] - zmax);
    for (let k = 0; k < K; k++) out[n * K + k] = z[k] / sum;
  }
  return out;
}
