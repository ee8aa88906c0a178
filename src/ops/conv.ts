// The few tensor ops the model is built from. Every convolution in the model is a
// stride-1 VALID convolution on an input the caller has already padded, so causality is
// decided by padding and cropping in the model, not here.
//
// Every op carries its own gradient, written only with kernels that are fast on the
// wasm backend (shared/reference/PLATFORM.md; measured by scripts/bench-ops.ts):
// - wasm has no Conv2DBackpropFilter kernel and a slow Conv2DBackpropInput, so both conv
//   gradients are forward convolutions;
// - matMul with transposeA/B is ~20x slower than tf.transpose + plain matMul;
// - tanh is slow, sigmoid fast: tanh(x) = 2*sigmoid(2x) - 1;
// - slicing along the last axis is a JS loop on wasm, a transpose is native.
//
// conv2dValid and pointwise run as named kernels (a thin wrapper over the backend's own
// Conv2D / BatchMatMul) with registered gradients, rather than tf.customGrad, because
// a registered gradient is computed per input on demand: the first layer never pays for
// a gradient with respect to the image.
import * as tf from '@tensorflow/tfjs';

export { softmaxCrossEntropy, logProbsOfLabels } from './loss.ts';

function check(cond: boolean, msg: () => string): void {
  if (!cond) throw new Error(msg());
}

const CONV = 'PixelCNNConv2DValid';
const MATMUL = 'PixelCNNMatMul';
const matMulAttrs = { transposeA: false, transposeB: false };

/**
 * Registers kernel `name` on the current backend (once) as that backend's own `base`
 * kernel run with fixed attrs; only its gradient (registered below) differs.
 */
function ensureKernel(name: string, base: string, attrs: tf.NamedAttrMap): void {
  const backendName = tf.getBackend();
  if (tf.getKernel(name, backendName)) return;
  const baseKernel = tf.getKernel(base, backendName);
  check(baseKernel !== undefined, () => `${name}: backend "${backendName}" has no ${base} kernel`);
  tf.registerKernel({
    kernelName: name,
    backendName,
    kernelFunc: ({ inputs, backend }) =>
      baseKernel.kernelFunc({ inputs, backend, attrs }),
  });
}

/**
 * dL/dx of a VALID conv with dilation d: a forward conv of dy with the same dilation,
 * padded by d(k-1) all round, with the kernel flipped and in/out swapped.
 */
function convInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, d: number): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const flipped = kh === 1 && kw === 1 ? w : tf.reverse(w, [0, 1]);
  const wT = tf.transpose(flipped, [0, 1, 3, 2]); // [kh, kw, Cout, Cin]
  const ph = d * (kh - 1);
  const pw = d * (kw - 1);
  return tf.conv2d(dy, wT, 1, [[0, 0], [ph, ph], [pw, pw], [0, 0]], 'NHWC', d); // [B, H, W, Cin]
}

/**
 * dL/dw of a VALID conv with dilation d,
 * dw[i, j, ci, co] = sum_{b,y,x} x[b, y+d*i, x+d*j, ci] * dy[b, y, x, co],
 * as one forward conv with the batch as the contracted channel axis; its stride d picks
 * the offsets 0, d, 2d, ... that the dilated kernel's taps sit at.
 */
function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, d: number): tf.Tensor4D {
  const [b, h, w, cin] = x.shape;
  const cout = dy.shape[3];
  if (kh === 1 && kw === 1) {
    // A 1x1 filter gradient is x^T dy: a plain matMul beats the conv form ~3x here.
    const xT = tf.transpose(tf.reshape(x, [b * h * w, cin])); // [Cin, N]
    return tf.reshape(tf.matMul(xT, tf.reshape(dy, [b * h * w, cout])), [1, 1, cin, cout]);
  }
  const xT = tf.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, B]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, B, Cout]: a kernel with B input channels
  const dwT = tf.conv2d(xT, dyT, d, 'valid'); // [Cin, kh, kw, Cout]
  return tf.transpose(dwT, [1, 2, 0, 3]);
}

/** The conv kernel for dilation d: registered (kernel and gradient) on first use. */
function convKernelName(d: number): string {
  const name = d === 1 ? CONV : `${CONV}Dilated${d}`;
  if (!tf.getGradient(name)) {
    tf.registerGradient({
      kernelName: name,
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved) => {
        const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        return {
          x: () => convInputGrad(g, w, d),
          filter: () => convFilterGrad(x, g, w.shape[0], w.shape[1], d),
        };
      },
    });
  }
  ensureKernel(name, 'Conv2D', { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: d });
  return name;
}

