// Sampling: decide sub-pixels in raster order (R, G, B inside a pixel), streaming each
// decision so a UI can draw it. The seeded RNG draws one uniform per image per sub-pixel
// in the same order for both modes, so the cached and naive samplers give the same images.
import { mulberry32 } from '../model/params';
import type { PixelCNN } from '../model/types';
import { CachedStepper, NaiveStepper, type Stepper } from './steppers';
import type { PixelEvent, SampleOptions, SamplerMode } from './types';
import { FusedWebGPUStepper, isWebGPUBackend } from './webgpu';

export type { PixelEvent, SampleOptions, SamplerMode } from './types';
export { CachedStepper, NaiveStepper, type Stepper } from './steppers';
export { FusedWebGPUStepper } from './webgpu';

function abortError(): Error {
  const e = new Error('sampling aborted');
  e.name = 'AbortError';
  return e;
}

/** Inverse-CDF draw from probs[offset .. offset+K). */
export function drawLevel(probs: Float32Array, offset: number, K: number, u: number): number {
  let total = 0;
  for (let k = 0; k < K; k++) total += probs[offset + k];
  let acc = 0;
  const target = u * total;
  for (let k = 0; k < K; k++) {
    acc += probs[offset + k];
    if (target < acc) return k;
  }
  // u ~ 1 and rounding: the last level with any mass
  for (let k = K - 1; k > 0; k--) if (probs[offset + k] > 0) return k;
  return 0;
}

export async function makeStepper(model: PixelCNN, opts: SampleOptions): Promise<Stepper> {
  const mode = opts.mode ?? bestMode(model);
  if (mode === 'cached') return new CachedStepper(model, opts.count, opts.condition);
  if (mode === 'naive') return new NaiveStepper(model, opts.count, opts.condition);
  if (mode === 'fused') return FusedWebGPUStepper.create(model, opts.count, opts.condition);
  throw new Error(`sampler: unknown mode "${mode}" (expected cached, fused or naive)`);
}

/** The fastest mode for the current backend: fused kernels on WebGPU (softmax head), cached elsewhere. */
export function bestMode(model: PixelCNN): SamplerMode {
  const { arch, output } = model.config;
  if (arch !== 'gated') return 'naive';
  // the fused kernels compute a softmax head only
  return isWebGPUBackend() && output?.type !== 'logistic' ? 'fused' : 'cached';
}

function checkOptions(opts: SampleOptions): number {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`sampler: count must be a positive integer, got ${opts.count}`);
  if (!Number.isFinite(opts.seed)) throw new Error(`sampler: seed must be a number, got ${opts.seed}`);
  const t = opts.temperature ?? 1;
  if (!(t > 0) || !Number.isFinite(t)) throw new Error(`sampler: temperature must be > 0, got ${t}`);
  return t;
}

/** Yields every decided sub-pixel; returns the images [N, H, W, C] (uint8 levels). */
export async function* samplePixels(model: PixelCNN, opts: SampleOptions): AsyncGenerator<PixelEvent, Uint8Array> {
  const temperature = checkOptions(opts);
  const { height: H, width: W, channels: C, levels: K } = model.config;
  if (K > 256) throw new Error(`sampler: ${K} levels do not fit in uint8`);
  const N = opts.count;
  const x = new Uint8Array(N * H * W * C);
  const rand = mulberry32(opts.seed);
  const total = H * W * C;
  const stepper = await makeStepper(model, opts);
  try {
    let done = 0;
    for (let r = 0; r < H; r++) {
      if (opts.signal?.aborted) throw abortError();
      stepper.startRow(r, x);
      for (let c = 0; c < W; c++) {
        for (let ch = 0; ch < C; ch++) {
          if (opts.signal?.aborted) throw abortError();
          const probs = await stepper.probs(r, c, ch, x, temperature);
          const values = new Uint8Array(N);
          for (let n = 0; n < N; n++) {
            const v = drawLevel(probs, n * K, K, rand());
            values[n] = v;
            x[((n * H + r) * W + c) * C + ch] = v;
          }
          done++;
          yield { row: r, col: c, channel: ch, values, probs, done, total };
        }
        stepper.endPixel(r, c, x);
      }
    }
    return x;
  } finally {
    stepper.dispose();
  }
}

/** Samples to completion; onPixel sees every decided sub-pixel. */
export async function sample(
  model: PixelCNN,
  opts: SampleOptions,
  onPixel?: (e: PixelEvent) => void,
): Promise<Uint8Array> {
  const it = samplePixels(model, opts);
  for (;;) {
    const step = await it.next();
    if (step.done) return step.value;
    onPixel?.(step.value);
  }
}
