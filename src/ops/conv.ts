// The few tensor ops the model is built from. Every convolution in the model is a
// stride-1 VALID convolution on an input the caller has already padded, so causality is
// decided by padding and cropping in the model, not here.
import * as tf from '@tensorflow/tfjs';

/** x [B, H, W, Cin] * w [kh, kw, Cin, Cout] -> [B, H-kh+1, W-kw+1, Cout] (VALID, stride 1). */
export function conv2dValid(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(x, w, 1, 'valid');
}

/** 1x1 convolution: x [..., Cin] * w [Cin, Cout] -> [..., Cout]. */
export function pointwise(x: tf.Tensor, w: tf.Tensor2D): tf.Tensor {
  const shape = x.shape;
  const cin = shape[shape.length - 1];
  const flat = tf.reshape(x, [-1, cin]) as tf.Tensor2D;
  const y = tf.matMul(flat, w);
  return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
}

/** Gated unit: a [..., 2p] -> tanh(a[..., :p]) * sigmoid(a[..., p:]) [..., p]. */
export function gate(a: tf.Tensor): tf.Tensor {
  const [f, g] = tf.split(a, 2, a.rank - 1);
  return tf.mul(tf.tanh(f), tf.sigmoid(g));
}
