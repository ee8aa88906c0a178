import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { makeConfig } from './config';
import { bitsPerDim, forward, nllNats } from './forward';
import { initParams } from './params';
import { mulberry32 } from '../util/rng';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

it('nllNats is the sum over sub-pixels of -log softmax(logits)[level], per image', () => {
  const config = makeConfig({ height: 4, width: 5, channels: 3, levels: 6, hidden: 6, layers: 2, headHidden: 6, firstKernel: 3 });
  const model = { config, params: initParams(config, 4) };
  const rand = mulberry32(1);
  const B = 2;
  const x = tf.tensor4d(Array.from({ length: B * 60 }, () => Math.floor(rand() * 6)), [B, 4, 5, 3]);
  const logits = forward(model, x).arraySync() as number[][][][][];
  const levels = x.arraySync() as number[][][][];
  const expected = [0, 0];
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < 4; r++) for (let c = 0; c < 5; c++) for (let ch = 0; ch < 3; ch++) {
      const l = logits[b][r][c][ch];
      const m = Math.max(...l);
      const lse = m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0));
      expected[b] += lse - l[levels[b][r][c][ch]];
    }
  }
  const got = nllNats(model, x).arraySync();
  expect(got[0]).toBeCloseTo(expected[0], 3);
  expect(got[1]).toBeCloseTo(expected[1], 3);
  expect(bitsPerDim(got[0], config)).toBeCloseTo(expected[0] / (60 * Math.LN2), 4);
});

it('an input of the wrong shape is a one-line error', () => {
  const config = makeConfig({ height: 4, width: 5, channels: 1, levels: 4, hidden: 4, layers: 1, headHidden: 4, firstKernel: 3 });
  const model = { config, params: initParams(config, 4) };
  expect(() => forward(model, tf.zeros([1, 5, 4, 1]) as tf.Tensor4D)).toThrow('input: expected shape [B, 4, 5, 1], got [1, 5, 4, 1]');
});
