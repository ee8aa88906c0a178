// Classifier-free guidance (Ho & Salimans 2022) for an autoregressive sampler: every
// sub-pixel is drawn from softmax(((1 + g) l_c - g l_u) / T), where l_c and l_u are the
// log-softmax logits of the conditional and the unconditional model. Both come from one
// network run on more "streams" per image, all seeing the same pixels:
//  - 'null': 2 streams, the image's condition and the model's null condition;
//  - 'mixture' (a class model without a null slot): one stream per class, and
//    p(x_i | x_<i) = sum_c p(c | x_<i) p(x_i | x_<i, c), where p(c | x_<i) is each class's
//    likelihood of the sub-pixels so far (uniform prior), renormalised after every draw.
// Stream s of image n is batch row n * S + s. g = 0 runs one stream: today's sampler.
import * as tf from '@tensorflow/tfjs';
import { condTensor, isNullable, subpixelLogProbs, type Condition, type PixelCNN } from '../model';
import type { SampleOptions } from './types';
import { normalizeLogPost } from './guideMath';

export { expandImages, guidedProbs, normalizeLogPost, updateLogPost } from './guideMath';

export interface GuidePlan {
  kind: 'none' | 'null' | 'mixture';
  g: number;
  /** images */
  N: number;
  /** streams per image */
  S: number;
  /** the condition of every stream, [N * S] rows */
  condition: Condition | undefined;
  /** per image: the stream whose logits are l_c */
  condStream: Int32Array;
}

function pick<T>(list: T[] | undefined, n: number): T | undefined {
  if (!list) return undefined;
  return list.length === 1 ? list[0] : list[n];
}

/** Validates guidance options and lays out the streams. */
export function guidePlan(model: PixelCNN, opts: SampleOptions): GuidePlan {
  const N = opts.count;
  const c = model.config.conditioning;
  const g = opts.guidance ?? 0;
  if (typeof g !== 'number' || !Number.isFinite(g) || g < 0) {
    throw new Error(`sampler: guidance must be a number >= 0, got ${g}`);
  }
  const src = opts.unconditional;
  if (src !== undefined && src !== 'null' && src !== 'mixture') {
    throw new Error(`sampler: unconditional must be "null" or "mixture", got ${JSON.stringify(src)}`);
  }
  // the caller's condition, checked against the caller's count (errors name their count)
  condTensor(model.config, opts.condition, N)?.dispose();
  if (g === 0) return { kind: 'none', g: 0, N, S: 1, condition: opts.condition, condStream: new Int32Array(N) };
  if (c.type === 'none') throw new Error('sampler: guidance needs a conditional model; this one is unconditional');
  const kind = src ?? (isNullable(c) ? 'null' : c.type === 'class' ? 'mixture' : undefined);
  if (kind === undefined) {
    throw new Error('sampler: guidance on a vector-conditioned model needs a null condition (conditioning.nullable); this model has none');
  }
  const cond = opts.condition ?? {};
  if (kind === 'null') {
    if (!isNullable(c)) throw new Error('sampler: unconditional "null" needs a model with a null condition (conditioning.nullable)');
    const labels = cond.labels && Array.from({ length: 2 * N }, (_, b) => pick(cond.labels, b >> 1)!);
    const embeddings = cond.embeddings && Array.from({ length: 2 * N }, (_, b) => pick(cond.embeddings, b >> 1)!);
    const unconditional = Array.from({ length: 2 * N }, (_, b) => (b % 2 === 1 ? true : pick(cond.unconditional, b >> 1) === true));
    return { kind, g, N, S: 2, condition: { labels, embeddings, unconditional }, condStream: new Int32Array(N) };
  }
  if (c.type !== 'class') throw new Error('sampler: unconditional "mixture" needs a class-conditional model');
  const S = c.classes;
  const condStream = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    if (pick(cond.unconditional, n) === true) {
      throw new Error(`sampler: unconditional "mixture" guides towards a class; image ${n} asks for the null condition`);
    }
    condStream[n] = pick(cond.labels, n)!;
  }
  const labels = Array.from({ length: N * S }, (_, b) => b % S);
  return { kind, g, N, S, condition: { labels }, condStream };
}

/**
 * log p(c | given sub-pixels) per stream [N * S] for the mixture: one full forward pass of
 * every stream over the prefix xs [N * S, H, W, C] (sub-pixels past `length` are ignored).
 */
export async function prefixLogPost(model: PixelCNN, plan: GuidePlan, xs: Uint8Array, length: number): Promise<Float64Array> {
  const { N, S } = plan;
  const w = new Float64Array(N * S);
  if (length > 0) {
    const { height: H, width: Wd, channels: C } = model.config;
    const lp = tf.tidy(() => {
      const h = condTensor(model.config, plan.condition, N * S);
      return subpixelLogProbs(model, tf.tensor4d(xs, [N * S, H, Wd, C], 'float32'), h);
    });
    const v = (await lp.data()) as Float32Array;
    lp.dispose();
    const size = H * Wd * C;
    for (let b = 0; b < N * S; b++) {
      let sum = 0;
      for (let i = 0; i < length; i++) sum += v[b * size + i];
      w[b] = sum;
    }
  }
  normalizeLogPost(w, N, S);
  return w;
}
