// What the model is conditioned on, turned into the terms every gate adds (paper eq. 4/5).
//  - condTensor: a batch's Condition -> h, [B, D]: a one-hot class or an embedding, and for
//    a nullable model one more slot, the null flag (a real condition has 0 there; the null
//    condition is all zeros with 1 there), so one network also gives p(x) without a label.
//  - spatialMap: s = m(h), the location-dependent form, an H x W map made from h.
//  - condTerms: per layer and stack, V^T h (a per-channel bias) or V * s (a 1x1 on s).
import * as tf from '@tensorflow/tfjs';
import { conv2dValid, pointwise } from '../ops/conv';
import { condDim, isNullable, isSpatial, type ModelConfig } from './config';
import { spatialGrid } from './params';
import type { Condition, Params } from './types';

/** Which images of a batch get the null condition; throws when the model has none. */
function unconditionalRows(config: ModelConfig, condition: Condition | undefined, batch: number): boolean[] {
  const u = condition?.unconditional;
  const rows = new Array<boolean>(batch).fill(false);
  if (u === undefined) return rows;
  if (!Array.isArray(u) || (u.length !== batch && u.length !== 1)) {
    throw new Error(`condition: give 1 or ${batch} unconditional flags, got ${Array.isArray(u) ? u.length : JSON.stringify(u)}`);
  }
  for (const f of u) if (typeof f !== 'boolean') throw new Error(`condition: unconditional flags must be true or false, got ${JSON.stringify(f)}`);
  for (let b = 0; b < batch; b++) rows[b] = u.length === 1 ? u[0] : u[b];
  if (rows.some(Boolean) && !isNullable(config.conditioning)) {
    throw new Error('condition: unconditional was asked for, but the model has no null condition (conditioning.nullable is not set)');
  }
  return rows;
}

/**
 * [B, D] conditioning vectors h: one-hot labels or embeddings (plus the null flag slot on a
 * nullable model); undefined when the model is unconditional. `condition.unconditional`
 * (one flag per image, or one for all) selects the null condition for those images: their
 * label or embedding is ignored and may be absent.
 */
export function condTensor(
  config: ModelConfig,
  condition: Condition | undefined,
  batch: number,
): tf.Tensor2D | undefined {
  const c = config.conditioning;
  const nullRows = unconditionalRows(config, condition, batch);
  if (c.type === 'none') return undefined;
  const D = condDim(c);
  const nullable = isNullable(c);
  const data = new Float32Array(batch * D);
  const anyReal = nullRows.some((u) => !u);
  if (c.type === 'class') {
    const labels = condition?.labels;
    if (anyReal && (!labels || (labels.length !== batch && labels.length !== 1))) {
      throw new Error(`condition: the model is class-conditional; give 1 or ${batch} class labels`);
    }
    for (let b = 0; b < batch; b++) {
      if (nullRows[b]) continue;
      const y = labels!.length === 1 ? labels![0] : labels![b];
      if (!Number.isInteger(y) || y < 0 || y >= c.classes) {
        throw new Error(`condition: class ${y} is outside 0..${c.classes - 1}`);
      }
      data[b * D + y] = 1;
    }
  } else {
    const e = condition?.embeddings;
    const dim = c.dim;
    if (anyReal && (!e || (e.length !== batch && e.length !== 1))) {
      throw new Error(`condition: the model is conditioned on a ${dim}-d vector; give 1 or ${batch} embeddings`);
    }
    for (let b = 0; b < batch; b++) {
      if (nullRows[b]) continue;
      const v = e!.length === 1 ? e![0] : e![b];
      if (v.length !== dim) throw new Error(`condition: embedding has length ${v.length}, expected ${dim}`);
      for (let i = 0; i < dim; i++) {
        if (!Number.isFinite(v[i])) throw new Error(`condition: embedding value ${i} is not finite (${v[i]})`);
      }
      data.set(v, b * D);
    }
  }
  // the null condition: all zeros but the last slot
  if (nullable) for (let b = 0; b < batch; b++) if (nullRows[b]) data[b * D + D - 1] = 1;
  return tf.tensor2d(data, [batch, D]);
}

/** s = m(h): dense -> coarse grid -> bilinear upsample to H x W -> 3x3 conv. [B, H, W, q] */
export function spatialMap(config: ModelConfig, weights: Params, h: tf.Tensor2D): tf.Tensor4D {
  const q = config.spatialChannels!;
  const [gh, gw] = spatialGrid(config);
  const B = h.shape[0];
  const coarse = tf.relu(tf.add(tf.matMul(h, weights['cond_map/dense'] as tf.Tensor2D), weights['cond_map/dense_bias']));
  const grid = tf.reshape(coarse, [B, gh, gw, q]) as tf.Tensor4D;
  const up = tf.image.resizeBilinear(grid, [config.height, config.width]);
  const padded = tf.pad(up, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  return tf.add(conv2dValid(padded, weights['cond_map/conv'] as tf.Tensor4D), weights['cond_map/conv_bias']) as tf.Tensor4D;
}

/**
 * Per-layer conditioning terms added to the pre-gate maps: [B, 1, 1, 2p] (a bias, V^T h)
 * or [B, H, W, 2p] (location-dependent, V * s). Keys as the weights: l{l}/v_cond, ...
 */
export function condTerms(config: ModelConfig, weights: Params, h: tf.Tensor2D | undefined): Params {
  const out: Params = {};
  if (!h) return out;
  const B = h.shape[0];
  const p2 = 2 * config.hidden;
  const s = isSpatial(config.conditioning) ? spatialMap(config, weights, h) : undefined;
  const names = config.arch === 'gated' ? ['v_cond', 'h_cond'] : ['cond'];
  for (let l = 0; l < config.layers; l++) {
    for (const n of names) {
      const V = weights[`l${l}/${n}`] as tf.Tensor2D;
      out[`l${l}/${n}`] = s ? pointwise(s, V) : tf.reshape(tf.matMul(h, V), [B, 1, 1, p2]);
    }
  }
  return out;
}
