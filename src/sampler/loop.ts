// The sampling loop itself, tf-free: sub-pixels in raster order (R, G, B inside a pixel),
// each image's level drawn from its own stream's next uniform, one event a sub-pixel. The
// sampler (index.ts) runs it over a whole batch's stepper; a split run's threads draw rows
// with its draw (rowBoard.ts).
import type { ModelConfig } from '../model/config';
import type { Stepper } from './steppers';
import { pixelStats } from './pixelStats';
import type { PixelEvent } from './types';

export function abortError(): Error {
  const e = new Error('sampling aborted');
  e.name = 'AbortError';
  return e;
}

/**
 * Inverse-CDF draw from probs[offset .. offset+K), in float32 arithmetic (each sum and the
 * product rounded as a GPU's f32 would): the fused kernel draws on the GPU in exactly these
 * steps, so from the same distribution both pick the same level (docs/webgpu.md, "Same images as the portable samplers").
 */
export function drawLevel(probs: Float32Array, offset: number, K: number, u: number): number {
  const f32 = Math.fround;
  let total = 0;
  for (let k = 0; k < K; k++) total = f32(total + probs[offset + k]);
  let acc = 0;
  const target = f32(f32(u) * total);
  for (let k = 0; k < K; k++) {
    acc = f32(acc + probs[offset + k]);
    if (target < acc) return k;
  }
  // u ~ 1 and rounding: the last level with any mass
  for (let k = K - 1; k > 0; k--) if (probs[offset + k] > 0) return k;
  return 0;
}

/** The distribution must be finite: a NaN would silently become level 0. */
export function checkFinite(probs: Float32Array, r: number, c: number, ch: number): void {
  for (let i = 0; i < probs.length; i++) {
    if (!Number.isFinite(probs[i])) throw new Error(`sampler: probabilities at row ${r}, col ${c}, channel ${ch} are not finite`);
  }
}

/**
 * Draws every sub-pixel of x [N, H, W, C] from sub-pixel `length` on (the ones before are
 * given and the stepper is warmed with them here), yielding each (with `stats`, its
 * figures for every image: pixelStats.ts); returns x.
 */
export async function* drawPixels(
  stepper: Stepper,
  config: ModelConfig,
  x: Uint8Array,
  length: number,
  streams: (() => number)[],
  temperature: number,
  signal?: AbortSignal,
  stats = false,
): AsyncGenerator<PixelEvent, Uint8Array> {
  const { height: H, width: Wd, channels: C, levels: K } = config;
  const N = streams.length;
  const total = H * Wd * C;
  // where sampling resumes
  const r0 = Math.floor(length / (Wd * C));
  const c0 = Math.floor((length % (Wd * C)) / C);
  const ch0 = length % C;
  if (length > 0) await stepper.warm(x, length);
  let done = length;
  for (let r = r0; r < H; r++) {
    if (signal?.aborted) throw abortError();
    if (r > r0 || length === 0) stepper.startRow(r, x);
    for (let c = r === r0 ? c0 : 0; c < Wd; c++) {
      for (let ch = r === r0 && c === c0 ? ch0 : 0; ch < C; ch++) {
        if (signal?.aborted) throw abortError();
        const probs = await stepper.probs(r, c, ch, x, temperature);
        checkFinite(probs, r, c, ch);
        const values = new Uint8Array(N);
        for (let n = 0; n < N; n++) {
          const v = drawLevel(probs, n * K, K, streams[n]());
          values[n] = v;
          x[((n * H + r) * Wd + c) * C + ch] = v;
        }
        done++;
        yield { row: r, col: c, channel: ch, values, probs, ...(stats ? { stats: pixelStats(probs, N, K) } : {}), done, total };
      }
      stepper.endPixel(r, c, x);
    }
  }
  return x;
}
