// FLOPs of the model counted from its weight shapes, and the speed of plain tf.conv2d
// forwards of the same shapes: the yardstick for training efficiency.
import * as tf from '@tensorflow/tfjs';
import { isSpatial, paramShapes, type ModelConfig } from '../model';
import type { ConvShape } from './protocol.ts';

/**
 * Every multiply-add of the model as a convolution shape for `batch` images: rank-4
 * weights are kh x kw convolutions and rank-2 weights applied at every pixel are 1x1
 * convolutions, each producing an H x W map. Per-image conditioning products (V^T h)
 * and the spatial conditioning net are left out (small next to the trunk).
 */
export function modelConvShapes(config: ModelConfig, batch: number): ConvShape[] {
  const out: ConvShape[] = [];
  const spatial = isSpatial(config.conditioning);
  for (const { name, shape } of paramShapes(config)) {
    if (name.startsWith('cond_map/')) continue;
    if (/cond$/.test(name) && !spatial) continue; // [D, 2p] applied once per image
    const base = { batch, height: config.height, width: config.width };
    if (shape.length === 4) out.push({ ...base, kh: shape[0], kw: shape[1], cin: shape[2], cout: shape[3] });
    else if (shape.length === 2) out.push({ ...base, kh: 1, kw: 1, cin: shape[0], cout: shape[1] });
  }
  return out;
}

export function convFlops(s: ConvShape): number {
  return 2 * s.batch * s.height * s.width * s.kh * s.kw * s.cin * s.cout;
}

/** Forward FLOPs of one image. */
export function forwardFlopsPerImage(config: ModelConfig): number {
  return modelConvShapes(config, 1).reduce((a, s) => a + convFlops(s), 0);
}

/** Forward + backward (input and weight gradients) FLOPs of one image: 3x the forward. */
export function trainFlopsPerImage(config: ModelConfig): number {
  return 3 * forwardFlopsPerImage(config);
}

/**
 * GFLOP/s of plain tf.conv2d forwards of `shapes` (SAME-size outputs from inputs padded
 * beforehand), run in turn for about `seconds`, on the current backend.
 */
export function convForwardGflops(shapes: ConvShape[], seconds: number): number {
  const inputs = shapes.map((s) => {
    const x = tf.randomNormal([s.batch, s.height + s.kh - 1, s.width + s.kw - 1, s.cin], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([s.kh, s.kw, s.cin, s.cout], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    return { x, w, flops: convFlops(s) };
  });
  const once = () => {
    let flops = 0;
    for (const i of inputs) {
      const y = tf.conv2d(i.x, i.w, 1, 'valid');
      y.dataSync();
      y.dispose();
      flops += i.flops;
    }
    return flops;
  };
  try {
    once(); // warm-up: kernel set-up
    let flops = 0;
    const t0 = performance.now();
    do flops += once();
    while (performance.now() - t0 < seconds * 1000);
    return flops / ((performance.now() - t0) / 1000) / 1e9;
  } finally {
    for (const { x, w } of inputs) tf.dispose([x, w]);
  }
}
