// What the three kernels share: workgroup sizes, the gate function and the input scaling.
import type { ModelConfig } from '../../model';

/** Workgroup sizes (threads per workgroup) of the kernels. */
export const fusedTuning = { rowWorkgroup: 256, pixelWorkgroup: 128 };

/** A level (the GPU-side image holds levels 0..K-1 as floats) as the network's input in [-1, 1], as normalizeInput. */
export function levelFn(config: ModelConfig): string {
  return `
fn lvl(v : f32) -> f32 {
  return v * ${(2 / (config.levels - 1)).toPrecision(9)} - 1.0;
}`;
}

/** The gated activation tanh(a) * sigmoid(b); a is clamped to +-15, where tanh is already +-1. */
export const gateFn = `
fn gateF(a : f32, b : f32) -> f32 {
  return tanh(clamp(a, -15.0, 15.0)) / (1.0 + exp(-b));
}`;
