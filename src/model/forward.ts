// The whole network, read top to bottom. Layer functions take inputs that are already
// padded, so the cached sampler (src/sampler/cached.ts) calls the very same functions on
// the small windows it keeps, and the full pass below is the reference it is tested on.
import * as tf from '@tensorflow/tfjs';
import { conv2dValid, gate, pointwise } from '../ops/conv';
import { condDim, isSpatial, type ModelConfig } from './config';
import { kernelMask, pointwiseMask } from './masks';
import { labelLogProbs, outputLogits, outputsPerChannel } from './output';
import { dilationOf, kernelOf, reachOf, spatialGrid } from './params';
import type { Condition, Params, PixelCNN } from './types';

/** Weights with their causal masks applied (masking is in the graph, so it trains too). */
export function maskedWeights(config: ModelConfig, params: Params): Params {
  const C = config.channels;
  const p = config.hidden;
  const W: Params = { ...params };
  const apply = (name: string, mask: Float32Array | null) => {
    const w = params[name];
    if (!w) throw new Error(`missing weight "${name}"`);
    if (mask) W[name] = tf.mul(w, tf.tensor(mask, w.shape));
  };
  for (let l = 0; l < config.layers; l++) {
    const k = kernelOf(config, l);
    const half = k >> 1;
    const cin = l === 0 ? C : p;
    const type = l === 0 ? 'A' : 'B';
    if (config.arch === 'gated') {
      // the vertical kernel never covers the current row (its input is shifted down)
      apply(`l${l}/h_conv`, kernelMask(1, half + 1, cin, 2 * p, half, C, type, true));
    } else {
      apply(`l${l}/conv`, kernelMask(half + 1, k, cin, 2 * p, half, C, type, true));
    }
    apply(`l${l}/out`, pointwiseMask(p, p, C));
  }
  apply('head/w1', pointwiseMask(p, config.headHidden, C));
  apply('head/w2', pointwiseMask(config.headHidden, C * outputsPerChannel(config), C));
  return W;
}

/** Levels 0..K-1 -> [-1, 1]. */
export function normalizeInput(config: ModelConfig, x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(x, 2 / (config.levels - 1)), 1);
}

/** [B, D] conditioning vectors: one-hot labels or embeddings; undefined when unconditional. */
export function condTensor(
  config: ModelConfig,
  condition: Condition | undefined,
  batch: number,
): tf.Tensor2D | undefined {
  const c = config.conditioning;
  if (c.type === 'none') return undefined;
  const D = condDim(c);
  const data = new Float32Array(batch * D);
  if (c.type === 'class') {
    const labels = condition?.labels;
    if (!labels || (labels.length !== batch && labels.length !== 1)) {
      throw new Error(`condition: the model is class-conditional; give 1 or ${batch} class labels`);
    }
    for (let b = 0; b < batch; b++) {
      const y = labels.length === 1 ? labels[0] : labels[b];
      if (!Number.isInteger(y) || y < 0 || y >= c.classes) {
        throw new Error(`condition: class ${y} is outside 0..${c.classes - 1}`);
      }
      data[b * D + y] = 1;
    }
  } else {
    const e = condition?.embeddings;
    if (!e || (e.length !== batch && e.length !== 1)) {
      throw new Error(`condition: the model is conditioned on a ${D}-d vector; give 1 or ${batch} embeddings`);
    }
    for (let b = 0; b < batch; b++) {
      const v = e.length === 1 ? e[0] : e[b];
      if (v.length !== D) throw new Error(`condition: embedding has length ${v.length}, expected ${D}`);
      for (let i = 0; i < D; i++) {
        if (!Number.isFinite(v[i])) throw new Error(`condition: embedding value ${i} is not finite (${v[i]})`);
      }
      data.set(v, b * D);
    }
  }
  return tf.tensor2d(data, [batch, D]);
}

