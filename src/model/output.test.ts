// The discretized-logistic output against a float64 reference written the plain way
// (differences of sigmoids), its normalisation, the label-only path against the full grid,
// and its gradient against central differences.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeConfig, type ModelConfig } from './config';
import { labelLogProbs, outputLogits, outputsPerChannel } from './output';
import { mulberry32 } from '../util/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** log P(k) for every level, float64, straight from the definition. */
function reference(raw: Float32Array, M: number, K: number): number[] {
  const pi = Array.from(raw.subarray(0, M));
  const mu = Array.from(raw.subarray(M, 2 * M));
  const ls = Array.from(raw.subarray(2 * M, 3 * M)).map((v) => Math.min(Math.max(v, -7), 3));
  const zmax = Math.max(...pi);
  const z = pi.reduce((a, v) => a + Math.exp(v - zmax), 0);
  const out: number[] = [];
  for (let k = 0; k < K; k++) {
    const c = (2 * k) / (K - 1) - 1;
    let p = 0;
    for (let m = 0; m < M; m++) {
      const s = Math.exp(ls[m]);
      const hi = k === K - 1 ? 1 : sigmoid((c + 1 / (K - 1) - mu[m]) / s);
      const lo = k === 0 ? 0 : sigmoid((c - 1 / (K - 1) - mu[m]) / s);
      p += (Math.exp(pi[m] - zmax) / z) * (hi - lo);
    }
    out.push(Math.log(p));
  }
  return out;
}

function config(M: number, K = 256, C = 1): ModelConfig {
  return makeConfig({ height: 2, width: 2, channels: C, levels: K, hidden: 3 * C, headHidden: 3 * C, layers: 1, output: { type: 'logistic', mixtures: M } });
}

/** Random head outputs: mixture logits, means in [-1.2, 1.2], log-scales from -8 to 4 (both clamps). */
function randomRaw(n: number, M: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const raw = new Float32Array(n * 3 * M);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < M; m++) {
      raw[i * 3 * M + m] = 4 * r() - 2;
      raw[i * 3 * M + M + m] = 2.4 * r() - 1.2;
      raw[i * 3 * M + 2 * M + m] = -8 + 12 * r();
    }
  }
  return raw;
}

describe('discretized logistic mixture output', () => {
  it('needs 3 numbers per component and validates the mixture count', () => {
    expect(outputsPerChannel(config(5))).toBe(15);
    expect(() => makeConfig({ output: { type: 'logistic', mixtures: 0 } })).toThrow(/config.output.mixtures/);
    expect(() => makeConfig({ output: { type: 'gauss' } as never })).toThrow(/config.output.type/);
  });

  it('matches the plain float64 definition where it is representable, and sums to one', () => {
    const M = 3;
    const K = 256;
    const n = 40;
    const raw = randomRaw(n, M, 7);
    const got = outputLogits(config(M, K), tf.tensor2d(raw, [n, 3 * M]));
    expect(got.shape).toEqual([n, 1, K]);
    const lp = got.dataSync();
    let compared = 0;
    for (let i = 0; i < n; i++) {
      const ref = reference(raw.subarray(i * 3 * M, (i + 1) * 3 * M), M, K);
      let total = 0;
      for (let k = 0; k < K; k++) {
        const v = lp[i * K + k];
        expect(Number.isFinite(v)).toBe(true); // even far in the tails
        total += Math.exp(v);
        // the float64 differences of sigmoids are exact only where p is not tiny
        if (ref[k] > -20) {
          expect(Math.abs(v - ref[k])).toBeLessThan(2e-3 * Math.max(1, Math.abs(ref[k])));
          compared++;
        }
      }
      expect(Math.abs(total - 1)).toBeLessThan(1e-4);
    }
    expect(compared).toBeGreaterThan(n * 10);
    got.dispose();
  });

  it('gives the same log-probabilities at the labels as the full grid (grey and RGB)', () => {
    for (const C of [1, 3]) {
      const M = 4;
      const K = 256;
      const n = 30;
      const raw = tf.tensor2d(randomRaw(n * C, M, 11 + C), [n, C * 3 * M]);
      const r = mulberry32(3);
      const labels = Int32Array.from({ length: n * C }, (_, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? K - 1 : Math.floor(r() * K)));
      const full = outputLogits(config(M, K, C), raw).dataSync();
      const picked = labelLogProbs(config(M, K, C), raw, tf.tensor1d(labels, 'int32')).dataSync();
      for (let i = 0; i < n * C; i++) expect(picked[i]).toBeCloseTo(full[i * K + labels[i]], 4);
      raw.dispose();
    }
  });

  it('has a gradient that matches central differences', () => {
    const M = 2;
    const K = 16;
    const cfg = config(M, K);
    const raw0 = randomRaw(5, M, 5).map((v, i) => (i % (3 * M) >= 2 * M ? v / 4 : v)); // moderate scales
    const labels = tf.tensor1d([0, 3, 8, 15, 9], 'int32');
    const f = (raw: tf.Tensor) => tf.sum(labelLogProbs(cfg, raw, labels)) as tf.Scalar;
    const g = tf.grad(f)(tf.tensor2d(raw0, [5, 3 * M])).dataSync();
    const eps = 1e-2;
    for (let j = 0; j < raw0.length; j++) {
      const plus = raw0.slice();
      const minus = raw0.slice();
      plus[j] += eps;
      minus[j] -= eps;
      const num = (f(tf.tensor2d(plus, [5, 3 * M])).dataSync()[0] - f(tf.tensor2d(minus, [5, 3 * M])).dataSync()[0]) / (2 * eps);
      expect(Math.abs(g[j] - num)).toBeLessThan(2e-3 + 2e-2 * Math.abs(num));
    }
  });
});