tf.registerGradient({
  kernelName: MATMUL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved as [tf.Tensor3D, tf.Tensor3D]; // [1, N, Cin], [1, Cin, Cout]
    const g = dy as tf.Tensor3D; // [1, N, Cout]
    // Explicit transposes: matMul(.., transposeA/B) is a slow path on wasm.
    return {
      a: () => tf.matMul(g, tf.transpose(b, [0, 2, 1])), // [1, N, Cout] x [1, Cout, Cin]
      b: () => tf.matMul(tf.transpose(a, [0, 2, 1]), g), // [1, Cin, N] x [1, N, Cout]
    };
  },
});

/**
 * x [B, H, W, Cin] * w [kh, kw, Cin, Cout] -> [B, H-d(kh-1), W-d(kw-1), Cout] (VALID,
 * stride 1, dilation d: tap (i, j) reads x at offset (d*i, d*j)).
 */
export function conv2dValid(x: tf.Tensor4D, w: tf.Tensor4D, dilation = 1): tf.Tensor4D {
  check(Number.isInteger(dilation) && dilation >= 1, () => `conv2dValid: dilation must be an integer >= 1, got ${dilation}`);
  check(x.rank === 4 && w.rank === 4, () => `conv2dValid: want x and w of rank 4, got ${x.rank} and ${w.rank}`);
  check(x.shape[3] === w.shape[2], () => `conv2dValid: x has ${x.shape[3]} channels but w expects ${w.shape[2]}`);
  check(
    x.shape[1] > dilation * (w.shape[0] - 1) && x.shape[2] > dilation * (w.shape[1] - 1),
    () => `conv2dValid: input ${x.shape[1]}x${x.shape[2]} is smaller than kernel ${w.shape[0]}x${w.shape[1]} at dilation ${dilation}`,
  );
  check(x.dtype === 'float32' && w.dtype === 'float32', () => `conv2dValid: want float32, got ${x.dtype} and ${w.dtype}`);
  // a 1x1 kernel has no taps to spread apart
  const name = convKernelName(w.shape[0] === 1 && w.shape[1] === 1 ? 1 : dilation);
  return tf.engine().runKernel(name, { x, filter: w }) as tf.Tensor4D;
}

/** 1x1 convolution: x [..., Cin] * w [Cin, Cout] -> [..., Cout]. */
export function pointwise(x: tf.Tensor, w: tf.Tensor2D): tf.Tensor {
  check(w.rank === 2, () => `pointwise: want w of rank 2 [Cin, Cout], got rank ${w.rank}`);
  const shape = x.shape;
  const cin = shape[shape.length - 1];
  check(cin === w.shape[0], () => `pointwise: x has ${cin} channels but w expects ${w.shape[0]}`);
  check(x.dtype === 'float32' && w.dtype === 'float32', () => `pointwise: want float32, got ${x.dtype} and ${w.dtype}`);
  ensureKernel(MATMUL, 'BatchMatMul', matMulAttrs);
  // BatchMatMul wants rank 3: [1, N, Cin] x [1, Cin, Cout].
  const a = tf.reshape(x, [1, -1, cin]);
  const b = tf.reshape(w, [1, cin, w.shape[1]]);
  const y = tf.engine().runKernel(MATMUL, { a, b }) as tf.Tensor;
  return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
}

/** [M, 2p] -> [2, M, p]: the two halves of the last axis as contiguous blocks. */
function halvesFirst(a: tf.Tensor, p: number): tf.Tensor3D {
  return tf.transpose(tf.reshape(a, [-1, 2, p]), [1, 0, 2]);
}

const gateOpGeneric = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const shape = a.shape;
  const p = shape[shape.length - 1] / 2;
  const m = a.size / (2 * p);
  const [f, g] = tf.split(halvesFirst(a, p), 2, 0); // [1, M, p] each, contiguous copies
  const sf = tf.sigmoid(tf.add(f, f)); // sigmoid(2f)
  const t = tf.sub(tf.add(sf, sf), 1); // tanh(f) = 2*sigmoid(2f) - 1
  const sg = tf.sigmoid(g);
  save([t, sg]);
  return {
    value: tf.reshape(tf.mul(t, sg), [...shape.slice(0, -1), p]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [ts, sgs] = saved;
      const d = tf.reshape(dy, [1, m, p]);
      const df = tf.mul(tf.mul(d, sgs), tf.sub(1, tf.square(ts))); // tanh' = 1 - t^2
      const dg = tf.mul(tf.mul(d, ts), tf.sub(sgs, tf.square(sgs))); // sigmoid' = s - s^2
      const both = tf.concat([df, dg], 0); // [2, M, p]
      return [tf.reshape(tf.transpose(both, [1, 0, 2]), shape)];
    },
  };
});

