// Which input pixels reach the logits of one output pixel, measured on the model itself.
// All weights are set to the same small positive value and the input to a positive
// constant, so every pre-activation is positive: then every partial derivative along
// every path is > 0 (relu' = 1, tanh' > 0, sigmoid' > 0) and nothing can cancel. The
// gradient of the pixel's logits with respect to the input is therefore > 0 exactly where
// a path exists through the real, masked architecture, whatever weights were trained.
import * as tf from '@tensorflow/tfjs';
import { validateConfig, type ModelConfig } from './config';
import { forward } from './forward';
import { paramSpecs } from './params';
import type { Params } from './types';

export function positiveParams(config: ModelConfig): Params {
  const params: Params = {};
  for (const spec of paramSpecs(config)) {
    const fanIn = spec.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    // biases 0, weights 1/fanIn: pre-activations stay O(1), far from saturation
    params[spec.name] = spec.initStd > 0 ? tf.fill(spec.shape, 1 / fanIn) : tf.zeros(spec.shape);
  }
  return params;
}

/** H x W influence of each input pixel (summed over its channels) on the logits at (row, col). */
export function receptiveField(config: ModelConfig, row: number, col: number): number[][] {
  validateConfig(config);
  const { height: H, width: W, channels: C } = config;
  if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || row >= H || col < 0 || col >= W) {
    throw new Error(`receptive field: pixel (${row}, ${col}) is outside the ${H} x ${W} image`);
  }
  // the structure does not depend on conditioning; leave it out
  const cfg: ModelConfig = { ...config, conditioning: { type: 'none' } };
  const params = positiveParams(cfg);
  try {
    const grad = tf.tidy(() => {
      const x = tf.fill([1, H, W, C], (cfg.levels - 1) * 0.75) as tf.Tensor4D; // 0.5 after normalising
      const f = (inp: tf.Tensor) => {
        const logits = forward({ config: cfg, params }, inp as tf.Tensor4D);
        return tf.sum(tf.slice(logits, [0, row, col, 0, 0], [1, 1, 1, C, cfg.levels]));
      };
      return tf.sum(tf.grad(f)(x), [0, 3]);
    });
    const values = grad.arraySync() as number[][];
    grad.dispose();
    return values.map((r) => r.map((v) => Math.abs(v)));
  } finally {
    for (const t of Object.values(params)) t.dispose();
  }
}
