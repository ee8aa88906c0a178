// A class-conditional PixelCNN is also a classifier: p(c | x) = p(x | c) p(c) / sum_c' p(x | c') p(c')
// (Bayes, uniform prior). Each image is scored under every class in one batched forward
// pass: the batch holds each image `classes` times, each copy with another label.
import * as tf from '@tensorflow/tfjs';
import { condTensor, subpixelLogProbs, type PixelCNN } from './index';
import { posterior } from './posterior';

export { posterior } from './posterior';

function classesOf(model: PixelCNN): number {
  const c = model.config.conditioning;
  if (c.type !== 'class') throw new Error(`classify: the model is not class-conditional (conditioning ${c.type})`);
  return c.classes;
}

/**
 * log p of every sub-pixel of every image under every class, nats: [B, classes, H*W*C].
 * x: [B, H, W, C] integer levels. One forward pass of B * classes images.
 */
export function classSubpixelLogProbs(model: PixelCNN, x: tf.Tensor4D): tf.Tensor3D {
  const K = classesOf(model);
  const [B, H, W, C] = x.shape;
  return tf.tidy(() => {
    // [B * K, H, W, C]: image b's copies at rows b*K .. b*K+K-1
    const tiled = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, K, 1, 1, 1]), [B * K, H, W, C]) as tf.Tensor4D;
    const labels = Array.from({ length: B * K }, (_, i) => i % K);
    const cond = condTensor(model.config, { labels }, B * K);
    return tf.reshape(subpixelLogProbs(model, tiled, cond), [B, K, H * W * C]) as tf.Tensor3D;
  });
}

/** log p(x | c) in nats for every image and class: [B, classes]. */
export function classLogLikelihoods(model: PixelCNN, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => tf.sum(classSubpixelLogProbs(model, x), 2) as tf.Tensor2D);
}

export interface Classified {
  /** log p(x | c), nats, [count * classes] */
  logLik: Float64Array;
  /** p(c | x), [count * classes]; each image's row sums to 1 */
  probs: Float64Array;
  /** the most probable class of each image */
  predicted: number[];
}

/**
 * Classifies `count` images ([count, H, W, C] integer levels) by Bayes, `batch` images
 * (each scored under every class) per forward pass.
 */
export async function classify(model: PixelCNN, levels: ArrayLike<number>, count: number, batch = 8): Promise<Classified> {
  const K = classesOf(model);
  const { height: H, width: W, channels: C } = model.config;
  const per = H * W * C;
  if (levels.length !== count * per) throw new Error(`classify: expected ${count} x ${H}x${W}x${C} levels, got ${levels.length} values`);
  const logLik = new Float64Array(count * K);
  for (let i = 0; i < count; i += batch) {
    const b = Math.min(batch, count - i);
    const chunk = Float32Array.from({ length: b * per }, (_, j) => levels[i * per + j]);
    const x = tf.tensor4d(chunk, [b, H, W, C]);
    const ll = classLogLikelihoods(model, x);
    try {
      logLik.set(await ll.data(), i * K);
    } finally {
      tf.dispose([x, ll]);
    }
  }
  const probs = new Float64Array(count * K);
  const predicted: number[] = [];
  for (let n = 0; n < count; n++) {
    const p = posterior(logLik.subarray(n * K, (n + 1) * K));
    probs.set(p, n * K);
    predicted.push(p.indexOf(Math.max(...p)));
  }
  return { logLik, probs, predicted };
}
