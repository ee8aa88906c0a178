// Softmax cross-entropy for the per-sub-pixel categorical outputs, fast on wasm.
//
// wasm's logSoftmax and exp are slow, softmax is fast (PLATFORM.md). log p is read off
// the softmax without underflow: with m = max(logits), the argmax entry of softmax is
// exactly 1/S where S = sum(exp(logits - m)), so
//   log p[label] = logits[label] - m - log S = logits[label] - m + log(max(softmax)),
// and max(softmax) >= 1/K never underflows. The gradient is softmax - onehot.
import * as tf from '@tensorflow/tfjs';

function checkInputs(name: string, logits: tf.Tensor, labels: tf.Tensor): void {
  if (logits.rank !== 2) throw new Error(`${name}: logits must be [N, K], got shape [${logits.shape}]`);
  if (labels.rank !== 1) throw new Error(`${name}: labels must be [N], got shape [${labels.shape}]`);
  if (labels.dtype !== 'int32') throw new Error(`${name}: labels must be int32, got ${labels.dtype}`);
  if (labels.shape[0] !== logits.shape[0]) {
    throw new Error(`${name}: ${logits.shape[0]} rows of logits but ${labels.shape[0]} labels`);
  }
}

/**
 * [N] int32 -> [N, K] float32 one-hot. tf.oneHot(.., 'float32') is wrong on wasm: its
 * kernel writes int32 bits whatever the dtype (tfjs-backend-wasm 4.22), so cast instead.
 */
export function oneHotFloat(labels: tf.Tensor1D, k: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(labels, k), 'float32') as tf.Tensor2D;
}

/** Picks logits[i, labels[i]] -> [N]. */
function pickLabels(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const [n, k] = logits.shape;
  const flatIndex = tf.add(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(k, "int32")), labels); // [N]
  return tf.gather(tf.reshape(logits, [-1]), flatIndex) as tf.Tensor1D;
}

/** log p(label) per row, and the softmax it came from. */
function logProbsAndSoftmax(logits: tf.Tensor2D, labels: tf.Tensor1D): [tf.Tensor1D, tf.Tensor2D] {
  const p = tf.softmax(logits); // [N, K]
  const m = tf.max(logits, 1); // [N]
  const logS = tf.neg(tf.log(tf.max(p, 1))); // [N] log sum exp(logits - m)
  const logp = tf.sub(tf.sub(pickLabels(logits, labels), m), logS) as tf.Tensor1D;
  return [logp, p];
}

/**
 * log p(label) of each row: logits [N, K], labels int32 [N] -> [N] (nats).
 * Differentiable (gradient onehot - softmax per row, scaled by dy).
 */
export function logProbsOfLabels(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  checkInputs('logProbsOfLabels', logits, labels);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[1] as tf.GradSaveFunc;
    const [logp, p] = logProbsAndSoftmax(args[0] as tf.Tensor2D, labels);
    save([p]);
    return {
      value: logp,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const diff = tf.sub(oneHotFloat(labels, logits.shape[1]), saved[0]); // [N, K]
        return [tf.mul(diff, tf.reshape(dy, [-1, 1]))];
      },
    };
  });
  return op(logits) as tf.Tensor1D;
}

/**
 * Summed softmax cross-entropy: logits [N, K], labels int32 [N] -> scalar sum_i -log p_i(label_i)
 * in nats. Gradient: (softmax - onehot) * dy.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  checkInputs('softmaxCrossEntropy', logits, labels);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[1] as tf.GradSaveFunc;
    const [logp, p] = logProbsAndSoftmax(args[0] as tf.Tensor2D, labels);
    save([p]);
    return {
      value: tf.neg(tf.sum(logp)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const diff = tf.sub(saved[0], oneHotFloat(labels, logits.shape[1])); // [N, K]
        return [tf.mul(diff, dy)];
      },
    };
  });
  return op(logits) as tf.Scalar;
}
