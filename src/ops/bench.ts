// Op benchmark: forward and backward of the model's ops (src/ops) against tfjs's own
// ops and gradients, at training shapes. Prints one JSON object.
//   npx tsx src/ops/bench.ts [--backend wasm|cpu] [--reps 7]
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../backend/node.ts';
import { conv2dValid, gate, pointwise } from './conv.ts';
import { softmaxCrossEntropy } from './loss.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const REPS = Number(arg('reps', '7'));

/**
 * Median ms of f() (every output read back), or an error message if the op fails.
 * Timed as this process's CPU time, not wall time: the wasm backend runs on one thread,
 * and the build machines are shared, so wall time mostly measures the neighbours.
 */
function timeMs(f: () => tf.Tensor | tf.Tensor[]): number | string {
  const once = (): number => {
    const t0 = process.cpuUsage();
    tf.tidy(() => {
      const out = f();
      for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
    });
    const dt = process.cpuUsage(t0);
    return (dt.user + dt.system) / 1000;
  };
  try {
    once(); // warm-up (kernel set-up, XNNPACK operator creation)
    const before = tf.memory().numTensors;
    const times: number[] = [];
    for (let r = 0; r < REPS; r++) times.push(once());
    if (tf.memory().numTensors !== before) return `leak: ${tf.memory().numTensors - before} tensors`;
    times.sort((a, b) => a - b);
    return Math.round(times[Math.floor(times.length / 2)] * 100) / 100;
  } catch (e) {
    return `error: ${(e as Error).message.split('\n')[0]}`;
  }
}

function gflops(flop: number, ms: number | string): number | null {
  return typeof ms === 'number' ? Math.round((flop / ms / 1e6) * 10) / 10 : null;
}

function speedup(theirs: number | string, ours: number | string): number | null {
  return typeof theirs === 'number' && typeof ours === 'number' ? Math.round((theirs / ours) * 10) / 10 : null;
}

function add(a: number | string, b: number | string): number | string {
  return typeof a === 'number' && typeof b === 'number' ? Math.round((a + b) * 100) / 100 : typeof a === 'string' ? a : b;
}

