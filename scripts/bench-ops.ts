// Op benchmark: forward and backward of the model's ops (src/ops) against tfjs's own
// ops and gradients, at training shapes. Prints one JSON object (times in ms).
//   npx tsx scripts/bench-ops.ts [--backend wasm|cpu] [--reps 9]
//
// Timing is this process's CPU time (the wasm backend runs on one thread and the build
// machines are shared, so wall time mostly measures the neighbours), and the variants
// being compared run interleaved, rep by rep, so a change in machine load hits all alike.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node.ts';
import { conv2dValid, gate, pointwise } from '../src/ops/conv.ts';
import { softmaxCrossEntropy } from '../src/ops/loss.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const REPS = Number(arg('reps', '9'));
type Run = () => tf.Tensor | tf.Tensor[];
type Result = number | string; // median ms, or why it could not run

function cpuMs(f: Run): number {
  const t0 = process.cpuUsage();
  tf.tidy(() => {
    const out = f();
    for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
  });
  const dt = process.cpuUsage(t0);
  return (dt.user + dt.system) / 1000;
}

/** Median ms of each variant (every output read back), the variants interleaved. */
function race(variants: Record<string, Run>): Record<string, Result> {
  const out: Record<string, Result> = {};
  const live: string[] = [];
  for (const [name, f] of Object.entries(variants)) {
    try {
      cpuMs(f); // warm-up: kernel set-up, XNNPACK operator creation
      live.push(name);
    } catch (e) {
      out[name] = `error: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  const times: Record<string, number[]> = Object.fromEntries(live.map((n) => [n, []]));
  const before = tf.memory().numTensors;
  for (let r = 0; r < REPS; r++) for (const name of live) times[name].push(cpuMs(variants[name]));
  const leaked = tf.memory().numTensors - before;
  for (const name of live) {
    const t = times[name].sort((a, b) => a - b);
    out[name] = leaked ? `leak: ${leaked} tensors` : Math.round(t[Math.floor(t.length / 2)] * 100) / 100;
  }
  return out;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
const gflops = (flop: number, ms: Result): number | null => (typeof ms === 'number' ? round1(flop / ms / 1e6) : null);
const ratio = (theirs: Result, ours: Result): number | null =>
  typeof theirs === 'number' && typeof ours === 'number' ? round1(theirs / ours) : null;

async function main(): Promise<void> {
  const backend = await initNodeBackend(arg('backend', 'wasm') as 'wasm' | 'cpu');
  const B = 16;
  const H = 28;
  const W = 28;
  const report: Record<string, unknown> = {
    backend,
    clock: 'process CPU ms, median, variants interleaved',
    reps: REPS,
    batch: B,
    image: [H, W],
  };

  // Convolutions. tfjs on wasm has no filter gradient at all (Conv2DBackpropFilter), so
  // the comparable tfjs figure is forward + input gradient (Conv2DBackpropInput) alone.
  const conv: Record<string, unknown>[] = [];
  const kernels: [number, number, number, number][] = [
    [2, 3, 32, 64], // vertical stack, 3x3 layers
    [1, 2, 32, 64], // horizontal stack, 3x3 layers
    [1, 1, 32, 64],
    [4, 7, 32, 64], // vertical stack, 7x7 layer, if it had 32 input channels
    [1, 4, 32, 64],
    [7, 7, 1, 64], // a first layer on a 1-channel image
  ];
  for (const [kh, kw, cin, cout] of kernels) {
    const x = tf.randomNormal([B, H, W, cin]) as tf.Tensor4D;
    const w = tf.randomNormal([kh, kw, cin, cout], 0, 0.1) as tf.Tensor4D;
    const dy = tf.randomNormal([B, H - kh + 1, W - kw + 1, cout]) as tf.Tensor4D;
    const flop = 2 * B * (H - kh + 1) * (W - kw + 1) * kh * kw * cin * cout;
    const fwd = race({ tfjs: () => tf.conv2d(x, w, 1, 'valid'), ours: () => conv2dValid(x, w) });
    const t = race({
      tfjs_forward_and_dx: () => [tf.conv2d(x, w, 1, 'valid'), tf.conv2dTranspose(dy, w, [B, H, W, cin], 1, 'valid')],
      tfjs_forward_dx_dw: () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))([x, w], dy),
      ours_forward_and_dx: () => tf.grad((a: tf.Tensor) => conv2dValid(a as tf.Tensor4D, w))(x, dy),
      ours_forward_and_dw: () => tf.grad((b: tf.Tensor) => conv2dValid(x, b as tf.Tensor4D))(w, dy),
      ours_forward_dx_dw: () => tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2dValid(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], dy),
    });
    conv.push({
      kernel: [kh, kw, cin, cout],
      gflop_forward: Math.round(flop / 1e7) / 100,
      forward: { ...fwd, ours_gflops: gflops(flop, fwd.ours) },
      ...t,
      speedup_forward_and_dx: ratio(t.tfjs_forward_and_dx, t.ours_forward_and_dx),
      ours_forward_dx_dw_gflops: gflops(3 * flop, t.ours_forward_dx_dw),
    });
    tf.dispose([x, w, dy]);
  }
  report.conv2dValid = conv;

  const pw: Record<string, unknown>[] = [];
  for (const [cin, cout] of [[32, 64], [64, 64], [32, 32], [32, 256]]) {
    const n = B * H * W;
    const x = tf.randomNormal([n, cin]) as tf.Tensor2D;
    const w = tf.randomNormal([cin, cout], 0, 0.1) as tf.Tensor2D;
    const dy = tf.randomNormal([n, cout]);
    const flop = 2 * n * cin * cout;
    const t = race({
      tfjs_forward: () => tf.matMul(x, w),
      ours_forward: () => pointwise(x, w),
      tfjs_forward_backward: () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D))([x, w], dy),
      ours_forward_backward: () => tf.grads((a: tf.Tensor, b: tf.Tensor) => pointwise(a, b as tf.Tensor2D))([x, w], dy),
    });
    pw.push({
      shape: [n, cin, cout],
      ...t,
      speedup_forward_backward: ratio(t.tfjs_forward_backward, t.ours_forward_backward),
      ours_forward_backward_gflops: gflops(3 * flop, t.ours_forward_backward),
    });
    tf.dispose([x, w, dy]);
  }
  report.pointwise = pw;

  {
    const a = tf.randomNormal([B, H, W, 64]);
    const dy = tf.randomNormal([B, H, W, 32]);
    const plain = (v: tf.Tensor): tf.Tensor => {
      const [f, g] = tf.split(v, 2, 3);
      return tf.mul(tf.tanh(f), tf.sigmoid(g));
    };
    const t = race({
      tfjs_forward: () => plain(a),
      ours_forward: () => gate(a),
      tfjs_forward_backward: () => tf.grad(plain)(a, dy),
      ours_forward_backward: () => tf.grad(gate)(a, dy),
    });
    report.gate = {
      shape: a.shape,
      ...t,
      speedup_forward: ratio(t.tfjs_forward, t.ours_forward),
      speedup_forward_backward: ratio(t.tfjs_forward_backward, t.ours_forward_backward),
    };
    tf.dispose([a, dy]);
  }

  {
    const n = B * H * W;
    const k = 256;
    const logits = tf.randomNormal([n, k], 0, 3) as tf.Tensor2D;
    const labels = tf.randomUniform([n], 0, k, 'int32') as tf.Tensor1D;
    // tf.oneHot's float32 dtype is broken on wasm (see loss.ts): cast instead.
    const plain = (l: tf.Tensor): tf.Tensor => tf.neg(tf.sum(tf.mul(tf.logSoftmax(l), tf.cast(tf.oneHot(labels, k), 'float32'))));
    const t = race({
      tfjs_logSoftmax_forward: () => plain(logits),
      ours_forward: () => softmaxCrossEntropy(logits, labels),
      tfjs_logSoftmax_forward_backward: () => tf.grad(plain)(logits),
      ours_forward_backward: () => tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, labels))(logits),
    });
    report.softmaxCrossEntropy = {
      shape: [n, k],
      ...t,
      speedup_forward: ratio(t.tfjs_logSoftmax_forward, t.ours_forward),
      speedup_forward_backward: ratio(t.tfjs_logSoftmax_forward_backward, t.ours_forward_backward),
    };
    tf.dispose([logits, labels]);
  }

  // A failed tfjs gradient (missing wasm kernel) leaves its tape's saved tensors behind;
  // the ops' own runs are checked for leaks in race().
  report.tensorsLeftByFailedTfjsRuns = tf.memory().numTensors;
  console.log(JSON.stringify(report, null, 1));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