/** s = m(h): dense -> coarse grid -> bilinear upsample to H x W -> 3x3 conv. [B, H, W, q] */
export function spatialMap(config: ModelConfig, W: Params, h: tf.Tensor2D): tf.Tensor4D {
  const q = config.spatialChannels!;
  const [gh, gw] = spatialGrid(config);
  const B = h.shape[0];
  const coarse = tf.relu(tf.add(tf.matMul(h, W['cond_map/dense'] as tf.Tensor2D), W['cond_map/dense_bias']));
  const grid = tf.reshape(coarse, [B, gh, gw, q]) as tf.Tensor4D;
  const up = tf.image.resizeBilinear(grid, [config.height, config.width]);
  const padded = tf.pad(up, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  return tf.add(conv2dValid(padded, W['cond_map/conv'] as tf.Tensor4D), W['cond_map/conv_bias']) as tf.Tensor4D;
}

/**
 * Per-layer conditioning terms added to the pre-gate maps: [B, 1, 1, 2p] (a bias, V^T h)
 * or [B, H, W, 2p] (location-dependent, V * s). Keys as the weights: l{l}/v_cond, ...
 */
export function condTerms(config: ModelConfig, W: Params, h: tf.Tensor2D | undefined): Params {
  const out: Params = {};
  if (!h) return out;
  const B = h.shape[0];
  const p2 = 2 * config.hidden;
  const s = isSpatial(config.conditioning) ? spatialMap(config, W, h) : undefined;
  const names =
    config.arch === 'gated' ? ['v_cond', 'h_cond'] : ['cond'];
  for (let l = 0; l < config.layers; l++) {
    for (const n of names) {
      const V = W[`l${l}/${n}`] as tf.Tensor2D;
      out[`l${l}/${n}`] = s ? pointwise(s, V) : tf.reshape(tf.matMul(h, V), [B, 1, 1, p2]);
    }
  }
  return out;
}

const addCond = (x: tf.Tensor, c: tf.Tensor | undefined) => (c ? tf.add(x, c) : x);

/** Vertical pre-gate from rows i-reach..i of its (padded) input; d: the layer's dilation. */
export function verticalPre(W: Params, l: number, vinPadded: tf.Tensor4D, cond?: tf.Tensor, d = 1): tf.Tensor4D {
  const y = tf.add(conv2dValid(vinPadded, W[`l${l}/v_conv`] as tf.Tensor4D, d), W[`l${l}/v_bias`]);
  return addCond(y, cond) as tf.Tensor4D;
}

/** Horizontal pre-gate: its own row to the left, plus the link from the vertical pre-gate. */
export function horizontalPre(
  W: Params,
  l: number,
  hinPadded: tf.Tensor4D,
  vpre: tf.Tensor,
  cond?: tf.Tensor,
  d = 1,
): tf.Tensor {
  const own = tf.add(conv2dValid(hinPadded, W[`l${l}/h_conv`] as tf.Tensor4D, d), W[`l${l}/h_bias`]);
  const link = tf.add(pointwise(vpre, W[`l${l}/link`] as tf.Tensor2D), W[`l${l}/link_bias`]);
  return addCond(tf.add(own, link), cond);
}

/** Gate, 1x1, and the residual (none in the causal first layer). */
export function layerOut(W: Params, l: number, pre: tf.Tensor, residual: tf.Tensor | null): tf.Tensor {
  const y = tf.add(pointwise(gate(pre), W[`l${l}/out`] as tf.Tensor2D), W[`l${l}/out_bias`]);
  return residual ? tf.add(residual, y) : y;
}

/** Output head: ReLU -> 1x1 -> ReLU -> 1x1 -> logits [..., C * K]. */
export function head(W: Params, h: tf.Tensor): tf.Tensor {
  const a = tf.relu(tf.add(pointwise(tf.relu(h), W['head/w1'] as tf.Tensor2D), W['head/b1']));
  return tf.add(pointwise(a, W['head/w2'] as tf.Tensor2D), W['head/b2']);
}

/** Masked baseline pre-gate: top half+1 rows of a k x k masked kernel. */
export function maskedPre(W: Params, l: number, inPadded: tf.Tensor4D, cond?: tf.Tensor, d = 1): tf.Tensor {
  const y = tf.add(conv2dValid(inPadded, W[`l${l}/conv`] as tf.Tensor4D, d), W[`l${l}/bias`]);
  return addCond(y, cond);
}

/** The trunk's output before the head: [B, H, W, p]. */
function trunk(config: ModelConfig, W: Params, xin: tf.Tensor4D, cond: Params): tf.Tensor4D {
  if (config.arch === 'masked') {
    let h: tf.Tensor4D = xin;
    for (let l = 0; l < config.layers; l++) {
      const r = reachOf(config, l);
      const padded = tf.pad(h, [[0, 0], [r, 0], [r, r], [0, 0]]);
      const pre = maskedPre(W, l, padded, cond[`l${l}/cond`], dilationOf(config, l));
      h = layerOut(W, l, pre, l === 0 ? null : h) as tf.Tensor4D;
    }
    return h;
  }
  const [B, H, Wd, C] = xin.shape;
  // Shift the vertical stack's input down one row, once: from then on the vertical stack
  // at row i has seen rows < i only, and the horizontal stack may link to it directly.
  let v: tf.Tensor4D = tf.concat([tf.zeros([B, 1, Wd, C]), tf.slice(xin, [0, 0, 0, 0], [B, H - 1, Wd, C])], 1);
  let h: tf.Tensor4D = xin;
  for (let l = 0; l < config.layers; l++) {
    const r = reachOf(config, l);
    const d = dilationOf(config, l);
    const vpre = verticalPre(W, l, tf.pad(v, [[0, 0], [r, 0], [r, r], [0, 0]]), cond[`l${l}/v_cond`], d);
    const hpre = horizontalPre(W, l, tf.pad(h, [[0, 0], [0, 0], [r, 0], [0, 0]]), vpre, cond[`l${l}/h_cond`], d);
    v = gate(vpre) as tf.Tensor4D;
    h = layerOut(W, l, hpre, l === 0 ? null : h) as tf.Tensor4D;
  }
  return h;
}

/** The head's raw output for every sub-pixel: [B, H, W, C * outputsPerChannel]. */
export function forwardRaw(model: PixelCNN, x: tf.Tensor4D, cond?: tf.Tensor2D): tf.Tensor {
  const { config, params } = model;
  checkInput(config, x);
  return tf.tidy(() => {
    const W = maskedWeights(config, params);
    const terms = condTerms(config, W, cond);
    return head(W, trunk(config, W, normalizeInput(config, x) as tf.Tensor4D, terms));
  });
}

/** Full forward pass. x: [B, H, W, C] levels (float32). Returns logits [B, H, W, C, K]. */
export function forward(model: PixelCNN, x: tf.Tensor4D, cond?: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => outputLogits(model.config, forwardRaw(model, x, cond)));
}

