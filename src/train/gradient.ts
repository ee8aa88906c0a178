// The one computation training repeats: the summed cross-entropy of a batch and its
// gradient with respect to every weight, from and into flat Float32Arrays. A worker
// thread and the single-process path both call exactly this.
import * as tf from '@tensorflow/tfjs';
import { condTensor, forwardRaw, labelLogProbs, paramShapes, summedNats, type ModelConfig, type Params } from '../model';
import { installFastBroadcastGradients, installZeroCopyIdentity, withReductionMemo } from './fastgrads.ts';

export interface ParamLayout {
  names: string[];
  shapes: number[][];
  /** start of each tensor in the flat array */
  offsets: number[];
  sizes: number[];
  total: number;
}

export function paramLayout(config: ModelConfig): ParamLayout {
  const names: string[] = [];
  const shapes: number[][] = [];
  const offsets: number[] = [];
  const sizes: number[] = [];
  let total = 0;
  for (const { name, shape } of paramShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    names.push(name);
    shapes.push(shape);
    offsets.push(total);
    sizes.push(n);
    total += n;
  }
  return { names, shapes, offsets, sizes, total };
}

/** Copies tensors (named as in the layout) into one flat array. */
export function flattenParams(layout: ParamLayout, params: Params): Float32Array {
  const flat = new Float32Array(layout.total);
  layout.names.forEach((name, i) => {
    const t = params[name];
    if (!t) throw new Error(`params: missing weight "${name}"`);
    if (t.size !== layout.sizes[i]) throw new Error(`params: "${name}" has ${t.size} values, expected ${layout.sizes[i]}`);
    flat.set(t.dataSync() as Float32Array, layout.offsets[i]);
  });
  return flat;
}

/** New tensors holding the flat values (the caller disposes them). */
export function unflattenParams(layout: ParamLayout, flat: Float32Array): Params {
  const params: Params = {};
  layout.names.forEach((name, i) => {
    const o = layout.offsets[i];
    params[name] = tf.tensor(flat.slice(o, o + layout.sizes[i]), layout.shapes[i], 'float32');
  });
  return params;
}

/** A batch of images as the model's input: [B, H, W, C] float32 levels. */
export function imagesTensor(config: ModelConfig, images: Uint8Array, batch: number): tf.Tensor4D {
  const n = batch * config.height * config.width * config.channels;
  if (images.length !== n) throw new Error(`batch: ${images.length} pixel values for ${batch} images, expected ${n}`);
  return tf.tensor4d(Float32Array.from(images), [batch, config.height, config.width, config.channels]);
}

function condOf(config: ModelConfig, labels: Uint8Array, batch: number): tf.Tensor2D | undefined {
  if (config.conditioning.type === 'none') return undefined;
  if (config.conditioning.type !== 'class') {
    throw new Error(`train: conditioning "${config.conditioning.type}" is not supported by the MNIST pipeline (use class or none)`);
  }
  return condTensor(config, { labels: Array.from(labels) }, batch);
}

/** The target level of every sub-pixel: [B*H*W*C] int32. */
export function targetLevels(images: Uint8Array): tf.Tensor1D {
  return tf.tensor1d(Int32Array.from(images), 'int32');
}

/**
 * Summed nats of a batch under the model: a scalar, differentiable in `params`.
 * `targets` must outlive the gradient computation (the loss's backward pass reads it),
 * so it is made outside the differentiated function.
 */
export function batchNats(
  config: ModelConfig,
  params: Params,
  x: tf.Tensor4D,
  targets: tf.Tensor1D,
  cond: tf.Tensor2D | undefined,
): tf.Scalar {
  return summedNats(config, forwardRaw({ config, params }, x, cond), targets);
}

/**
 * Gradient of (summed nats of the batch) * scale, added into `gradOut` (so shards of one
 * batch can accumulate). Returns the summed nats (unscaled).
 */
export function accumulateGradient(
  config: ModelConfig,
  layout: ParamLayout,
  flatParams: Float32Array,
  images: Uint8Array,
  labels: Uint8Array,
  scale: number,
  gradOut: Float32Array,
): number {
  installFastBroadcastGradients();
  installZeroCopyIdentity();
  const batch = labels.length;
  const params = unflattenParams(layout, flatParams);
  const x = imagesTensor(config, images, batch);
  const targets = targetLevels(images);
  const cond = condOf(config, labels, batch);
  const list = layout.names.map((n) => params[n]);
  try {
    const { value, grads } = withReductionMemo(() =>
      tf.tidy(() =>
        tf.valueAndGrads((...ws: tf.Tensor[]) => {
          const p: Params = {};
          layout.names.forEach((n, i) => (p[n] = ws[i]));
          return tf.mul(batchNats(config, p, x, targets, cond), scale) as tf.Scalar;
        })(list),
      ),
    );
    const nats = (value.dataSync()[0] as number) / scale;
    grads.forEach((g, i) => {
      const d = g.dataSync() as Float32Array;
      const o = layout.offsets[i];
      for (let j = 0; j < d.length; j++) gradOut[o + j] += d[j];
    });
    value.dispose();
    tf.dispose(grads);
    return nats;
  } finally {
    tf.dispose(list);
    tf.dispose([x, targets]);
    cond?.dispose();
  }
}

/** Summed nats of each image (no gradient), [batch] as a Float64Array. */
export function imageNats(
  config: ModelConfig,
  layout: ParamLayout,
  flatParams: Float32Array,
  images: Uint8Array,
  labels: Uint8Array,
): Float64Array {
  const batch = labels.length;
  const params = unflattenParams(layout, flatParams);
  const x = imagesTensor(config, images, batch);
  const targets = targetLevels(images);
  const cond = condOf(config, labels, batch);
  try {
    const per = tf.tidy(() => {
      const logp = labelLogProbs(config, forwardRaw({ config, params }, x, cond), targets); // [B*H*W*C]
      return tf.neg(tf.sum(tf.reshape(logp, [batch, -1]), 1));
    });
    const out = Float64Array.from(per.dataSync());
    per.dispose();
    return out;
  } finally {
    tf.dispose(Object.values(params));
    tf.dispose([x, targets]);
    cond?.dispose();
  }
}
