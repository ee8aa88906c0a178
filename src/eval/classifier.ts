// The independent MNIST classifier `npm run fidelity` reads samples with: a small CNN
// (conv 5x5x32, 2x2 max pool, conv 5x5x64, 2x2 max pool, dense 10) trained by the PyTorch
// side (python -m training.classifier) on the 55k training split, stored as a folder
// (model.json with format "mnist-classifier" + one float16 shard). A parity test
// (training/tests/test_classifier.py) keeps this forward equal to PyTorch's.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { float16ToFloat32 } from '../io/float16';

export const CLASSIFIER_FORMAT = 'mnist-classifier';

const SPECS: [string, number[]][] = [
  ['conv1', [5, 5, 1, 32]],
  ['conv1_bias', [32]],
  ['conv2', [5, 5, 32, 64]],
  ['conv2_bias', [64]],
  ['dense', [7 * 7 * 64, 10]],
  ['dense_bias', [10]],
];

export interface Classifier {
  weights: Record<string, tf.Tensor>;
  metadata: Record<string, unknown>;
}

/** Reads a classifier folder; a bad file is a one-line error naming it. */
export function loadClassifier(dir: string): Classifier {
  const file = path.join(dir, 'model.json');
  let json: { format?: unknown; weightsManifest?: { paths: string[]; weights: { name: string; shape: number[] }[] }[]; metadata?: Record<string, unknown> };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the classifier (${(e as Error).message.split('\n')[0]})`);
  }
  if (json.format !== CLASSIFIER_FORMAT) throw new Error(`${file}: format is ${JSON.stringify(json.format)}, expected "${CLASSIFIER_FORMAT}"`);
  const group = json.weightsManifest?.[0];
  if (!group || group.weights.map((w) => `${w.name}:${w.shape}`).join() !== SPECS.map(([n, s]) => `${n}:${s}`).join()) {
    throw new Error(`${file}: weightsManifest does not list the classifier's tensors (${SPECS.map(([n]) => n).join(', ')})`);
  }
  const shard = path.join(dir, group.paths[0]);
  const bytes = fs.readFileSync(shard);
  const need = SPECS.reduce((n, [, s]) => n + 2 * s.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== need) throw new Error(`${shard}: ${bytes.length} bytes, the classifier needs ${need}`);
  const all = float16ToFloat32(new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  const weights: Record<string, tf.Tensor> = {};
  let off = 0;
  for (const [name, shape] of SPECS) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = all.subarray(off, off + n);
    if (v.some((x) => !Number.isFinite(x))) throw new Error(`${shard}: tensor '${name}' holds a non-finite value`);
    weights[name] = tf.tensor(v.slice(), shape);
    off += n;
  }
  return { weights, metadata: json.metadata ?? {} };
}

/** Logits [B, 10] of images given as pixels 0..255, [B, 28, 28, 1]. */
export function classifierLogits(c: Classifier, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const W = c.weights;
    const block = (a: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor) =>
      tf.maxPool(tf.relu(tf.add(tf.conv2d(a, w as tf.Tensor4D, 1, 'same'), b)) as tf.Tensor4D, 2, 2, 'valid');
    const a = block(block(tf.div(x, 255), W.conv1, W.conv1_bias), W.conv2, W.conv2_bias);
    return tf.add(tf.matMul(tf.reshape(a, [x.shape[0], -1]), W.dense as tf.Tensor2D), W.dense_bias) as tf.Tensor2D;
  });
}

/** The predicted class of each image (pixels 0..255, [B * 784]). */
export async function classify(c: Classifier, pixels: Uint8Array, count: number): Promise<number[]> {
  const logits = tf.tidy(() => classifierLogits(c, tf.tensor4d(Float32Array.from(pixels), [count, 28, 28, 1])));
  const best = tf.argMax(logits, 1);
  const out = Array.from(await best.data());
  tf.dispose([logits, best]);
  return out;
}

export function disposeClassifier(c: Classifier): void {
  tf.dispose(Object.values(c.weights));
}
