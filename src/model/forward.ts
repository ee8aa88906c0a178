// The whole network, read top to bottom. Layer functions take inputs that are already
// padded, so the cached sampler (src/sampler/cached.ts) calls the very same functions on
// the small windows it keeps, and the full pass below is the reference it is tested on.
import * as tf from '@tensorflow/tfjs';
import { conv2dValid, gate, pointwise } from '../ops/conv';
import { condTerms } from './conditioning';
import type { ModelConfig } from './config';
import { kernelMask, pointwiseMask } from './masks';
import { labelLogProbs, outputLogits, outputsPerChannel } from './output';
import { dilationOf, kernelOf, reachOf } from './params';
import type { Params, PixelCNN } from './types';

/** Weights with their causal masks applied (masking is in the graph, so it trains too). */
export function maskedWeights(config: ModelConfig, params: Params): Params {
  const C = config.channels;
  const p = config.hidden;
  const masked: Params = { ...params };
  const apply = (name: string, mask: Float32Array | null) => {
    const w = params[name];
    if (!w) throw new Error(`missing weight "${name}"`);
    if (mask) masked[name] = tf.mul(w, tf.tensor(mask, w.shape));
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
  return masked;
}

/** Levels 0..K-1 -> [-1, 1]. */
export function normalizeInput(config: ModelConfig, x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(x, 2 / (config.levels - 1)), 1);
}

const addCond = (x: tf.Tensor, c: tf.Tensor | undefined) => (c ? tf.add(x, c) : x);

/** Vertical pre-gate from rows i-reach..i of its (padded) input; d: the layer's dilation. */
export function verticalPre(weights: Params, l: number, vinPadded: tf.Tensor4D, cond?: tf.Tensor, d = 1): tf.Tensor4D {
  const y = tf.add(conv2dValid(vinPadded, weights[`l${l}/v_conv`] as tf.Tensor4D, d), weights[`l${l}/v_bias`]);
  return addCond(y, cond) as tf.Tensor4D;
}

/** Horizontal pre-gate: its own row to the left, plus the link from the vertical pre-gate. */
export function horizontalPre(
  weights: Params,
  l: number,
  hinPadded: tf.Tensor4D,
  vpre: tf.Tensor,
  cond?: tf.Tensor,
  d = 1,
): tf.Tensor {
  const own = tf.add(conv2dValid(hinPadded, weights[`l${l}/h_conv`] as tf.Tensor4D, d), weights[`l${l}/h_bias`]);
  const link = tf.add(pointwise(vpre, weights[`l${l}/link`] as tf.Tensor2D), weights[`l${l}/link_bias`]);
  return addCond(tf.add(own, link), cond);
}

/** Gate, 1x1, and the residual (none in the causal first layer). */
export function layerOut(weights: Params, l: number, pre: tf.Tensor, residual: tf.Tensor | null): tf.Tensor {
  const y = tf.add(pointwise(gate(pre), weights[`l${l}/out`] as tf.Tensor2D), weights[`l${l}/out_bias`]);
  return residual ? tf.add(residual, y) : y;
}

/** Output head: ReLU -> 1x1 -> ReLU -> 1x1 -> logits [..., C * K]. */
export function head(weights: Params, h: tf.Tensor): tf.Tensor {
  const a = tf.relu(tf.add(pointwise(tf.relu(h), weights['head/w1'] as tf.Tensor2D), weights['head/b1']));
  return tf.add(pointwise(a, weights['head/w2'] as tf.Tensor2D), weights['head/b2']);
}

/** Masked baseline pre-gate: top half+1 rows of a k x k masked kernel. */
export function maskedPre(weights: Params, l: number, inPadded: tf.Tensor4D, cond?: tf.Tensor, d = 1): tf.Tensor {
  const y = tf.add(conv2dValid(inPadded, weights[`l${l}/conv`] as tf.Tensor4D, d), weights[`l${l}/bias`]);
  return addCond(y, cond);
}

/** The trunk's output before the head: [B, H, W, p]. */
function trunk(config: ModelConfig, weights: Params, xin: tf.Tensor4D, cond: Params): tf.Tensor4D {
  if (config.arch === 'masked') {
    let h: tf.Tensor4D = xin;
    for (let l = 0; l < config.layers; l++) {
      const r = reachOf(config, l);
      const padded = tf.pad(h, [[0, 0], [r, 0], [r, r], [0, 0]]);
      const pre = maskedPre(weights, l, padded, cond[`l${l}/cond`], dilationOf(config, l));
      h = layerOut(weights, l, pre, l === 0 ? null : h) as tf.Tensor4D;
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
    const vpre = verticalPre(weights, l, tf.pad(v, [[0, 0], [r, 0], [r, r], [0, 0]]), cond[`l${l}/v_cond`], d);
    const hpre = horizontalPre(weights, l, tf.pad(h, [[0, 0], [0, 0], [r, 0], [0, 0]]), vpre, cond[`l${l}/h_cond`], d);
    v = gate(vpre) as tf.Tensor4D;
    h = layerOut(weights, l, hpre, l === 0 ? null : h) as tf.Tensor4D;
  }
  return h;
}

/** The head's raw output for every sub-pixel: [B, H, W, C * outputsPerChannel]. */
export function forwardRaw(model: PixelCNN, x: tf.Tensor4D, cond?: tf.Tensor2D): tf.Tensor {
  const { config, params } = model;
  checkInput(config, x);
  return tf.tidy(() => {
    const masked = maskedWeights(config, params);
    const terms = condTerms(config, masked, cond);
    return head(masked, trunk(config, masked, normalizeInput(config, x) as tf.Tensor4D, terms));
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
