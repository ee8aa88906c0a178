// What the head's last 1x1 layer means. Two forms, both giving a distribution over the
// K levels of every sub-pixel:
//
//  - softmax (the paper): K free logits per sub-pixel.
//  - logistic: a mixture of M discretized logistics per sub-pixel (PixelCNN++, Salimans
//    et al. 2017): 3M numbers (mixture logits, means, log-scales on the [-1, 1] scale of
//    the input). Level k is the bin [c_k - d, c_k + d] around c_k = 2k/(K-1) - 1 with
//    d = 1/(K-1); the first and last bins reach to -inf and +inf, so the K probabilities
//    sum to one exactly. Neighbouring levels share their parameters, which is what makes
//    8-bit intensities learnable in a few epochs: a 256-way softmax must learn every
//    level's logit separately and sees most of the 250 grey levels rarely.
//
// Either way `outputLogits` turns the head's output into K log-probabilities per sub-pixel,
// so samplers, the app and the loss see the same [.., C, K] logits whatever the form. The
// loss does not need all K of them: `labelLogProbs` evaluates only the observed level,
// which for the logistic form is K times cheaper than the full grid.
import * as tf from '@tensorflow/tfjs';
import { logProbsOfLabels, softmaxCrossEntropy } from '../ops/loss';
import { outputsPerChannel, type ModelConfig } from './config';

/** Lower bound on log-scales (as in PixelCNN++): keeps 1/s finite. */
export const MIN_LOG_SCALE = -7;
/** Upper bound: a scale of e^3 spans 20x the whole [-1, 1] range; beyond it 1 - e^{-2d/s} loses float32 precision. */
export const MAX_LOG_SCALE = 3;

// tf-free, for the CPU sampler's threads
export { outputsPerChannel } from './config';


interface Mixture {
  /** log mixture weights [N, M] */
  logPi: tf.Tensor;
  mu: tf.Tensor;
  /** 1 / scale [N, M] */
  invS: tf.Tensor;
  /** log of one bin's probability mass for a mid-range level at zero offset: log(1 - e^{-2d/s}) */
  logBin: tf.Tensor;
}

function mixture(raw: tf.Tensor, M: number, K: number): Mixture {
  const [pi, mu, logS] = tf.split(raw, 3, -1);
  const invS = tf.exp(tf.neg(tf.clipByValue(logS, MIN_LOG_SCALE, MAX_LOG_SCALE)));
  // log(1 - e^{-2d/s}): 2d/s >= 2e^-3/(K-1), where float32 still holds 1 - e^{-x} to ~1e-4
  const logBin = tf.log(tf.sub(1, tf.exp(tf.mul(invS, -2 / (K - 1)))));
  return { logPi: tf.logSoftmax(pi), mu, invS, logBin };
}

/**
 * log P(level) for one mixture component, given the bin edges' scaled offsets
 * a = (c + d - mu)/s and b = a - 2d/s and 0/1 flags for the first and last level:
 * log(sigmoid(a) - sigmoid(b)) = log sigmoid(a) + log sigmoid(-b) + log(1 - e^{b-a}),
 * with the open-ended first bin (sigmoid(a)) and last bin (1 - sigmoid(b)).
 */
function componentLogProb(a: tf.Tensor, b: tf.Tensor, logBin: tf.Tensor, notLast: tf.Tensor, notFirst: tf.Tensor): tf.Tensor {
  const upper = tf.mul(tf.neg(tf.softplus(tf.neg(a))), notLast); // log sigmoid(a), unless last bin
  const lower = tf.mul(tf.neg(tf.softplus(b)), notFirst); // log(1 - sigmoid(b)), unless first bin
  return tf.add(tf.add(upper, lower), tf.mul(logBin, tf.mul(notLast, notFirst)));
}

/**
 * The head's output [..., C * perChannel] -> log-probabilities [..., C, K] (softmax: the
 * logits themselves, normalised later by whoever takes a softmax).
 */
export function outputLogits(config: ModelConfig, raw: tf.Tensor): tf.Tensor {
  const { channels: C, levels: K } = config;
  const lead = raw.shape.slice(0, -1);
  const o = config.output;
  if (o?.type !== 'logistic') return tf.reshape(raw, [...lead, C, K]);
  return tf.tidy(() => {
    const M = o.mixtures;
    const { logPi, mu, invS, logBin } = mixture(tf.reshape(raw, [-1, 3 * M]), M, K);
    const centres = new Float32Array(K);
    const notLast = new Float32Array(K).fill(1);
    const notFirst = new Float32Array(K).fill(1);
    for (let k = 0; k < K; k++) centres[k] = (2 * k) / (K - 1) - 1;
    notLast[K - 1] = 0;
    notFirst[0] = 0;
    const col = (t: tf.Tensor) => tf.expandDims(t, 2); // [N, M] -> [N, M, 1]
    const a = tf.mul(col(invS), tf.sub(tf.tensor1d(centres).add(1 / (K - 1)), col(mu))); // [N, M, K]
    const b = tf.sub(a, col(tf.mul(invS, 2 / (K - 1))));
    const lp = componentLogProb(a, b, col(logBin), tf.tensor1d(notLast), tf.tensor1d(notFirst));
    const logits = tf.logSumExp(tf.add(lp, col(logPi)), 1); // [N, K]
    return tf.reshape(logits, [...lead, C, K]);
  });
}

/**
 * log P of each observed level: raw [N, C * perChannel] (or any leading shape flattening
 * to N sub-pixels' worth), labels [N * C] int32 -> [N * C].
 */
export function labelLogProbs(config: ModelConfig, raw: tf.Tensor, labels: tf.Tensor1D): tf.Tensor1D {
  const { levels: K } = config;
  const o = config.output;
  if (o?.type !== 'logistic') return logProbsOfLabels(tf.reshape(raw, [-1, K]) as tf.Tensor2D, labels);
  return tf.tidy(() => {
    const M = o.mixtures;
    const { logPi, mu, invS, logBin } = mixture(tf.reshape(raw, [-1, 3 * M]), M, K);
    const lv = tf.reshape(tf.cast(labels, 'float32'), [-1, 1]);
    const c = tf.sub(tf.mul(lv, 2 / (K - 1)), 1);
    const a = tf.mul(invS, tf.sub(tf.add(c, 1 / (K - 1)), mu)); // [N, M]
    const b = tf.sub(a, tf.mul(invS, 2 / (K - 1)));
    const notLast = tf.cast(tf.less(lv, K - 1), 'float32');
    const notFirst = tf.cast(tf.greater(lv, 0), 'float32');
    const lp = componentLogProb(a, b, logBin, notLast, notFirst);
    return tf.logSumExp(tf.add(lp, logPi), 1) as tf.Tensor1D;
  });
}

/** Summed -log P of the observed levels (the training loss, nats): raw as in labelLogProbs. */
export function summedNats(config: ModelConfig, raw: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  if (config.output?.type === 'logistic') return tf.neg(tf.sum(labelLogProbs(config, raw, labels))) as tf.Scalar;
  // the softmax's own loss: one fused gradient (softmax - onehot) scaled by a scalar
  return softmaxCrossEntropy(tf.reshape(raw, [-1, config.levels]) as tf.Tensor2D, labels);
}
