// The PixelCNN auto-encoder's E (paper section 2.4; issue 23): an image -> a code h of d
// floats, which the decoder (the Gated PixelCNN) is conditioned on as a vector embedding.
// Stride-2 3x3 convolutions (one pixel of zeros on every side) with ReLU, then a dense
// layer on the NHWC flattening and tanh, so every entry lies in (-1, 1). The same forward
// as training/model.py's encoder (a parity test keeps them within 1e-4).
import * as tf from '@tensorflow/tfjs';
import { hasEncoder, type ModelConfig } from './config';
import { normalizeInput } from './forward';
import type { Params, PixelCNN } from './types';

/** Codes [B, d] of levels x [B, H, W, C] (0..K-1, float32). Throws one line for a model without an encoder or a wrong shape. */
export function encode(params: Params, config: ModelConfig, x: tf.Tensor4D): tf.Tensor2D {
  if (!hasEncoder(config)) throw new Error('encode: the model has no encoder (config.encoder)');
  const want = [config.height, config.width, config.channels];
  if (x.rank !== 4 || x.shape.slice(1).join(',') !== want.join(',')) {
    throw new Error(`encode: expected images [B, ${want.join(', ')}], got [${x.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    let a = normalizeInput(config, x) as tf.Tensor4D; // [B, H, W, C] in [-1, 1]
    config.encoder.channels.forEach((_, i) => {
      const padded = tf.pad(a, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const y = tf.conv2d(padded, params[`enc/conv${i}`] as tf.Tensor4D, 2, 'valid'); // [B, ceil(h/2), ceil(w/2), c]
      a = tf.relu(tf.add(y, params[`enc/conv${i}_bias`])) as tf.Tensor4D;
    });
    const flat = tf.reshape(a, [x.shape[0], -1]) as tf.Tensor2D; // NHWC order: channel fastest
    return tf.tanh(tf.add(tf.matMul(flat, params['enc/dense'] as tf.Tensor2D), params['enc/dense_bias'])) as tf.Tensor2D;
  });
}

/**
 * The code of each of `count` images given as levels [count, H, W, C] (row-major): one
 * Float32Array of d values per image. Reads back with data() (safe on WebGPU); no tensor
 * outlives the call.
 */
export async function encodeImages(model: PixelCNN, levels: ArrayLike<number>, count: number): Promise<Float32Array[]> {
  const { config } = model;
  const per = config.height * config.width * config.channels;
  if (levels.length !== count * per) {
    throw new Error(`encode: ${count} image(s) of ${config.height}x${config.width}x${config.channels} need ${count * per} values, got ${levels.length}`);
  }
  const x = tf.tensor4d(Float32Array.from(levels), [count, config.height, config.width, config.channels]);
  let codes: tf.Tensor2D | undefined;
  try {
    codes = encode(model.params, config, x);
    const flat = (await codes.data()) as Float32Array;
    const d = codes.shape[1];
    return Array.from({ length: count }, (_, i) => flat.slice(i * d, (i + 1) * d));
  } finally {
    x.dispose();
    codes?.dispose();
  }
}
