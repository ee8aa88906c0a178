import type { Condition } from '../model/types';

// cached: cached stack state, portable tfjs ops (any backend)
// fused: cached state in two hand-written WebGPU kernels (webgpu backend only)
// naive: one full forward pass per sub-pixel (the reference)
export type SamplerMode = 'cached' | 'fused' | 'naive';

export interface SampleOptions {
  /** images sampled side by side */
  count: number;
  seed: number;
  /** softmax temperature; 1 samples the model's distribution */
  temperature?: number;
  /** default: the fastest for the backend (fused on WebGPU, cached elsewhere; naive for the masked baseline) */
  mode?: SamplerMode;
  condition?: Condition;
  /** aborting stops sampling at the next pixel; the promise rejects with an AbortError */
  signal?: AbortSignal;
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
  /** sub-pixels decided so far (including this one) and in all, per image */
  done: number;
  total: number;
}
