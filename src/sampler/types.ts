import type { Condition } from '../model';
import type { FusedStats } from './webgpu/rowSampler';
import type { KernelThreads } from './kernelThreads';
import type { KernelCache } from './kernelCache';
import type { PixelStats } from './pixelStats';

// cached: cached stack state, portable tfjs ops (any backend)
// fused: cached state in three hand-written WebGPU kernels, every level drawn on the GPU, one readback a row (webgpu backend only)
// cpu: cached state, the per-sub-pixel step in one WebAssembly SIMD call (wasm / cpu backends)
// naive: one full forward pass per sub-pixel (the reference)
export type SamplerMode = 'cached' | 'fused' | 'cpu' | 'naive';

/** Where guidance's unconditional term comes from (see guidance.ts). */
export type UnconditionalSource = 'null' | 'mixture';

export interface SamplePrefix {
  /** levels [count, H, W, C], or [H, W, C] shared by every image */
  images: Uint8Array;
  /** how many sub-pixels in raster order (row * W * C + col * C + channel) are given, not drawn */
  length: number;
}

export interface SampleOptions {
  /** images sampled side by side */
  count: number;
  seed: number;
  /**
   * the index of image 0 in the whole run (default 0): image n draws from the run's stream
   * first + n, so a share of a run (split.ts) sampled alone gives the run's bytes
   */
  first?: number;
  /** softmax temperature; 1 samples the model's distribution */
  temperature?: number;
  /** default: the fastest for the backend (fused on WebGPU, cpu on wasm / cpu, cached elsewhere; naive for the masked baseline) */
  mode?: SamplerMode;
  condition?: Condition;
  /**
   * classifier-free guidance g >= 0 (default 0: plain conditional sampling). Every
   * sub-pixel is drawn from softmax(((1 + g) l_c - g l_u) / T), l = log-softmax logits of
   * the conditional (l_c) and the unconditional (l_u) model.
   */
  guidance?: number;
  /**
   * l_u's source: 'null' (the model's null condition; the default for a nullable model) or
   * 'mixture' (exact for a class model: sum_c p(c | x_<i) p(x_i | x_<i, c) with p(c | x_<i)
   * from each class's likelihood of the sub-pixels so far; the default otherwise).
   */
  unconditional?: UnconditionalSource;
  /** sub-pixels given, not drawn: they come back unchanged and no events are sent for them */
  prefix?: SamplePrefix;
  /** aborting stops sampling at the next pixel; the promise rejects with an AbortError */
  signal?: AbortSignal;
  /** every event carries each image's entropy and likeliest levels (pixelStats.ts), computed by the thread that drew it */
  stats?: boolean;
  /** cpu mode: helper threads that step their share of each call's batch rows on a shared kernel memory (kernelThreads.ts); same bytes as one thread */
  kernelThreads?: KernelThreads;
  /** cpu mode: a kernel memory packed with the model's weights, kept from run to run (kernelCache.ts); its owner clears it when the weights change */
  kernelCache?: KernelCache;
  /** fused mode: called before the run waits for its GPU kernels to compile (the first run of a model shape) */
  onCompile?: () => void;
  /** fused mode: the run's counters (compile ms, submits, readbacks, launches, GPU ms), filled in as it goes */
  onStats?: (stats: FusedStats) => void;
}

/** One decided sub-pixel for every image of the batch. */
export interface PixelEvent {
  row: number;
  col: number;
  channel: number;
  /** chosen level per image [count] */
  values: Uint8Array;
  /** the distribution each level was drawn from, [count * levels], row-major */
  probs: Float32Array;
  /** with SampleOptions.stats: each image's entropy in bits [count] and its TOP likeliest levels and their probabilities [count * TOP] */
  stats?: PixelStats;
  /** sub-pixels decided so far (including this one, and the prefix's) and in all, per image */
  done: number;
  total: number;
}