/** log p of every sub-pixel's observed level, [B * H * W * C]. x holds integer levels. */
export function subpixelLogProbs(model: PixelCNN, x: tf.Tensor4D, cond?: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const labels = tf.cast(tf.reshape(x, [-1]), 'int32') as tf.Tensor1D;
    return labelLogProbs(model.config, forwardRaw(model, x, cond), labels);
  });
}

function checkInput(config: ModelConfig, x: tf.Tensor): void {
  const want = [config.height, config.width, config.channels];
  if (x.rank !== 4 || x.shape[1] !== want[0] || x.shape[2] !== want[1] || x.shape[3] !== want[2]) {
    throw new Error(`input: expected shape [B, ${want.join(', ')}], got [${x.shape.join(', ')}]`);
  }
}

/** Negative log-likelihood per image in nats, [B]. x holds integer levels. */
export function nllNats(model: PixelCNN, x: tf.Tensor4D, cond?: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const picked = subpixelLogProbs(model, x, cond);
    return tf.neg(tf.sum(tf.reshape(picked, [x.shape[0], -1]), 1)) as tf.Tensor1D;
  });
}

/** nats per image -> bits per sub-pixel. */
export function bitsPerDim(natsPerImage: number, config: ModelConfig): number {
  return natsPerImage / (config.height * config.width * config.channels * Math.LN2);
}
