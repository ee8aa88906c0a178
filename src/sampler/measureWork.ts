// The multiply-adds tfjs actually ran, read from tf.profile's kernel records: the
// benchmark's own count, against which work.ts's figures from the config are checked.
import * as tf from '@tensorflow/tfjs';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Kernels that multiply and add; every other kernel (elementwise, softmax, slices) counts 0. */
const CONVS = new Set(['Conv2D', 'FusedConv2D']);
/** the model's own conv kernels: PixelCNNConv2DValid, PixelCNNConv2DValidDilated2, ... (src/ops/conv.ts) */
const MODEL_CONV = /^PixelCNNConv2DValid/;
const MATMULS = new Set(['BatchMatMul', 'PixelCNNMatMul', '_FusedMatMul']);

/** Multiply-adds of one kernel record: a conv's outputs times its filter's taps and input channels, a matMul's outputs times its inner size. */
export function kernelMacs(k: { name: string; inputShapes: number[][]; outputShapes: number[][] }): number {
  if (CONVS.has(k.name) || MODEL_CONV.test(k.name)) {
    const [kh, kw, cin] = k.inputShapes[1]; // filter [kh, kw, cin, cout]
    return size(k.outputShapes[0]) * kh * kw * cin;
  }
  if (MATMULS.has(k.name)) {
    const a = k.inputShapes[0];
    const out = size(k.outputShapes[0]);
    // the model's matMuls never transpose: a is [..., m, inner]
    return out * a[a.length - 1];
  }
  return 0;
}

/** Multiply-adds of the tfjs kernels `f` runs. */
export async function measureMacs(f: () => Promise<unknown>): Promise<number> {
  const info = await tf.profile(async () => {
    await f();
  });
  return info.kernels.reduce((s, k) => s + kernelMacs(k), 0);
}
