import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { sample } from '../sampler';
import { classify, classLogLikelihoods, posterior } from './classify';
import { makeConfig } from './config';
import { condTensor } from './conditioning';
import { nllNats } from './forward';
import { initParams } from './params';
import { mulberry32 } from '../util/rng';
import type { PixelCNN } from './types';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const config = makeConfig({ height: 6, width: 6, levels: 4, hidden: 8, layers: 2, firstKernel: 3, headHidden: 8, conditioning: { type: 'class', classes: 10 } });

/**
 * A random model whose classes differ clearly: its conditioning weights are scaled up, so
 * each class shifts every gate by its own large bias, and its head's weights too, so the
 * distributions are peaked rather than near uniform. Untrained, but p(x | c) differs
 * enough between classes for a sample of class c to be more likely under c than under
 * the others (on average it must be: the expected log-ratio is a KL divergence >= 0).
 * (Measured with seed 7: 7 of 30 samples guessed right as initialised, 26 so scaled.)
 */
function distinctClasses(seed: number, condScale: number, headScale = 4): PixelCNN {
  const params = initParams(config, seed);
  for (const name of Object.keys(params)) {
    const s = name.endsWith('_cond') ? condScale : /^head\/w/.test(name) ? headScale : 1;
    if (s !== 1) {
      const old = params[name];
      params[name] = tf.mul(old, s);
      old.dispose();
    }
  }
  return { config, params };
}

describe('Bayes classifier', () => {
  it('posterior: uniform prior, sums to 1, ordered as the likelihoods, stable for large values', () => {
    const p = posterior([-1000, -1001, -1000 - Math.log(4)]);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(p[0] / p[2]).toBeCloseTo(4, 9);
    expect(p[0] / p[1]).toBeCloseTo(Math.E, 9);
    expect(() => posterior([NaN, -Infinity])).toThrow(/^classify: the log-likelihoods are not finite/);
  });

  it('each class likelihood of the batched pass equals a separate pass with that label', () => {
    const model = distinctClasses(3, 1);
    const rand = mulberry32(2);
    const x = tf.tensor4d(Array.from({ length: 2 * 36 }, () => Math.floor(rand() * 4)), [2, 6, 6, 1]);
    const ll = classLogLikelihoods(model, x).arraySync();
    for (const c of [0, 4, 9]) {
      const cond = condTensor(config, { labels: [c, c] }, 2);
      const nll = nllNats(model, x, cond).arraySync();
      expect(ll[0][c]).toBeCloseTo(-nll[0], 3);
      expect(ll[1][c]).toBeCloseTo(-nll[1], 3);
      cond!.dispose();
    }
    x.dispose();
  });

  it("a class model's own samples are guessed as their class; probabilities sum to 1; no tensor leaks", async () => {
    const model = distinctClasses(7, 3);
    const perClass = 3;
    const labels = Array.from({ length: 10 * perClass }, (_, i) => Math.floor(i / perClass));
    const images = await sample(model, { count: labels.length, seed: 11, mode: 'cached', condition: { labels } });
    const before = tf.memory().numTensors;
    const { probs, predicted, logLik } = await classify(model, images, labels.length, 7);
    expect(tf.memory().numTensors).toBe(before);
    for (let n = 0; n < labels.length; n++) {
      const row = probs.subarray(n * 10, n * 10 + 10);
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
      expect(Array.from(logLik.subarray(n * 10, n * 10 + 10)).every(Number.isFinite)).toBe(true);
    }
    const correct = predicted.filter((p, n) => p === labels[n]).length;
    // chance is 3 of 30
    expect(correct).toBeGreaterThanOrEqual(22);
    // and with the labels' conditioning weights removed, the classes cannot be told apart
    const blind = distinctClasses(7, 0);
    const guessed = await classify(blind, images, labels.length);
    expect(guessed.probs.every((p) => Math.abs(p - 0.1) < 1e-6)).toBe(true);
  });

  it('refuses a model without classes and a wrong number of values, in one line', async () => {
    const plain = makeConfig({ height: 6, width: 6, levels: 4, hidden: 8, layers: 2, firstKernel: 3, headHidden: 8 });
    const model = { config: plain, params: initParams(plain, 1) };
    await expect(classify(model, new Uint8Array(36), 1)).rejects.toThrow(/^classify: the model is not class-conditional \(conditioning none\)$/);
    await expect(classify(distinctClasses(1, 1), new Uint8Array(35), 1)).rejects.toThrow(/^classify: expected 1 x 6x6x1 levels, got 35 values$/);
  });
});
