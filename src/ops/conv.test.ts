// The ops' own gradients against tfjs's gradients of the plain formulas (cpu backend,
// which has every kernel), on cpu and wasm.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { conv2dValid, gate, pointwise } from './conv.ts';
import { randomArray, relError, useBackend, values } from './testing.ts';

const TOL = 1e-4;
const BACKENDS = ['cpu', 'wasm'] as const;

type Case = { shapes: number[][]; label: string };

/**
 * For each backend: forward value and gradients (seeded with a random dy) of `ours`
 * must match tfjs's gradients of `plain` computed on cpu.
 */
async function compare(
  c: Case,
  plain: (...xs: tf.Tensor[]) => tf.Tensor,
  ours: (...xs: tf.Tensor[]) => tf.Tensor,
): Promise<void> {
  const inputs = c.shapes.map((s, i) => randomArray(s.reduce((a, b) => a * b, 1), 17 + 31 * i));
  const make = (): tf.Tensor[] => c.shapes.map((s, i) => tf.tensor(inputs[i], s));
  await useBackend('cpu');
  const outShape = tf.tidy(() => plain(...make()).shape);
  const dyVals = randomArray(outShape.reduce((a, b) => a * b, 1), 99);
  const [refY, ...refGrads] = values(() => {
    const xs = make();
    const dy = tf.tensor(dyVals, outShape);
    return [plain(...xs), ...tf.grads((...a: tf.Tensor[]) => plain(...a))(xs, dy)];
  });
  for (const backend of BACKENDS) {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const [y, ...grads] = values(() => {
      const xs = make();
      const dy = tf.tensor(dyVals, outShape);
      return [ours(...xs), ...tf.grads((...a: tf.Tensor[]) => ours(...a))(xs, dy)];
    });
    expect(tf.memory().numTensors, `${c.label} ${backend}: leaked tensors`).toBe(before);
    expect(relError(y, refY), `${c.label} ${backend}: forward`).toBeLessThan(TOL);
    grads.forEach((g, i) => {
      expect(relError(g, refGrads[i]), `${c.label} ${backend}: gradient of input ${i}`).toBeLessThan(TOL);
    });
  }
}

