// The Bayes classifier (src/model/classify.ts) on what the model itself draws: beside the
// sampler rather than the classifier, because drawing needs the sampler, a layer above
// the model.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { classify } from '../model';
import { distinctClasses } from '../model/testing';
import { sample } from './index';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

describe('Bayes classifier on samples', () => {
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
});