async function main(): Promise<void> {
  const backend = await initNodeBackend(arg('backend', 'wasm') as 'wasm' | 'cpu');
  const B = 16;
  const H = 28;
  const W = 28;
  const report: Record<string, unknown> = { backend, clock: 'process CPU time, median', reps: REPS, batch: B, image: [H, W] };

  const conv: Record<string, unknown>[] = [];
  const kernels: [number, number, number, number][] = [
    [2, 3, 32, 64],
    [1, 2, 32, 64],
    [1, 4, 32, 64],
    [4, 7, 32, 64],
    [1, 1, 32, 64],
    [7, 7, 1, 64],
  ];
  for (const [kh, kw, cin, cout] of kernels) {
    const x = tf.randomNormal([B, H, W, cin]) as tf.Tensor4D;
    const w = tf.randomNormal([kh, kw, cin, cout], 0, 0.1) as tf.Tensor4D;
    const dy = tf.randomNormal([B, H - kh + 1, W - kw + 1, cout]) as tf.Tensor4D;
    const flop = 2 * B * (H - kh + 1) * (W - kw + 1) * kh * kw * cin * cout;
    const fwdTf = timeMs(() => tf.conv2d(x, w, 1, 'valid'));
    const fwdOurs = timeMs(() => conv2dValid(x, w));
    // Forward + backward (dx and dw) from one tf.grads with dy as the seed.
    const fbTf = timeMs(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))([x, w], dy));
    const fbOurs = timeMs(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2dValid(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], dy));
    // The two gradients separately.
    const dxTf = timeMs(() => tf.conv2dTranspose(dy, w, [B, H, W, cin], 1, 'valid')); // dx only
    const dxOurs = timeMs(() => tf.grad((a: tf.Tensor) => conv2dValid(a as tf.Tensor4D, w))(x, dy));
    const dwOurs = timeMs(() => tf.grad((b: tf.Tensor) => conv2dValid(x, b as tf.Tensor4D))(w, dy));
    conv.push({
      kernel: [kh, kw, cin, cout],
      gflop: Math.round(flop / 1e7) / 100,
      forward_ms: { tfjs: fwdTf, ours: fwdOurs, ours_gflops: gflops(flop, fwdOurs) },
      forward_backward_ms: { tfjs: fbTf, ours: fbOurs, speedup: speedup(fbTf, fbOurs), ours_gflops: gflops(3 * flop, fbOurs) },
      // tfjs on wasm has no filter gradient; its input gradient is Conv2DBackpropInput.
      forward_and_dx_ms: { tfjs: add(fwdTf, dxTf), ours: dxOurs, speedup: speedup(add(fwdTf, dxTf), dxOurs) },
      forward_and_dw_ms: { ours: dwOurs },
    });
    tf.dispose([x, w, dy]);
  }
  report.conv2dValid = conv;

  const pw: Record<string, unknown>[] = [];
  for (const [cin, cout] of [[32, 64], [64, 64], [32, 256]]) {
    const n = B * H * W;
    const x = tf.randomNormal([n, cin]) as tf.Tensor2D;
    const w = tf.randomNormal([cin, cout], 0, 0.1) as tf.Tensor2D;
    const dy = tf.randomNormal([n, cout]);
    const flop = 2 * n * cin * cout;
    const fwdTf = timeMs(() => tf.matMul(x, w));
    const fwdOurs = timeMs(() => pointwise(x, w));
    const fbTf = timeMs(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D))([x, w], dy));
    const fbOurs = timeMs(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => pointwise(a, b as tf.Tensor2D))([x, w], dy));
    pw.push({
      shape: [n, cin, cout],
      forward_ms: { tfjs: fwdTf, ours: fwdOurs },
      forward_backward_ms: { tfjs: fbTf, ours: fbOurs, speedup: speedup(fbTf, fbOurs), ours_gflops: gflops(3 * flop, fbOurs) },
    });
    tf.dispose([x, w, dy]);
  }
  report.pointwise = pw;

  {
    const a = tf.randomNormal([B, H, W, 64]);
    const dy = tf.randomNormal([B, H, W, 32]);
    const plain = (t: tf.Tensor): tf.Tensor => {
      const [f, g] = tf.split(t, 2, 3);
      return tf.mul(tf.tanh(f), tf.sigmoid(g));
    };
    const fwdTf = timeMs(() => plain(a));
    const fwdOurs = timeMs(() => gate(a));
    const fbTf = timeMs(() => tf.grad(plain)(a, dy));
    const fbOurs = timeMs(() => tf.grad(gate)(a, dy));
    report.gate = {
      shape: a.shape,
      forward_ms: { tfjs: fwdTf, ours: fwdOurs, speedup: speedup(fwdTf, fwdOurs) },
      forward_backward_ms: { tfjs: fbTf, ours: fbOurs, speedup: speedup(fbTf, fbOurs) },
    };
    tf.dispose([a, dy]);
  }

  {
    const n = B * H * W;
    const k = 256;
    const logits = tf.randomNormal([n, k], 0, 3) as tf.Tensor2D;
    const labels = tf.randomUniform([n], 0, k, 'int32') as tf.Tensor1D;
    const plain = (l: tf.Tensor): tf.Tensor =>
      tf.neg(tf.sum(tf.mul(tf.logSoftmax(l), tf.cast(tf.oneHot(labels, k), 'float32'))));
    const fwdTf = timeMs(() => plain(logits));
    const fwdOurs = timeMs(() => softmaxCrossEntropy(logits, labels));
    const fbTf = timeMs(() => tf.grad(plain)(logits));
    const fbOurs = timeMs(() => tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, labels))(logits));
    report.softmaxCrossEntropy = {
      shape: [n, k],
      forward_ms: { tfjs_logSoftmax: fwdTf, ours: fwdOurs, speedup: speedup(fwdTf, fwdOurs) },
      forward_backward_ms: { tfjs_logSoftmax: fbTf, ours: fbOurs, speedup: speedup(fbTf, fbOurs) },
    };
    tf.dispose([logits, labels]);
  }

  // Failed tfjs gradients (missing wasm kernels) leave their tape's saved tensors behind;
  // the ops' own runs are checked for leaks in timeMs.
  report.tensorsLeftByFailedTfjsRuns = tf.memory().numTensors;
  console.log(JSON.stringify(report, null, 1));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