// On wasm the gate's arithmetic after the one sigmoid runs as two small kernels written in
// JS over the wasm heap: splitting the channel halves apart (a transpose and a SplitV,
// which copies its whole input once per output) and the ~10 elementwise ops of the
// forward and backward pass each cost a pass over activation-sized memory, while one
// fused loop reads each value once.
const GATE_FWD = 'PixelCNNGateForward';
const GATE_BWD = 'PixelCNNGateBackward';

interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

function registerWasmGateKernels(): void {
  if (tf.getKernel(GATE_FWD, 'wasm')) return;
  // s: [M, 2p], sigmoid(2f) in the first half of each row and sigmoid(g) in the second.
  tf.registerKernel({
    kernelName: GATE_FWD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const heap = backend as unknown as WasmHeap;
      const s = inputs.s as tf.TensorInfo;
      const p2 = s.shape[s.shape.length - 1];
      const p = p2 / 2;
      const out = heap.makeOutput([...s.shape.slice(0, -1), p], 'float32');
      const sv = heap.typedArrayFromHeap(s); // views taken after the allocation
      const ov = heap.typedArrayFromHeap(out);
      const m = ov.length / p;
      for (let i = 0, si = 0, oi = 0; i < m; i++, si += p2, oi += p) {
        for (let c = 0; c < p; c++) ov[oi + c] = (2 * sv[si + c] - 1) * sv[si + p + c];
      }
      return out;
    },
  });
  // s as above, dy [M, p] -> d/da [M, 2p]
  tf.registerKernel({
    kernelName: GATE_BWD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const heap = backend as unknown as WasmHeap;
      const s = inputs.s as tf.TensorInfo;
      const dy = inputs.dy as tf.TensorInfo;
      const p2 = s.shape[s.shape.length - 1];
      const p = p2 / 2;
      const out = heap.makeOutput(s.shape, 'float32');
      const sv = heap.typedArrayFromHeap(s);
      const dv = heap.typedArrayFromHeap(dy);
      const ov = heap.typedArrayFromHeap(out);
      const m = dv.length / p;
      for (let i = 0, si = 0, di = 0; i < m; i++, si += p2, di += p) {
        for (let c = 0; c < p; c++) {
          const t = 2 * sv[si + c] - 1; // tanh(f)
          const sg = sv[si + p + c]; // sigmoid(g)
          const u = dv[di + c] * sg;
          ov[si + c] = u * (1 - t * t); // tanh' = 1 - t^2
          ov[si + p + c] = u * t * (1 - sg); // sigmoid' = s (1 - s)
        }
      }
      return out;
    },
  });
}

const gateOpWasm = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const p = a.shape[a.rank - 1] / 2;
  const scale = tf.tensor1d(Array.from({ length: 2 * p }, (_, c) => (c < p ? 2 : 1)));
  const s = tf.sigmoid(tf.mul(a, scale)); // [sigmoid(2f), sigmoid(g)]: tanh(f) = 2 sigmoid(2f) - 1
  save([s]);
  return {
    value: tf.engine().runKernel(GATE_FWD, { s }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.engine().runKernel(GATE_BWD, { s: saved[0], dy }) as tf.Tensor],
  };
});

/** Gated unit: a [..., 2p] -> tanh(a[..., :p]) * sigmoid(a[..., p:]) [..., p]. */
export function gate(a: tf.Tensor): tf.Tensor {
  const c = a.shape[a.rank - 1];
  check(a.rank >= 1 && c % 2 === 0 && c > 0, () => `gate: last dimension must be even (2p), got ${c}`);
  check(a.dtype === 'float32', () => `gate: want float32, got ${a.dtype}`);
  if (tf.getBackend() === 'wasm') {
    registerWasmGateKernels();
    return gateOpWasm(a);
  }
  return gateOpGeneric(a);
}
