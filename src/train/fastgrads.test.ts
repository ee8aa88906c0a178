import { beforeAll, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../backend/node.ts';
import { condTensor, disposeParams, initParams, type Params } from '../model';
import { installFastBroadcastGradients, reduceToShape, sharedReductions, withReductionMemo } from './fastgrads.ts';
import { accumulateGradient, batchNats, flattenParams, imagesTensor, paramLayout, targetLevels } from './gradient.ts';
import { getPreset } from './presets.ts';
import { barImages } from './testdata.ts';

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

test('on wasm with the zero-copy Identity, a training gradient equals the cpu one and leaks nothing', async () => {
  const config = getPreset('tiny').model;
  const layout = paramLayout(config);
  const p = initParams(config, 5);
  const flat = flattenParams(layout, p);
  disposeParams(p);
  const set = barImages(4, 8, 8, 9);
  const images = set.images.map((v) => v >> 4);
  const gradOn = async (backend: 'cpu' | 'wasm') => {
    await initNodeBackend(backend);
    const out = new Float32Array(layout.total);
    const nats = accumulateGradient(config, layout, flat, images, set.labels, 0.01, out);
    return { out, nats };
  };
  try {
    const want = await gradOn('cpu');
    const got = await gradOn('wasm');
    expect(tf.getKernel('Identity', 'wasm')).toBeDefined();
    const before = tf.memory().numTensors;
    const again = await gradOn('wasm');
    expect(tf.memory().numTensors).toBe(before);
    expect(again.out).toEqual(got.out);
    expect(got.nats).toBeCloseTo(want.nats, 2);
    let scale = 0;
    for (const v of want.out) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < want.out.length; i++) expect(Math.abs(got.out[i] - want.out[i])).toBeLessThan(1e-3 * scale);
  } finally {
    await initNodeBackend('cpu');
  }
});

test('shared reductions (withReductionMemo) leave a training gradient unchanged and free what they keep', () => {
  installFastBroadcastGradients();
  const config = getPreset('tiny').model;
  const layout = paramLayout(config);
  const p = initParams(config, 7);
  const set = barImages(3, 8, 8, 2);
  const images = set.images.map((v) => v >> 4);
  const x = imagesTensor(config, images, 3);
  const targets = targetLevels(images);
  const cond = condTensor(config, { labels: Array.from(set.labels) }, 3);
  const list = layout.names.map((n) => p[n]);
  const grads = () =>
    tf.tidy(() =>
      tf.grads((...ws: tf.Tensor[]) => {
        const q: Params = {};
        layout.names.forEach((n, i) => (q[n] = ws[i]));
        return batchNats(config, q, x, targets, cond);
      })(list),
    );
  const plain = grads();
  const before = tf.memory().numTensors;
  const hits = sharedReductions();
  const memoed = withReductionMemo(grads);
  expect(sharedReductions() - hits).toBeGreaterThanOrEqual(2 * config.layers); // each layer's biases
  expect(tf.memory().numTensors - before).toBe(memoed.length);
  plain.forEach((g, i) => {
    const a = g.dataSync();
    const b = memoed[i].dataSync();
    let scale = 1e-6;
    for (const v of a) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < a.length; j++) expect(Math.abs(a[j] - b[j]), layout.names[i]).toBeLessThan(1e-4 * scale);
  });
  tf.dispose([...plain, ...memoed, x, targets, ...(cond ? [cond] : [])]);
  disposeParams(p);
});