describe('conv2dValid', () => {
  const cases: [number[], number[]][] = [
    [[2, 5, 6, 3], [2, 3, 3, 4]], // vertical-stack-like, Cin != Cout
    [[1, 4, 7, 2], [1, 4, 2, 5]], // horizontal-stack-like, wide kernel
    [[2, 6, 5, 4], [3, 2, 4, 4]], // non-square image and kernel
    [[2, 3, 4, 3], [1, 1, 3, 2]], // 1x1
    [[2, 9, 8, 1], [4, 7, 1, 3]], // first layer: one input channel
    [[3, 4, 4, 2], [4, 4, 2, 1]], // kernel as large as the image, one output channel
  ];
  for (const [xs, ws] of cases) {
    it(`matches tf.conv2d and its gradients for x [${xs}] w [${ws}]`, async () => {
      await compare(
        { shapes: [xs, ws], label: `conv x[${xs}] w[${ws}]` },
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'),
        (x, w) => conv2dValid(x as tf.Tensor4D, w as tf.Tensor4D),
      );
    });
  }

  /** tfjs has no gradient for a dilated conv2d: the reference spreads the kernel's taps d apart with zeros between. */
  function spreadKernel(w: tf.Tensor4D, d: number): tf.Tensor4D {
    const [kh, kw, cin, cout] = w.shape;
    const eh = d * (kh - 1) + 1;
    const ew = d * (kw - 1) + 1;
    const spread = new Float32Array(eh * ew * kh * kw);
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) spread[(d * i * ew + d * j) * kh * kw + i * kw + j] = 1;
    const s = tf.tensor2d(spread, [eh * ew, kh * kw]);
    return tf.reshape(tf.matMul(s, tf.reshape(w, [kh * kw, cin * cout])), [eh, ew, cin, cout]);
  }
  const dilated: [number[], number[], number][] = [
    [[2, 7, 8, 3], [2, 3, 3, 4], 2], // vertical-stack-like
    [[1, 3, 9, 2], [1, 2, 2, 5], 4], // horizontal-stack-like
    [[2, 9, 9, 2], [3, 3, 2, 2], 3], // reaches exactly across the image
  ];
  for (const [xs, ws, d] of dilated) {
    it(`matches tf.conv2d and its gradients at dilation ${d} for x [${xs}] w [${ws}]`, async () => {
      await compare(
        { shapes: [xs, ws], label: `conv d=${d} x[${xs}] w[${ws}]` },
        (x, w) => tf.conv2d(x as tf.Tensor4D, spreadKernel(w as tf.Tensor4D, d), 1, 'valid'),
        (x, w) => conv2dValid(x as tf.Tensor4D, w as tf.Tensor4D, d),
      );
    });
  }

  it('computes only the gradients asked for (no image gradient in the first layer)', async () => {
    await useBackend('wasm');
    const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    const w = tf.variable(tf.ones([2, 2, 1, 2]));
    let dw: number[] = [];
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(conv2dValid(x, w as unknown as tf.Tensor4D)) as tf.Scalar);
      dw = Array.from(grads[w.name].dataSync());
      tf.dispose([value, grads[w.name]]);
    });
    expect(dw).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    const names = profile.kernels.map((k) => k.name);
    // One Conv2D (the filter gradient); the input gradient would add a Reverse and another Conv2D.
    expect(names.filter((n) => n === 'Conv2D')).toHaveLength(1);
    expect(names).not.toContain('Reverse');
    tf.dispose([x, w]);
  });

  it('rejects mismatched channels with a one-line error', () => {
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const w = tf.zeros([2, 2, 2, 4]) as tf.Tensor4D;
    expect(() => conv2dValid(x, w)).toThrow(/x has 3 channels but w expects 2/);
    const w2 = tf.zeros([2, 2, 3, 4]) as tf.Tensor4D;
    expect(() => conv2dValid(x, w2, 4)).toThrow(/smaller than kernel 2x2 at dilation 4/);
    expect(() => conv2dValid(x, w2, 0)).toThrow(/dilation must be an integer >= 1/);
    tf.dispose([x, w, w2]);
  });
});

describe('pointwise', () => {
  const cases: [number[], number[]][] = [
    [[2, 3, 4, 3], [3, 5]],
    [[7, 6], [6, 2]],
    [[1, 2, 2, 4], [4, 4]],
  ];
  for (const [xs, ws] of cases) {
    it(`matches a reshaped tf.matMul and its gradients for x [${xs}] w [${ws}]`, async () => {
      await compare(
        { shapes: [xs, ws], label: `pointwise x[${xs}] w[${ws}]` },
        (x, w) => tf.reshape(tf.matMul(tf.reshape(x, [-1, ws[0]]) as tf.Tensor2D, w as tf.Tensor2D), [...xs.slice(0, -1), ws[1]]),
        (x, w) => pointwise(x, w as tf.Tensor2D),
      );
    });
  }

  it('rejects mismatched channels with a one-line error', () => {
    const x = tf.zeros([2, 3]);
    const w = tf.zeros([4, 2]) as tf.Tensor2D;
    expect(() => pointwise(x, w)).toThrow(/x has 3 channels but w expects 4/);
    tf.dispose([x, w]);
  });
});

describe('gate', () => {
  const plain = (a: tf.Tensor): tf.Tensor => {
    const [f, g] = tf.split(a, 2, a.rank - 1);
    return tf.mul(tf.tanh(f), tf.sigmoid(g));
  };
  for (const shape of [[2, 3, 4, 6], [5, 8], [3, 2], [1, 2, 3, 2, 4]]) {
    it(`matches tanh(f) * sigmoid(g) and its gradient for [${shape}]`, async () => {
      // Spread the inputs over [-4, 4) so both saturated and linear regions are checked.
      await compare({ shapes: [shape], label: `gate [${shape}]` }, (a) => plain(tf.mul(a, 4)), (a) => gate(tf.mul(a, 4)));
    });
  }

  it('rejects an odd channel count with a one-line error', () => {
    const a = tf.zeros([2, 3]);
    expect(() => gate(a)).toThrow(/last dimension must be even/);
    a.dispose();
  });
});
