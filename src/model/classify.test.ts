import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { classify, classLogLikelihoods, posterior } from './classify';
import { makeConfig } from './config';
import { condTensor } from './conditioning';
import { nllNats } from './forward';
import { initParams } from './params';
import { CLASS_CONFIG, distinctClasses } from './testing';
import { mulberry32 } from '../util/rng';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const config = CLASS_CONFIG;

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

  it('refuses a model without classes and a wrong number of values, in one line', async () => {
    const plain = makeConfig({ height: 6, width: 6, levels: 4, hidden: 8, layers: 2, firstKernel: 3, headHidden: 8 });
    const model = { config: plain, params: initParams(plain, 1) };
    await expect(classify(model, new Uint8Array(36), 1)).rejects.toThrow(/^classify: the model is not class-conditional \(conditioning none\)$/);
    await expect(classify(distinctClasses(1, 1), new Uint8Array(35), 1)).rejects.toThrow(/^classify: expected 1 x 6x6x1 levels, got 35 values$/);
  });
});
