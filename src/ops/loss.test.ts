// softmaxCrossEntropy / logProbsOfLabels against tfjs's gradient of the plain
// logSoftmax formula (cpu), on cpu and wasm.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { logProbsOfLabels, oneHotFloat, softmaxCrossEntropy } from './loss.ts';
import { randomArray, relError, useBackend, values } from './testing.ts';

const TOL = 1e-4;
const BACKENDS = ['cpu', 'wasm'] as const;

function labelsFor(n: number, k: number, seed: number): Int32Array {
  return Int32Array.from(randomArray(n, seed), (u) => Math.min(k - 1, Math.floor(((u + 1) / 2) * k)));
}

/** log p of each label, in float64, straight from the definition. */
function exactLogProbs(logits: Float32Array, labels: Int32Array, k: number): number[] {
  return Array.from(labels, (label, i) => {
    const row = Array.from(logits.subarray(i * k, (i + 1) * k));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    return row[label] - lse;
  });
}

describe('softmaxCrossEntropy', () => {
  for (const [n, k, scale] of [[6, 5, 3], [4, 256, 5], [1, 2, 1], [9, 3, 40]] as const) {
    it(`matches -sum(logSoftmax[label]) and its gradient for [${n}, ${k}] logits (scale ${scale})`, async () => {
      const logitVals = randomArray(n * k, 7 + k).map((v) => v * scale);
      const labelVals = labelsFor(n, k, 3 + n);
      const plain = (l: tf.Tensor): tf.Tensor =>
        tf.neg(tf.sum(tf.mul(tf.logSoftmax(l), tf.cast(tf.oneHot(tf.tensor1d(labelVals, 'int32'), k), 'float32'))));
      await useBackend('cpu');
      const [refLoss, refGrad] = values(() => {
        const l = tf.tensor2d(logitVals, [n, k]);
        return [plain(l), tf.grad(plain)(l, tf.scalar(1.7))];
      });
      const exactLoss = -exactLogProbs(logitVals, labelVals, k).reduce((a, b) => a + b, 0);
      for (const backend of BACKENDS) {
        await useBackend(backend);
        const before = tf.memory().numTensors;
        const [loss, grad, logp] = values(() => {
          const l = tf.tensor2d(logitVals, [n, k]);
          const labels = tf.tensor1d(labelVals, 'int32');
          const f = (x: tf.Tensor): tf.Tensor => softmaxCrossEntropy(x as tf.Tensor2D, labels);
          return [f(l), tf.grad(f)(l, tf.scalar(1.7)), logProbsOfLabels(l, labels)];
        });
        expect(tf.memory().numTensors, `${backend}: leaked tensors`).toBe(before);
        expect(loss.length).toBe(1);
        expect(relError(loss, refLoss), `${backend}: loss vs tfjs`).toBeLessThan(TOL);
        expect(Math.abs(loss[0] - exactLoss) / Math.max(1, Math.abs(exactLoss)), `${backend}: loss vs float64`).toBeLessThan(TOL);
        expect(relError(grad, refGrad), `${backend}: gradient`).toBeLessThan(TOL);
        expect(-logp.reduce((a, b) => a + b, 0)).toBeCloseTo(loss[0], 3);
      }
    });
  }

  it('stays finite where a label has vanishing probability (softmax underflows to 0)', async () => {
    for (const backend of BACKENDS) {
      await useBackend(backend);
      const [loss, logp] = values(() => {
        const l = tf.tensor2d([0, 200, -300, 5, 0, 0], [2, 3]);
        const labels = tf.tensor1d([2, 0], 'int32');
        return [softmaxCrossEntropy(l, labels), logProbsOfLabels(l, labels)];
      });
      expect(logp[0]).toBeCloseTo(-500, 3);
      expect(logp[1]).toBeCloseTo(exactLogProbs(Float32Array.from([5, 0, 0]), Int32Array.from([0]), 3)[0], 5);
      expect(loss[0]).toBeCloseTo(-(logp[0] + logp[1]), 3);
    }
  });
});

describe('logProbsOfLabels', () => {
  it('has the gradient of sum(w * logSoftmax[label]) for a per-row weight w', async () => {
    const n = 5;
    const k = 7;
    const logitVals = randomArray(n * k, 5).map((v) => v * 4);
    const labelVals = labelsFor(n, k, 11);
    const dyVals = randomArray(n, 13);
    const plain = (l: tf.Tensor): tf.Tensor =>
      tf.sum(tf.mul(tf.logSoftmax(l), tf.cast(tf.oneHot(tf.tensor1d(labelVals, 'int32'), k), 'float32')), 1);
    await useBackend('cpu');
    const [refGrad] = values(() => [tf.grad(plain)(tf.tensor2d(logitVals, [n, k]), tf.tensor1d(dyVals))]);
    for (const backend of BACKENDS) {
      await useBackend(backend);
      const [grad] = values(() => {
        const labels = tf.tensor1d(labelVals, 'int32');
        const f = (x: tf.Tensor): tf.Tensor => logProbsOfLabels(x as tf.Tensor2D, labels);
        return [tf.grad(f)(tf.tensor2d(logitVals, [n, k]), tf.tensor1d(dyVals))];
      });
      expect(relError(grad, refGrad), backend).toBeLessThan(TOL);
    }
  });

  it("one-hot is right on every backend (tf.oneHot's float32 dtype is not, on wasm)", async () => {
    for (const backend of BACKENDS) {
      await useBackend(backend);
      const [v] = values(() => [oneHotFloat(tf.tensor1d([2, 0], 'int32'), 3)]);
      expect(Array.from(v), backend).toEqual([0, 0, 1, 1, 0, 0]);
    }
  });

  it('rejects float labels and mismatched lengths with one-line errors', () => {
    const l = tf.zeros([3, 4]) as tf.Tensor2D;
    const f = tf.zeros([3]) as tf.Tensor1D;
    const short = tf.zeros([2], 'int32') as tf.Tensor1D;
    expect(() => softmaxCrossEntropy(l, f)).toThrow(/labels must be int32/);
    expect(() => logProbsOfLabels(l, short)).toThrow(/3 rows of logits but 2 labels/);
    tf.dispose([l, f, short]);
  });
});
