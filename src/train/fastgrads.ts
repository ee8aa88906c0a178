// Faster gradients for broadcasting Add/Sub on wasm. tfjs reduces the gradient of a
// broadcast input (a bias [C] added to [B, H, W, C], a conditioning term [B, 1, 1, C])
// with tf.sum over the broadcast axes, which on wasm runs at ~50M values/s when the
// reduced axes are not the last ones: measured 10 ms for [16, 28, 28, 64] -> [64],
// against 0.3 ms for the same reduction as matMul(ones[1, N], dy[N, C]). A training step
// has dozens of these. Installed only in processes that train (the workers and the
// single-thread engine); values are the same sums, in a different order.
import * as tf from '@tensorflow/tfjs';

// Inside withReductionMemo, reductions are remembered by the data they read (tensor data
// is immutable, so a data id names its values): in a gated layer one pre-gate gradient is
// reduced three times (its bias, the link's bias, the per-image conditioning term), and the
// bias sum can be read off the per-image sums, which the backward pass computes first.
let memo: Map<object, { shape: number[]; t: tf.Tensor }[]> | null = null;
let shared = 0;

/** How many reductions were answered from a remembered one (tests). */
export function sharedReductions(): number {
  return shared;
}

/** Runs f with reductions of the same gradient shared; frees what was remembered after. */
export function withReductionMemo<T>(f: () => T): T {
  if (memo) return f();
  memo = new Map();
  try {
    return f();
  } finally {
    for (const list of memo.values()) for (const e of list) e.t.dispose();
    memo = null;
  }
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** dy summed down to `shape` (a shape dy was broadcast from). */
export function reduceToShape(dy: tf.Tensor, shape: number[]): tf.Tensor {
  if (!memo || tf.broadcast_util.getReductionAxes(shape, dy.shape).length === 0) return reduceDirect(dy, shape);
  const key = dy.dataId as object;
  const list = memo.get(key) ?? [];
  const hit = list.find((e) => sameShape(e.shape, shape));
  if (hit) {
    shared++;
    return tf.clone(hit.t);
  }
  // a smaller sum of the same values that `shape` can be reduced from
  const partial = list.find((e) => e.t.size < dy.size && e.shape.length === dy.rank && shape.length <= e.shape.length && canReduce(e.shape, shape));
  if (partial) shared++;
  const res = partial ? reduceDirect(partial.t, shape) : reduceDirect(dy, shape);
  list.push({ shape: [...shape], t: tf.keep(tf.clone(res)) });
  memo.set(key, list);
  return res;
}

/** Whether a tensor of shape `from` broadcasts from `to` (so it can be summed down to it). */
function canReduce(from: number[], to: number[]): boolean {
  const off = from.length - to.length;
  return to.every((d, i) => d === 1 || d === from[i + off]);
}

function reduceDirect(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const out = dy.shape;
  const axes = tf.broadcast_util.getReductionAxes(shape, out);
  if (axes.length === 0) return tf.reshape(dy, shape);
  const contiguous = axes.every((a, i) => a === axes[0] + i);
  if (!contiguous) return tf.reshape(tf.sum(dy, axes), shape);
  const s = axes[0];
  const e = axes[axes.length - 1] + 1;
  const prod = (d: number[]) => d.reduce((x, y) => x * y, 1);
  const pre = prod(out.slice(0, s));
  const r = prod(out.slice(s, e));
  const post = prod(out.slice(e));
  let res: tf.Tensor;
  if (pre === 1) {
    res = tf.matMul(tf.ones([1, r]), tf.reshape(dy, [r, post])); // [1, post]
  } else {
    res = tf.matMul(tf.ones([pre, 1, r]), tf.reshape(dy, [pre, r, post])); // [pre, 1, post]
  }
  return tf.reshape(res, shape);
}

let installed = false;

/** Replaces tfjs's Add and Sub gradients in this thread with the matMul reduction. */
export function installFastBroadcastGradients(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const g = dy as tf.Tensor;
      return { a: () => reduceToShape(g, a.shape), b: () => reduceToShape(g, b.shape) };
    },
  });
  tf.registerGradient({
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const g = dy as tf.Tensor;
      return { a: () => reduceToShape(g, a.shape), b: () => tf.neg(reduceToShape(g, b.shape)) };
    },
  });
}

let identityInstalled = false;

/**
 * On wasm, tfjs's Identity kernel copies its input, and the engine runs it on every
 * tensor it saves for the backward pass (inputs of Reshape, Add, Mul, the convs, ...):
 * ~360 copies of activation-sized tensors a training step. Tensor data is never written
 * in place, so Identity can share the buffer and bump its reference count instead, as
 * tfjs's own cpu backend does. Installed only in processes that train.
 */
export function installZeroCopyIdentity(): void {
  if (identityInstalled || tf.getBackend() !== 'wasm') return;
  identityInstalled = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') throw new Error('Identity: string tensors are not supported by the training kernels');
      (backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
