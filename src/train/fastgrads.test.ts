import { beforeAll, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../backend/node.ts';
import { installFastBroadcastGradients, reduceToShape } from './fastgrads.ts';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const cases: [number[], number[]][] = [
  [[2, 3, 4, 5], [5]], // bias
  [[2, 3, 4, 5], [2, 1, 1, 5]], // per-image conditioning term
  [[2, 3, 4, 5], [3, 1, 5]], // not contiguous: falls back to sum
  [[2, 3, 4, 5], [2, 3, 4, 5]], // no broadcast
  [[2, 3], []], // scalar
];

test('reduceToShape equals tf.sum over the broadcast axes', () => {
  for (const [big, small] of cases) {
    const dy = tf.randomNormal(big, 0, 1, 'float32', 3);
    const axes = tf.broadcast_util.getReductionAxes(small, big);
    const want = tf.reshape(axes.length ? tf.sum(dy, axes) : dy, small);
    const got = reduceToShape(dy, small);
    expect(got.shape).toEqual(small);
    const a = got.dataSync();
    const b = want.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    tf.dispose([dy, want, got]);
  }
});

test('installed Add/Sub gradients give the gradients of a + b and a - b', () => {
  const gradsOf = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, a: tf.Tensor, b: tf.Tensor) =>
    tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), tf.range(0, 120).reshape([2, 3, 4, 5]))))([a, b]).map((t) => Array.from(t.dataSync()));
  const a = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 1);
  const b = tf.randomNormal([2, 1, 1, 5], 0, 1, 'float32', 2);
  const before = [gradsOf(tf.add, a, b), gradsOf(tf.sub, a, b)];
  installFastBroadcastGradients();
  const after = [gradsOf(tf.add, a, b), gradsOf(tf.sub, a, b)];
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < 2; i++) {
      expect(after[k][i].length).toBe(before[k][i].length);
      after[k][i].forEach((v, j) => expect(v).toBeCloseTo(before[k][i][j], 3));
    }
  }
});
