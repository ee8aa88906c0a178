// What the three kernels share: workgroup sizes, the pipeline key and the gate function.
import type { ModelConfig } from '../../model';
import type { GuidePlan } from '../guidance';

/** Workgroup sizes (threads per image) of the two kernels; part of the pipeline key. */
export const fusedTuning = { rowWorkgroup: 256, pixelWorkgroup: 128 };

/** Sizes are baked into the WGSL, and tfjs caches pipelines by shaderKey: one key per model shape. */
export function shapeKey(config: ModelConfig, plan: GuidePlan, cond: string): string {
  const c = config;
  const dil = (c.dilations ?? []).join('-') || '1';
  return [c.height, c.width, c.channels, c.levels, c.hidden, c.layers, c.firstKernel, c.kernel, c.headHidden, dil, plan.N, plan.S, plan.kind, cond].join('_');
}

/** The gated activation tanh(a) * sigmoid(b); a is clamped to +-15, where tanh is already +-1. */
export const gateFn = `
fn gateF(a : f32, b : f32) -> f32 {
  return tanh(clamp(a, -15.0, 15.0)) / (1.0 + exp(-b));
}`;
